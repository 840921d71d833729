"""Crisis pages: the report form (risk descriptions, 403 for others), raising by hand,
the dashboard (open first, alerts, buttons, self-refresh, query count), an escalation's
page (audited, visible to its raiser, supervisors, coordinators only)."""

import datetime as dt
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.crisis.escalations import escalation_acknowledge, escalation_raise
from hotline.crisis.reports import report_create
from hotline.models import RISK_DESCRIPTIONS, AuditLog, Call, CallReport, Escalation
from tests.support import factories as f
from tests.support.crisis import REPORT, answered_call
from tests.support.html import inline_code
from tests.support.twilio import NOW


@pytest.fixture
def people(scene):
    scene.counsellor = scene.on_shift("counsellor", display_name="Li Na")
    scene.sup = scene.on_shift("supervisor", role="supervisor", display_name="Zhao")
    scene.call = answered_call(scene.hotline, scene.counsellor, at=NOW)
    return scene


def login(client, user):
    client.force_login(user)
    return client


def test_report_form_shows_each_risk_level_with_its_description(people, client, clock):
    r = login(client, people.counsellor.user).get(f"/calls/{people.call.pk}/report/")
    assert r.status_code == 200
    body = r.content.decode()
    for description in RISK_DESCRIPTIONS.values():
        assert str(description) in body
    assert 'name="risk_level"' in body and body.count('type="radio"') == 5
    assert inline_code(body) == []  # CSS and JS come from static files only


def test_filing_at_risk_3_on_the_page_alerts_supervisors(people, client, clock):
    data = {**REPORT, "follow_up_needed": "on", "action": "save"}
    r = login(client, people.counsellor.user).post(f"/calls/{people.call.pk}/report/", data)
    assert r.status_code == 302
    report = CallReport.objects.get()
    assert report.risk_level == 3 and report.author == people.counsellor
    assert Escalation.objects.get().tier == 1
    page = client.get(f"/calls/{people.call.pk}/report/").content.decode()
    assert "supervisors are being alerted" in page


def test_report_page_risk_out_of_range_is_refused(people, client, clock):
    data = {**REPORT, "risk_level": "5", "action": "save"}
    r = login(client, people.counsellor.user).post(f"/calls/{people.call.pk}/report/", data)
    assert r.status_code == 200 and not CallReport.objects.exists()


def test_report_page_forbidden_to_other_volunteers(people, client, clock):
    other = f.volunteer()
    login(client, other.user)
    assert client.get(f"/calls/{people.call.pk}/report/").status_code == 403
    assert (
        client.post(f"/calls/{people.call.pk}/report/", {**REPORT, "action": "save"}).status_code
        == 403
    )
    assert client.post(f"/calls/{people.call.pk}/escalate/", {"reason": "x"}).status_code == 403
    assert not CallReport.objects.exists() and not Escalation.objects.exists()


def test_supervisor_reads_the_report_and_the_view_is_audited(people, client, clock):
    report_create(
        call=people.call, by=people.counsellor.user, data={**REPORT, "risk_level": 1}, now=NOW
    )
    r = login(client, people.sup.user).get(f"/calls/{people.call.pk}/report/")
    assert r.status_code == 200 and REPORT["summary"] in r.content.decode()
    assert 'name="action" value="save"' not in r.content.decode()  # read only for them
    view = AuditLog.objects.get(action="report.view")
    assert view.actor == people.sup.user and view.at == NOW


def test_raise_by_hand_while_still_on_the_call(people, client, clock):
    on_call = answered_call(people.hotline, people.counsellor, at=NOW, state=Call.State.CONNECTED)
    login(client, people.counsellor.user)
    assert client.get(f"/calls/{on_call.pk}/escalate/").status_code == 200
    r = client.post(f"/calls/{on_call.pk}/escalate/", {"reason": "caller has pills at hand"})
    e = Escalation.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/crisis/escalations/{e.pk}/"
    assert (e.source, e.raised_by, e.reason, e.tier) == (
        "manual",
        people.counsellor.user,
        "caller has pills at hand",
        1,
    )
    # the raiser sees their escalation, another volunteer does not
    assert client.get(f"/crisis/escalations/{e.pk}/").status_code == 200
    login(client, f.volunteer().user)
    assert client.get(f"/crisis/escalations/{e.pk}/").status_code == 404


def _escalations(people, n):
    for i in range(n):
        call = answered_call(people.hotline, people.counsellor, at=NOW - dt.timedelta(minutes=i))
        e = escalation_raise(
            call=call, by=people.counsellor.user, reason="r", now=NOW - dt.timedelta(minutes=i)
        )
        if i % 2:
            escalation_acknowledge(escalation=e, by=people.sup.user, now=NOW)


