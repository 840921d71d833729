"""Call-routing edges a mutation check found untested (issue 19): an accept with no key
pressed, a callback request without a recording, and the sweep at exactly the batch
deadline. Each test names the mutation of hotline/calls/services.py it was checked
against (made by hand, test seen failing, code reverted)."""

import datetime as dt

import pytest

from hotline.calls import queue
from hotline.calls import services as calls
from hotline.models import Call, CallAttempt, CallbackRequest
from tests.support.twilio import NOW, call_data, fixture, leg

SID = "CA11111111111111111111111111111111"


def start(tw, digits="1"):
    assert tw("/twilio/voice/incoming", call_data(SID)).status_code == 200
    return tw(
        "/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": SID, "Digits": digits}
    )


def first_attempt():
    return CallAttempt.objects.select_related("volunteer").order_by("id").first()


# --- an accept with no key pressed ----------------------------------------------------------------


@pytest.mark.parametrize("digits", ["", None, "   ", "#"])
def test_accept_without_a_key_declines_and_never_connects(scene, tw, digits):
    """A voicemail box or an auto-answering phone posts the whisper's <Gather> with nothing
    pressed. Mutation: `if (digits or "").strip()[:1] != "1"` → `if digits and
    digits.strip()[:1] != "1"` lets an empty press through to the UPDATE that connects."""
    scene.on_shift("counsellor")
    start(tw, "1")
    attempt = first_attempt()
    result = calls.call_accept(attempt_id=attempt.pk, digits=digits, now=NOW)
    assert (result.won, result.reason) == (False, "declined")
    attempt.refresh_from_db()
    assert attempt.result == CallAttempt.Result.DECLINED
    call = Call.objects.get()
    assert call.answered_by is None and call.state != Call.State.CONNECTED


def test_accept_webhook_with_no_or_empty_digits_declines(scene, tw, fake_twilio):
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    a = scene.on_shift("counsellor")
    b = scene.on_shift("counsellor")
    start(tw, "1")
    first = first_attempt()
    assert first.volunteer == a
    leg(tw, first, "offer")
    r = leg(tw, first, "accept")  # no Digits at all
    body = r.content.decode()
    assert "<Dial" not in body and "<Queue" not in body
    first.refresh_from_db()
    assert first.result == CallAttempt.Result.DECLINED
    call = Call.objects.get()
    assert call.state == Call.State.RINGING and call.answered_by is None
    # The caller is offered to the next volunteer; b's empty press declines too.
    second = CallAttempt.objects.get(volunteer=b)
    r = leg(tw, second, "accept", Digits="")
    assert "<Dial" not in r.content.decode()
    call.refresh_from_db()
    assert call.answered_by is None and call.state != Call.State.CONNECTED


# --- a callback request without a recording ---------------------------------------------------


def _to_voicemail_with_callback(scene, tw):
    scene.on_shift("counsellor")
    start(tw, "2")  # no family-education expert on shift: voicemail at once
    call = Call.objects.get()
    assert call.state == Call.State.VOICEMAIL
    r = tw(
        f"/twilio/voice/callback?call={call.pk}", {**fixture("voice-gather-digits"), "Digits": "1"}
    )
    assert r.status_code == 200 and "call you back" in r.content.decode()
    return call


def test_callback_without_recording_then_hang_up_is_voicemail_not_missed(scene, tw):
    """The caller pressed 1 for a callback and hung up at the beep. Mutation: dropping
    `or CallbackRequest.objects.filter(call=call).exists()` from the outcome records the
    call as missed, and the callback queue loses its reason."""
    call = _to_voicemail_with_callback(scene, tw)
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": SID})
    call.refresh_from_db()
    assert call.recording_sid == ""
    assert (call.state, call.outcome) == (Call.State.ENDED, Call.Outcome.VOICEMAIL)
    assert CallbackRequest.objects.get(call=call).number == "+8613800138000"


