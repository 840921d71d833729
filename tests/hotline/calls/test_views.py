"""Call pages: coordinators see recent calls, the callback queue and failed SMS; a volunteer
sees only the calls they answered."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.models import Call, CallbackRequest, Message
from tests.support import factories as f

NOW = f.at(2026, 3, 2, 10)


@pytest.fixture
def calls(db, volunteer):
    hotline = f.hotline(name="Line A")
    mine = Call.objects.create(
        call_sid="CA" + "1" * 32,
        hotline=hotline,
        arrived_at=NOW,
        answered_at=NOW,
        answered_by=volunteer,
        outcome="answered",
        caller_last4="1111",
    )
    other = Call.objects.create(
        call_sid="CA" + "2" * 32,
        hotline=hotline,
        arrived_at=NOW,
        outcome="voicemail",
        caller_last4="2222",
    )
    cb = CallbackRequest.objects.create(
        call=other, hotline=hotline, number="+8613800132222", requested_at=NOW
    )
    return {"mine": mine, "other": other, "cb": cb}


def test_coordinator_sees_all_calls_and_links(client, coordinator, calls):
    client.force_login(coordinator)
    body = client.get("/calls/").content.decode()
    assert "…1111" in body and "…2222" in body and "/calls/callbacks/" in body


def test_volunteer_sees_only_answered_calls(client, volunteer, calls):
    client.force_login(volunteer.user)
    body = client.get("/calls/").content.decode()
    assert "…1111" in body and "…2222" not in body
    assert client.get("/calls/callbacks/").status_code == 403
    assert client.get("/calls/sms-failed/").status_code == 403


def test_callback_queue_shows_number_and_marks_done(client, coordinator, calls):
    client.force_login(coordinator)
    body = client.get("/calls/callbacks/").content.decode()
    assert "+8613800132222" in body
    r = client.post(f"/calls/callbacks/{calls['cb'].pk}/done/", {"note": "ok"})
    assert r.status_code == 302
    calls["cb"].refresh_from_db()
    assert calls["cb"].done_by == coordinator and calls["cb"].done_at is not None


def test_callback_queue_shows_open_requests_behind_many_done_ones(client, coordinator, calls):
    hotline = calls["other"].hotline
    old = Call.objects.bulk_create(
        Call(call_sid=f"CA{n:032d}", hotline=hotline, arrived_at=NOW) for n in range(100, 301)
    )
    CallbackRequest.objects.bulk_create(
        CallbackRequest(
            call=c,
            hotline=hotline,
            number="+8613800130000",
            requested_at=NOW - dt.timedelta(days=1),
            done_at=NOW - dt.timedelta(hours=1),
        )
        for c in old
    )
    client.force_login(coordinator)
    body = client.get("/calls/callbacks/").content.decode()
    assert "+8613800132222" in body


def test_failed_sms_list(client, coordinator, db):
    Message.objects.create(
        dedupe_key="x",
        to="+8613700137000",
        body="b",
        status="failed",
        last_error="Twilio 400 21211: nope",
        attempts=1,
    )
    client.force_login(coordinator)
    body = client.get("/calls/sms-failed/").content.decode()
    assert "21211" in body and "+8613700137000" in body


def test_call_list_query_count_is_flat(client, coordinator, calls):
    client.force_login(coordinator)
    client.get("/calls/")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/calls/").status_code == 200
        return len(ctx.captured_queries)

    before = count()
    hotline = f.hotline()
    for n in range(10, 30):
        Call.objects.create(
            call_sid=f"CA{n:032d}", hotline=hotline, arrived_at=NOW, answered_by=f.volunteer()
        )
    assert count() == before


def test_pages_need_login(client, db):
    assert client.get("/calls/").status_code == 302
