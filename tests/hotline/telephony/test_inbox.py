"""Each webhook's answer when the database stays busy (simulated here: the service raises
SQLite's "database is locked"; tests/hotline/telephony/test_busy_webhooks.py holds real
locks), and the inbox that keeps the records until they can be written."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest
from django.db import OperationalError

from hotline import tasks
from hotline.calls import conference
from hotline.calls import services as calls
from hotline.models import Call, CallAttempt, CallbackRequest, Message
from hotline.sms import outbox
from hotline.telephony import inbox
from tests.support.twilio import call_data, fixture


def locked(*args, **kwargs):
    raise OperationalError("database is locked")


@pytest.fixture(autouse=True)
def inbox_dir(settings, tmp_path):
    settings.WEBHOOK_INBOX_DIR = str(tmp_path / "inbox")
    return tmp_path / "inbox"


@pytest.fixture
def ringing(scene, tw):
    """A caller in the queue and a volunteer's leg ringing."""
    scene.on_shift("counsellor")
    tw("/twilio/voice/incoming", call_data())
    tw("/twilio/voice/menu", fixture("voice-gather-digits"))
    return Call.objects.get(), CallAttempt.objects.get()


def entries(directory) -> list[dict]:
    return [json.loads(p.read_bytes()) for p in sorted(directory.glob("*.json"))]


def test_recording_kept_while_busy_then_saved_and_voicemail_outcome(
    scene, tw, monkeypatch, inbox_dir
):
    tw("/twilio/voice/incoming", call_data())  # nobody on shift: voicemail
    call = Call.objects.get()
    monkeypatch.setattr(calls, "voicemail_record", locked)
    r = tw(f"/twilio/voice/recorded?call={call.pk}", fixture("voice-record-done"))
    assert (
        r.status_code == 200 and "Goodbye" in r.content.decode() and "<Hangup" in r.content.decode()
    )
    (entry,) = entries(inbox_dir)
    assert set(entry["post"]) == {"RecordingSid", "RecordingUrl", "RecordingDuration"}
    # The caller hangs up; the final status arrives while the database is free again.
    monkeypatch.undo()
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": call.call_sid})
    call.refresh_from_db()
    assert call.state == Call.State.ENDED and call.outcome != Call.Outcome.VOICEMAIL
    assert tasks.webhook_inbox_replay()["replayed"] == 1
    call.refresh_from_db()
    assert call.recording_sid == fixture("voice-record-done")["RecordingSid"]
    assert call.outcome == Call.Outcome.VOICEMAIL  # the late message still counts


def test_callback_request_kept_while_busy_with_the_callers_consent(
    scene, tw, monkeypatch, inbox_dir
):
    tw("/twilio/voice/incoming", call_data())
    call = Call.objects.get()
    monkeypatch.setattr(calls, "callback_request_create", locked)
    r = tw(f"/twilio/voice/callback?call={call.pk}", {**call_data(), "Digits": "1"})
    # the caller goes on to the safety questions, then the message
    assert "call you back" in r.content.decode() and "safe for us" in r.content.decode()
    (entry,) = entries(inbox_dir)
    assert entry["post"] == {"Digits": "1", "From": call_data()["From"]}  # asked for
    assert oct(stat.S_IMODE(os.stat(next(inbox_dir.glob("*.json"))).st_mode)) == "0o600"
    monkeypatch.undo()
    tasks.webhook_inbox_replay()
    assert CallbackRequest.objects.get(call=call).number == call_data()["From"]


def test_safety_answer_kept_while_busy_is_replayed_after_its_request(
    scene, tw, monkeypatch, inbox_dir
):
    tw("/twilio/voice/incoming", call_data())
    call = Call.objects.get()
    monkeypatch.setattr(calls, "callback_request_create", locked)
    monkeypatch.setattr(calls, "callback_safety_answer", locked)
    tw(f"/twilio/voice/callback?call={call.pk}", {**call_data(), "Digits": "1"})
    r = tw(f"/twilio/voice/callback-safety?call={call.pk}&q=call", {**call_data(), "Digits": "2"})
    assert "leave you a message" in r.content.decode()  # the caller is not held up
    assert [e["path"] for e in entries(inbox_dir)] == [
        "/twilio/voice/callback",
        "/twilio/voice/callback-safety",
    ]
    monkeypatch.undo()
    assert tasks.webhook_inbox_replay()["replayed"] == 2
    request = CallbackRequest.objects.get(call=call)
    assert request.safe_to_call is False and request.follow_ups.get().safe_to_call is False


def test_leg_status_kept_while_busy(ringing, tw, monkeypatch, inbox_dir):
    _call, attempt = ringing
    monkeypatch.setattr(calls, "leg_status_update", locked)
    data = {**fixture("voice-dial-no-answer"), "CallStatus": "no-answer"}
    assert tw(f"/twilio/voice/leg-status?attempt={attempt.pk}", data).status_code == 200
    monkeypatch.undo()
    assert tasks.webhook_inbox_replay()["replayed"] == 1
    attempt.refresh_from_db()
    assert attempt.result == CallAttempt.Result.NO_ANSWER


