"""GET /api/v1/calls/ and the callback queue: who sees what, never the caller's number."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from hotline.models import Call, CallbackRequest
from tests.support import factories as f

NOW = f.at(2026, 3, 2, 10)


def _call(hotline, n, **kw):
    return Call.objects.create(
        call_sid=f"CA{n:032d}",
        hotline=hotline,
        arrived_at=NOW,
        caller_hash="h" * 64,
        caller_last4="8000",
        **kw,
    )


@pytest.fixture
def calls(db, volunteer, supervisor):
    hotline = f.hotline()
    other_hotline = f.hotline()
    roster = f.roster(hotline_=hotline, status="published")
    f.assignment(
        shift_=f.shift(roster_=roster, required_supervisors=1),
        volunteer_=supervisor,
        role="supervisor",
    )
    mine = _call(hotline, 1, answered_by=volunteer, outcome="answered")
    theirs = _call(hotline, 2, outcome="voicemail")
    elsewhere = _call(other_hotline, 3, outcome="missed")
    cb = CallbackRequest.objects.create(
        call=theirs, hotline=hotline, number="+8613800138000", requested_at=NOW
    )
    cb_elsewhere = CallbackRequest.objects.create(
        call=elsewhere, hotline=other_hotline, number="+8613800138001", requested_at=NOW
    )
    return {
        "mine": mine,
        "theirs": theirs,
        "elsewhere": elsewhere,
        "cb": cb,
        "cb_elsewhere": cb_elsewhere,
    }


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _as(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_coordinator_sees_every_call(calls, coordinator_api):
    assert _ids(coordinator_api.get("/api/v1/calls/")) == {
        c.pk for k, c in calls.items() if not k.startswith("cb")
    }


def test_volunteer_sees_only_calls_they_answered(calls, volunteer_api):
    assert _ids(volunteer_api.get("/api/v1/calls/")) == {calls["mine"].pk}
    assert volunteer_api.get(f"/api/v1/calls/{calls['theirs'].pk}/").status_code == 404


def test_supervisor_sees_calls_of_their_hotlines(calls, supervisor):
    assert _ids(_as(supervisor.user).get("/api/v1/calls/")) == {
        calls["mine"].pk,
        calls["theirs"].pk,
    }


def test_outsider_and_anonymous(calls, outsider, api):
    assert _ids(_as(outsider).get("/api/v1/calls/")) == set()
    assert api.get("/api/v1/calls/").status_code in (401, 403)


def test_call_fields_never_carry_the_number(calls, coordinator_api):
    row = coordinator_api.get(f"/api/v1/calls/{calls['mine'].pk}/").json()
    assert set(row) == {
        "id",
        "call_sid",
        "hotline",
        "category",
        "outcome",
        "answered_by",
        "arrived_at",
        "answered_at",
        "ended_at",
        "duration",
        "earlier_calls_30d",
        "recording",  # our own endpoint's URL, or null: never Twilio's (test_call_recording)
        "non_data_type",  # silent, prank, …: counted, no report needed
    }
    assert row["recording"] is None  # no voicemail on this call
    assert "8000" not in str(row) and "h" * 64 not in str(row)


def test_call_list_query_count_is_flat(calls, coordinator_api):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert coordinator_api.get("/api/v1/calls/").status_code == 200
        return len(ctx.captured_queries)

    count()  # warm: the coordinator check is cached on the user
    before = count()
    hotline = f.hotline()
    for n in range(10, 40):
        _call(hotline, n, answered_by=f.volunteer())
    assert count() == before


def test_callback_queue_coordinator_sees_numbers_and_marks_done(
    calls, coordinator_api, coordinator
):
    rows = coordinator_api.get("/api/v1/callbacks/?open=true").json()["results"]
    assert {r["number"] for r in rows} == {"+8613800138000", "+8613800138001"}
    r = coordinator_api.post(
        f"/api/v1/callbacks/{calls['cb'].pk}/done/", {"note": "talked 10 min"}, format="json"
    )
    assert r.status_code == 200 and r.json()["done_by"] == "coord" and r.json()["done_at"]
    first_done = r.json()["done_at"]
    r = coordinator_api.post(f"/api/v1/callbacks/{calls['cb'].pk}/done/", {}, format="json")
    assert r.json()["done_at"] == first_done and r.json()["note"] == "talked 10 min"
    assert {
        r["id"] for r in coordinator_api.get("/api/v1/callbacks/?open=true").json()["results"]
    } == {calls["cb_elsewhere"].pk}


def test_callback_queue_supervisor_sees_own_hotlines_only(calls, supervisor):
    rows = _as(supervisor.user).get("/api/v1/callbacks/").json()["results"]
    assert [r["id"] for r in rows] == [calls["cb"].pk]
    assert (
        _as(supervisor.user).post(f"/api/v1/callbacks/{calls['cb_elsewhere'].pk}/done/").status_code
        == 404
    )


def test_callback_queue_refused_to_volunteers(calls, volunteer_api):
    assert volunteer_api.get("/api/v1/callbacks/").status_code == 403
    assert volunteer_api.post(f"/api/v1/callbacks/{calls['cb'].pk}/done/").status_code == 403
