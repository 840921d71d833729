"""/api/v1/escalations/: who lists, acknowledges and resolves; conflicts; raising by hand;
list query count."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from hotline.crisis.escalations import escalation_raise
from hotline.models import AuditLog, Call, Escalation
from tests.support import factories as f

NOW = f.at(2026, 3, 2, 10)
FIELDS = {
    "id",
    "call",
    "status",
    "tier",
    "opened_at",
    "acknowledged_at",
    "acknowledged_by",
    "outcome",
}


def client_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def make_call(hotline, volunteer):
    n = Call.objects.count() + 1
    return Call.objects.create(
        call_sid=f"CA{n:032d}",
        hotline=hotline,
        answered_by=volunteer,
        arrived_at=NOW,
        answered_at=NOW,
        state="connected",
        outcome="answered",
    )


@pytest.fixture
def esc(db, volunteer, supervisor):
    hotline = f.hotline()
    call = make_call(hotline, volunteer)
    return escalation_raise(call=call, by=volunteer.user, reason="plan", now=NOW)


def test_list_for_supervisors_and_coordinators(esc, supervisor, coordinator_api):
    for api in (client_for(supervisor.user), coordinator_api):
        r = api.get("/api/v1/escalations/")
        assert r.status_code == 200
        row = r.json()["results"][0]
        assert FIELDS <= set(row) and row["status"] == "open" and row["tier"] == 2
        assert row["call"] == esc.call_id


def test_list_refused_to_volunteers_and_outsiders(esc, volunteer_api, outsider, api):
    assert volunteer_api.get("/api/v1/escalations/").status_code == 403
    assert client_for(outsider).get("/api/v1/escalations/").status_code == 403
    assert api.get("/api/v1/escalations/").status_code in (401, 403)


def test_raiser_reads_their_own_others_do_not(esc, volunteer_api):
    assert volunteer_api.get(f"/api/v1/escalations/{esc.pk}/").status_code == 200
    stranger = client_for(f.volunteer().user)
    assert stranger.get(f"/api/v1/escalations/{esc.pk}/").status_code == 404
    assert AuditLog.objects.filter(action="escalation.view").count() == 1


def test_acknowledge_then_conflict(esc, supervisor):
    api = client_for(supervisor.user)
    r = api.post(f"/api/v1/escalations/{esc.pk}/acknowledge/")
    assert r.status_code == 200, r.content
    assert (
        r.json()["status"] == "acknowledged"
        and r.json()["acknowledged_by"] == supervisor.user.username
    )
    again = api.post(f"/api/v1/escalations/{esc.pk}/acknowledge/")
    assert again.status_code == 409 and again.json()["code"] == "not_open"
    esc.refresh_from_db()
    assert esc.ack_channel == "api"


def test_volunteer_cannot_acknowledge_or_resolve(esc, volunteer_api):
    assert volunteer_api.post(f"/api/v1/escalations/{esc.pk}/acknowledge/").status_code == 403
    r = volunteer_api.post(
        f"/api/v1/escalations/{esc.pk}/resolve/", {"outcome": "false_alarm"}, format="json"
    )
    assert r.status_code == 403
    esc.refresh_from_db()
    assert esc.status == "open"


def test_resolve_with_outcome_and_notes(esc, coordinator_api, coordinator):
    r = coordinator_api.post(
        f"/api/v1/escalations/{esc.pk}/resolve/",
        {"outcome": "emergency_services", "notes": "120 called"},
        format="json",
    )
    assert r.status_code == 200 and r.json()["outcome"] == "emergency_services"
    esc.refresh_from_db()
    assert (esc.status, esc.resolution_notes, esc.resolved_by) == (
        "resolved",
        "120 called",
        coordinator,
    )
    again = coordinator_api.post(
        f"/api/v1/escalations/{esc.pk}/resolve/", {"outcome": "referred"}, format="json"
    )
    assert again.status_code == 409


def test_resolve_unknown_outcome_is_400(esc, coordinator_api):
    r = coordinator_api.post(
        f"/api/v1/escalations/{esc.pk}/resolve/", {"outcome": "fine"}, format="json"
    )
    assert r.status_code == 400 and "outcome" in r.json()["errors"]
    esc.refresh_from_db()
    assert esc.status == "open"


def test_status_filter(esc, coordinator_api):
    assert coordinator_api.get("/api/v1/escalations/?status=resolved").json()["count"] == 0
    assert coordinator_api.get("/api/v1/escalations/?status=open").json()["count"] == 1


def test_raise_by_hand_via_api(db, volunteer, supervisor):
    call = make_call(f.hotline(), volunteer)
    r = client_for(volunteer.user).post(
        "/api/v1/escalations/", {"call": call.pk, "reason": "on the call"}, format="json"
    )
    assert r.status_code == 201 and r.json()["status"] == "open"
    other = client_for(f.volunteer().user).post(
        "/api/v1/escalations/", {"call": call.pk, "reason": "x"}, format="json"
    )
    assert other.status_code == 404  # not yours: as if it did not exist
    assert Escalation.objects.count() == 1


def test_list_query_count_does_not_grow(db, volunteer, supervisor, coordinator_api):
    hotline = f.hotline()
    coordinator_api.get("/api/v1/escalations/")  # warm the per-user coordinator cache
    counts = []
    for n in (2, 12):
        while Escalation.objects.count() < n:
            escalation_raise(
                call=make_call(hotline, volunteer),
                by=volunteer.user,
                reason="r",
                now=NOW - dt.timedelta(minutes=1),
            )
            e = Escalation.objects.order_by("-id").first()
            client_for(supervisor.user).post(f"/api/v1/escalations/{e.pk}/acknowledge/")
            if e.pk % 2:  # resolved rows show who resolved them too
                client_for(supervisor.user).post(
                    f"/api/v1/escalations/{e.pk}/resolve/", {"outcome": "referred"}, format="json"
                )
        with CaptureQueriesContext(connection) as ctx:
            assert coordinator_api.get("/api/v1/escalations/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