def test_conference_leave_kept_while_busy(scene, tw, monkeypatch, inbox_dir, fake_twilio):
    from tests.hotline.calls.test_transfer import A, gone_urls, live_call

    volunteer = scene.on_shift("counsellor")
    call, attempt = live_call(tw, volunteer)
    data = {**fixture("voice-conference-leave"), "CallSid": attempt.leg_sid}
    with monkeypatch.context() as busy:  # not undoing the fake transport
        busy.setattr(conference, "participant_left", locked)
        assert tw(f"/twilio/voice/conference-status?call={call.pk}", data).status_code == 200
    assert fake_twilio.read() == []
    assert tasks.webhook_inbox_replay()["replayed"] == 1
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]
    assert fake_twilio.read() == [A]


def test_volunteer_pressing_1_while_busy_is_asked_again(ringing, tw, monkeypatch):
    call, attempt = ringing
    monkeypatch.setattr(calls, "call_accept", locked)
    data = {**fixture("voice-screen-answer"), "Digits": "1"}
    r = tw(f"/twilio/voice/accept?attempt={attempt.pk}", data)
    body = r.content.decode()
    assert "One moment" in body and "<Redirect" in body
    retry = body[body.index("<Redirect") :].split(">", 1)[1].split("<", 1)[0].replace("&amp;", "&")
    monkeypatch.undo()
    without_digits = {k: v for k, v in data.items() if k != "Digits"}
    r = tw(retry, without_digits)
    assert "Connecting you to the caller" in r.content.decode()
    call.refresh_from_db()
    assert call.state == Call.State.CONNECTED


def test_hold_loop_while_busy_just_keeps_holding(ringing, tw, monkeypatch):
    call, _attempt = ringing
    monkeypatch.setattr(calls, "call_tick", locked)
    r = tw(f"/twilio/voice/hold?call={call.pk}", call_data())
    assert "stay on the line" in r.content.decode() and "<Gather" in r.content.decode()


def test_sms_status_kept_while_busy(db, tw, monkeypatch):
    message = Message.objects.create(
        dedupe_key="k",
        to="+8613700137000",
        body="x",
        status="sent",
        twilio_sid=fixture("sms-status-failed")["MessageSid"],
    )
    monkeypatch.setattr(outbox, "message_status_update", locked)
    assert tw("/twilio/sms/status", fixture("sms-status-failed")).status_code == 200
    monkeypatch.undo()
    tasks.webhook_inbox_replay()
    message.refresh_from_db()
    assert message.status == "undelivered"  # as without the inbox (test_webhooks.py)


def test_an_entry_that_fails_otherwise_is_kept_in_failed_not_dropped(
    scene, tw, monkeypatch, inbox_dir, caplog
):
    monkeypatch.setattr(calls, "call_status_update", locked)
    tw("/twilio/voice/status", fixture("voice-status-completed"))
    monkeypatch.setattr(calls, "call_status_update", lambda **kw: 1 / 0)
    assert tasks.webhook_inbox_replay() == {"replayed": 0, "waiting": 0, "failed": 1}
    assert len(list((inbox_dir / "failed").glob("*.json"))) == 1
    assert "kept in failed/" in caplog.text


def test_entries_replay_in_the_order_received_and_a_dead_replayers_claim_expires(
    scene, tw, monkeypatch, inbox_dir
):
    monkeypatch.setattr(calls, "call_status_update", locked)
    for sid in ("1", "2", "3"):
        tw(
            "/twilio/voice/status",
            {**fixture("voice-status-completed"), "CallSid": "CA" + sid * 32},
        )
    assert [e["post"]["CallSid"][2] for e in entries(inbox_dir)] == ["1", "2", "3"]
    # A replayer died holding the first entry.
    first = sorted(inbox_dir.glob("*.json"))[0]
    claimed = first.with_name(first.name + ".claimed")
    os.replace(first, claimed)
    assert len(inbox.inbox_pending()) == 2
    old = time.time() - inbox.CLAIM_STALE_SECONDS - 1
    os.utime(claimed, (old, old))
    assert len(inbox.inbox_pending()) == 3


def test_replay_uses_the_time_received(scene, tw, monkeypatch, clock):
    scene.on_shift("counsellor")
    tw("/twilio/voice/incoming", call_data())
    received = clock.now
    monkeypatch.setattr(calls, "call_status_update", locked)
    tw("/twilio/voice/status", fixture("voice-status-completed"))
    monkeypatch.undo()
    clock.advance(minutes=7)
    tasks.webhook_inbox_replay()
    assert Call.objects.get().ended_at == received


def test_replay_command(scene, tw, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    monkeypatch.setattr(calls, "call_status_update", locked)
    tw("/twilio/voice/status", fixture("voice-status-completed"))
    monkeypatch.undo()
    out = StringIO()
    call_command("webhook_inbox_replay", stdout=out)
    assert "1 waiting" in out.getvalue() and "Replayed 1" in out.getvalue()