def test_callback_without_recording_service_level(scene, tw):
    scene.on_shift("counsellor")
    start(tw, "2")
    call = Call.objects.get()
    assert calls.callback_request_create(call=call, number="+8613800138000", now=NOW)
    ended = calls.call_status_update(call_sid=SID, status="completed", duration=30, now=NOW)
    assert ended.outcome == Call.Outcome.VOICEMAIL


def test_voicemail_without_recording_or_callback_is_missed(scene, tw):
    """The other side of the same line: nothing left, nothing asked for, is missed."""
    scene.on_shift("counsellor")
    start(tw, "2")
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": SID})
    assert Call.objects.get().outcome == Call.Outcome.MISSED


def test_calls_api_shows_a_callback_without_recording_as_voicemail(scene, tw, client):
    """What a coordinator sees in the calls list: a voicemail, not a missed call."""
    from tests.support import factories as f

    call = _to_voicemail_with_callback(scene, tw)
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": SID})
    client.force_login(f.coordinator_user())
    api = client.get("/api/v1/calls/").json()
    row = next(c for c in api["results"] if c["id"] == call.pk)
    assert row["outcome"] == "voicemail"


# --- the sweep at exactly the batch deadline ---------------------------------------------------


def _offer_expiry(call: Call) -> dt.datetime:
    """When the first phone's offer is given up (its ring time plus the grace for a late
    status callback): the moment the caller must move on to the next volunteer."""
    first = CallAttempt.objects.filter(call=call).order_by("offered_at").first()
    return first.offered_at + dt.timedelta(seconds=call.hotline.ring_timeout + queue.BATCH_GRACE)


def test_sweep_at_exactly_the_batch_deadline_moves_the_call_on(scene, tw, fake_twilio, clock):
    """Mutations: `batch_deadline__lte=now` → `__lt` in calls_sweep leaves a due call alone
    for another minute; `offered_at__lte` → `__lt` for overdue offers keeps the caller
    ringing a phone nobody answers past its ring time."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    second = scene.on_shift("counsellor")
    start(tw, "1")
    call = Call.objects.get()
    assert fake_twilio.dialled()[-1] != second.phone_number
    # Its next check, exactly: due (the hold loop's recheck).
    deadline = call.batch_deadline
    assert calls.calls_sweep(now=deadline - dt.timedelta(microseconds=1)) == 0
    assert calls.calls_sweep(now=deadline) == 1
    # Its ring time over, its final status 2 s late: the leg is read from Twilio, which
    # says it is in progress (answered in the last second; its whisper plays)...
    expiry = _offer_expiry(call)
    read_at = expiry - dt.timedelta(seconds=queue.BATCH_GRACE) + queue.LEG_READ_AFTER
    call.refresh_from_db()
    assert call.batch_deadline == read_at
    assert calls.calls_sweep(now=read_at) == 1
    assert fake_twilio.dialled()[-1] != second.phone_number
    # ...and nobody presses 1: exactly at the end of the grace the second counsellor is rung.
    call.refresh_from_db()
    assert call.batch_deadline == expiry
    calls.calls_sweep(now=expiry - dt.timedelta(microseconds=1))
    assert fake_twilio.dialled()[-1] != second.phone_number
    assert calls.calls_sweep(now=expiry) == 1
    assert fake_twilio.dialled()[-1] == second.phone_number


def test_tick_at_exactly_the_batch_deadline_moves_the_call_on(scene, tw, fake_twilio):
    """Mutation: `<=` → `<` in call_tick (the caller's hold loop) skips a call that is due."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    second = scene.on_shift("counsellor")
    start(tw, "1")
    call = Call.objects.get()
    assert (
        calls.call_tick(call=call, now=call.batch_deadline - dt.timedelta(microseconds=1)) is False
    )
    assert calls.call_tick(call=call, now=call.batch_deadline) is True
    call.refresh_from_db()
    expiry = _offer_expiry(call)
    assert calls.call_tick(call=call, now=expiry) is True
    assert fake_twilio.dialled()[-1] == second.phone_number
