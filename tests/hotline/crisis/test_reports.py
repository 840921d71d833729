"""Call reports: who files them, validation, the 24-hour edit window, addenda, risk 3+
opening an escalation, visibility, and the audit log — through services and the API."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from hotline.crisis.escalations import escalation_resolve
from hotline.crisis.reports import ReportConflict, report_addendum_add, report_create, report_update
from hotline.models import AuditLog, CallReport, Escalation
from tests.support import factories as f
from tests.support.crisis import REPORT, answered_call
from tests.support.twilio import NOW

LOW = {**REPORT, "risk_level": 1}


@pytest.fixture
def call(scene):
    scene.counsellor = scene.on_shift("counsellor", display_name="Li Na")
    scene.sup = scene.on_shift("supervisor", role="supervisor")
    return answered_call(scene.hotline, scene.counsellor, at=NOW)


def client_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_the_answering_volunteer_files_a_report(scene, call):
    report = report_create(call=call, by=scene.counsellor.user, data=LOW, now=NOW)
    assert (report.author, report.risk_level, report.created_at) == (scene.counsellor, 1, NOW)
    assert report.escalation is None and not Escalation.objects.exists()
    entry = AuditLog.objects.get(action="report.create")
    assert entry.actor == scene.counsellor.user and entry.object_id == report.pk
    assert "summary" not in str(entry.detail) and REPORT["summary"] not in str(entry.detail)


@pytest.mark.parametrize("level", [3, 4])
def test_high_risk_opens_an_escalation(scene, call, level):
    report = report_create(
        call=call, by=scene.counsellor.user, data={**REPORT, "risk_level": level}, now=NOW
    )
    e = report.escalation
    assert (e.source, e.risk_level, e.report, e.status) == ("report", level, report, "open")


def test_someone_else_cannot_report(scene, call, supervisor):
    for user in (f.volunteer().user, supervisor.user, f.coordinator_user()):
        with pytest.raises(PermissionDenied):
            report_create(call=call, by=user, data=LOW, now=NOW)
    assert not CallReport.objects.exists()


def test_api_report_on_a_call_you_did_not_answer_is_403(scene, call):
    r = client_for(f.volunteer().user).post(f"/api/v1/calls/{call.pk}/report/", LOW, format="json")
    assert r.status_code == 403 and not CallReport.objects.exists()


@pytest.mark.parametrize("level", [5, -1, "high", None, 3.5])
def test_api_risk_outside_0_to_4_is_400(scene, call, level):
    r = client_for(scene.counsellor.user).post(
        f"/api/v1/calls/{call.pk}/report/", {**REPORT, "risk_level": level}, format="json"
    )
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "invalid" and "risk_level" in r.json()["errors"]
    assert not CallReport.objects.exists() and not Escalation.objects.exists()


def test_service_validates_too(scene, call):
    with pytest.raises(ValidationError):
        report_create(
            call=call, by=scene.counsellor.user, data={**REPORT, "risk_level": 7}, now=NOW
        )


def test_api_create_returns_the_report_and_its_escalation(scene, call):
    r = client_for(scene.counsellor.user).post(
        f"/api/v1/calls/{call.pk}/report/", REPORT, format="json"
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["risk_level"] == 3 and body["escalation"] == Escalation.objects.get().pk
    assert body["author"] == scene.counsellor.user.username
    again = client_for(scene.counsellor.user).post(
        f"/api/v1/calls/{call.pk}/report/", REPORT, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "report_exists"


def test_author_edits_within_24_hours_then_addenda_only(scene, call):
    report = report_create(call=call, by=scene.counsellor.user, data=LOW, now=NOW)
    report_update(
        report=report,
        by=scene.counsellor.user,
        data={"summary": "better now"},
        now=NOW + dt.timedelta(hours=23, minutes=59),
    )
    report.refresh_from_db()
    assert report.summary == "better now"
    with pytest.raises(ReportConflict):
        report_update(
            report=report,
            by=scene.counsellor.user,
            data={"summary": "x"},
            now=NOW + dt.timedelta(hours=24),
        )
    report_addendum_add(
        report=report,
        by=scene.counsellor.user,
        text="called back next day",
        now=NOW + dt.timedelta(days=2),
    )
    assert [a.text for a in report.addenda.all()] == ["called back next day"]
    actions = list(
        AuditLog.objects.exclude(action__startswith="followup.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["report.create", "report.update", "report.addendum"]
    assert AuditLog.objects.get(action="report.update").detail["fields"] == ["summary"]


def test_api_patch_after_the_window_is_409(scene, call, clock):
    api = client_for(scene.counsellor.user)
    api.post(f"/api/v1/calls/{call.pk}/report/", LOW, format="json")
    clock.advance(hours=25)
    r = api.patch(f"/api/v1/calls/{call.pk}/report/", {"summary": "late"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "report_closed"
    r = api.post(f"/api/v1/calls/{call.pk}/report/addenda/", {"text": "late note"}, format="json")
    assert r.status_code == 201
    assert (
        client_for(scene.sup.user)
        .post(f"/api/v1/calls/{call.pk}/report/addenda/", {"text": "x"}, format="json")
        .status_code
        == 403
    )


def test_only_the_author_edits(scene, call):
    report = report_create(call=call, by=scene.counsellor.user, data=LOW, now=NOW)
    with pytest.raises(PermissionDenied):
        report_update(report=report, by=scene.sup.user, data={"summary": "x"}, now=NOW)


def test_raising_the_risk_on_edit_opens_an_escalation_editing_notes_does_not(scene, call):
    report = report_create(call=call, by=scene.counsellor.user, data=LOW, now=NOW)
    report = report_update(report=report, by=scene.counsellor.user, data={"risk_level": 4}, now=NOW)
    e = report.escalation
    assert e is not None and e.risk_level == 4
    escalation_resolve(escalation=e, by=scene.sup.user, outcome="referred", now=NOW)
    report_update(report=report, by=scene.counsellor.user, data={"summary": "typo fixed"}, now=NOW)
    assert Escalation.objects.count() == 1


def test_visibility_author_supervisors_coordinators_only(scene, call, coordinator):
    report_create(call=call, by=scene.counsellor.user, data=LOW, now=NOW)
    url = f"/api/v1/calls/{call.pk}/report/"
    off_duty_sup = f.volunteer(roles=("supervisor",))
    for user in (scene.counsellor.user, scene.sup.user, off_duty_sup.user, coordinator):
        r = client_for(user).get(url)
        assert r.status_code == 200 and r.json()["summary"] == LOW["summary"]
    for user in (f.volunteer().user, f.user()):
        assert client_for(user).get(url).status_code == 404
    assert APIClient().get(url).status_code in (401, 403)
    views = AuditLog.objects.filter(action="report.view")
    assert views.count() == 4 and {v.detail["via"] for v in views} == {"api"}