def test_dashboard_open_first_with_alerts_and_buttons(people, client, clock):
    _escalations(people, 3)
    body = login(client, people.sup.user).get("/crisis/").content.decode()
    first_open = body.index("escalation-open")
    assert first_open < body.index("escalation-acknowledged")
    assert "Zhao at" in body  # who was alerted, and when
    assert "Acknowledge" in body and "Resolve" in body and "tier 1 reached" in body
    # Reloads itself: static/crisis/dashboard.js with JavaScript, a meta refresh without.
    assert 'data-refresh-seconds="30"' in body and "/static/crisis/dashboard.js" in body
    assert "window.location.reload" in Path(finders.find("crisis/dashboard.js")).read_text()
    assert '<noscript><meta http-equiv="refresh" content="30">' in body
    assert inline_code(body) == []


def test_dashboard_query_count_does_not_grow(people, client, clock):
    login(client, people.sup.user)
    counts = []
    for n in (2, 10):
        _escalations(people, n)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/crisis/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 10


def test_dashboard_for_staff_only_volunteers_see_their_calls(people, client, coordinator, clock):
    login(client, people.counsellor.user)
    body = client.get("/crisis/").content.decode()
    assert "My calls and reports" in body and f"/calls/{people.call.pk}/report/" in body
    login(client, coordinator)
    assert "Escalations" in client.get("/crisis/").content.decode()
    login(client, f.user())
    assert client.get("/crisis/").status_code == 403


def test_acknowledge_and_resolve_buttons(people, client, clock):
    e = escalation_raise(call=people.call, by=people.counsellor.user, reason="r", now=NOW)
    login(client, people.sup.user)
    r = client.post(f"/crisis/escalations/{e.pk}/acknowledge/", {"next": "dashboard"})
    assert r.status_code == 302 and r["Location"] == "/crisis/"
    e.refresh_from_db()
    assert (e.status, e.ack_channel, e.acknowledged_by) == ("acknowledged", "web", people.sup.user)
    client.post(
        f"/crisis/escalations/{e.pk}/resolve/", {"outcome": "resolved_on_call", "notes": "ok"}
    )
    e.refresh_from_db()
    assert (e.status, e.outcome) == ("resolved", "resolved_on_call")
    # a volunteer cannot press them
    other = escalation_raise(
        call=answered_call(people.hotline, people.counsellor, at=NOW),
        by=people.counsellor.user,
        reason="r",
        now=NOW,
    )
    login(client, people.counsellor.user)
    assert client.post(f"/crisis/escalations/{other.pk}/acknowledge/").status_code == 403
    other.refresh_from_db()
    assert other.status == "open"


def test_escalation_page_is_audited_and_shows_the_trail(people, client, clock):
    e = escalation_raise(call=people.call, by=people.counsellor.user, reason="r", now=NOW)
    body = login(client, people.sup.user).get(f"/crisis/escalations/{e.pk}/").content.decode()
    # In words, with people named as they are known (and the account, for the record).
    counsellor = people.counsellor
    assert (
        f'{counsellor.display_name} (<span translate="no">{counsellor.user.username}</span>)'
        f" · opened the escalation" in body
    )
    assert "the system · alerted the next tier" in body
    assert "escalation.open" not in body
    assert inline_code(body) == []
    assert AuditLog.objects.filter(action="escalation.view", actor=people.sup.user).count() == 1


def test_author_edits_on_the_page_then_only_adds_addenda(people, client, clock):
    url = f"/calls/{people.call.pk}/report/"
    login(client, people.counsellor.user)
    page = client.get(url).content.decode()
    assert "Escalate to a supervisor now" in page  # the answerer may escalate from here
    client.post(url, {**REPORT, "risk_level": "1", "follow_up_needed": "on", "action": "save"})
    r = client.post(url, {**REPORT, "risk_level": "1", "summary": "calmer", "action": "save"})
    assert r.status_code == 302 and CallReport.objects.get().summary == "calmer"
    clock.advance(hours=25)
    login(client, people.counsellor.user)  # a day later: the idle timeout signed them out
    page = client.get(url).content.decode()
    assert 'name="action" value="save"' not in page and 'value="addendum"' in page
    r = client.post(url, {"action": "addendum", "text": "called back next day"})
    assert r.status_code == 302
    assert [a.text for a in CallReport.objects.get().addenda.all()] == ["called back next day"]
    assert "called back next day" in client.get(url).content.decode()
