"""The monthly activity reports: built once per organisation for last month, kept for
download by the coordinators who manage it, e-mailed when addresses are configured."""

import io

import pytest
from django.core import mail
from django.db.models import Q
from django.test import override_settings
from docx import Document
from openpyxl import load_workbook

from hotline import access, tasks
from hotline.models import ActivityReport
from hotline.stats.services import monthly_reports_build
from tests.support import stats as h

APRIL_2 = h.at(2026, 4, 2, 3)  # the first daily run after March ends


@pytest.fixture
def scene(db, clock, coordinator):
    clock.set(APRIL_2)
    return h.known_history(coordinator=coordinator)


def test_builds_last_month_once_per_organisation(scene):
    # The federation and its two branches: the federation's report covers both lines.
    assert monthly_reports_build(now=APRIL_2) == {"built": 3, "emailed": 0}
    assert monthly_reports_build(now=APRIL_2) == {"built": 0, "emailed": 0}
    federation = ActivityReport.objects.get(organisation=scene.federation)
    north = ActivityReport.objects.get(organisation=scene.north)
    assert federation.figures["calls"]["received"] > north.figures["calls"]["received"]
    assert (str(north.first_day), str(north.last_day)) == (h.FROM, h.TO)
    # North runs the City line: its March figures, kept.
    assert north.figures["calls"]["received"] == h.CALLS["received"]
    book = load_workbook(io.BytesIO(bytes(north.xlsx)))
    summary = [row for row in book.worksheets[0].iter_rows(values_only=True) if row[0]]
    assert any(row[1] == h.CALLS["received"] for row in summary)
    doc = Document(io.BytesIO(bytes(north.docx)))
    assert "North branch" in "\n".join(p.text for p in doc.paragraphs)


def test_the_task_is_scheduled_daily():
    from config.schedules import SCHEDULES

    assert ("activity-reports", "hotline.tasks.activity_reports_monthly", 24 * 60) in SCHEDULES
    assert callable(tasks.activity_reports_monthly)


@override_settings(ACTIVITY_REPORT_EMAILS=["federation@example.org"])
def test_emailed_once_with_both_files(scene):
    assert monthly_reports_build(now=APRIL_2) == {"built": 3, "emailed": 3}
    assert len(mail.outbox) == 3
    message = mail.outbox[0]
    assert message.to == ["federation@example.org"]
    assert sorted(name.rsplit(".", 1)[1] for name, _c, _t in message.attachments) == [
        "docx",
        "xlsx",
    ]
    assert monthly_reports_build(now=APRIL_2) == {"built": 0, "emailed": 0}
    assert len(mail.outbox) == 3


@override_settings(ACTIVITY_REPORT_EMAILS=["federation@example.org"])
def test_a_failed_email_is_sent_again_next_run(scene, monkeypatch):
    def broken(self, *a, **kw):
        raise OSError("SMTP down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    assert monthly_reports_build(now=APRIL_2) == {"built": 3, "emailed": 0}
    assert ActivityReport.objects.filter(emailed_at__isnull=True).count() == 3
    monkeypatch.undo()
    assert monthly_reports_build(now=APRIL_2) == {"built": 0, "emailed": 3}


def test_coordinators_download_kept_reports(scene, client, coordinator, monkeypatch):
    monthly_reports_build(now=APRIL_2)
    north = ActivityReport.objects.get(organisation=scene.north)
    client.force_login(coordinator)
    page = client.get("/reports/").content.decode()
    assert f"/reports/monthly/{north.pk}.xlsx" in page
    r = client.get(f"/reports/monthly/{north.pk}.docx")
    assert r.status_code == 200
    assert r.content == bytes(north.docx)
    assert client.get(f"/reports/monthly/{north.pk}.pdf").status_code == 404
    monkeypatch.setattr(
        access, "managed_organisations_q", lambda user, path="": Q(**{f"{path}pk": scene.south.pk})
    )
    assert client.get(f"/reports/monthly/{north.pk}.xlsx").status_code == 404
    client.force_login(scene.v1.user)
    assert client.get(f"/reports/monthly/{north.pk}.xlsx").status_code == 403
