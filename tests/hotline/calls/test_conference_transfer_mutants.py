"""Help on the line, the warm transfer and the live check: tests written from the survivors
of the whole-module mutation run of hotline/calls/conference.py (issue 15). Each names the
mutants it kills (`conference.x_<function>__mutmut_<n>`). Through the signed webhooks and
the fake transport, as a caller, a volunteer and a supervisor would meet it: the REST calls
and TwiML Twilio would receive, and what is logged on the call."""

import datetime as dt
import logging

import pytest

from hotline.calls import conference
from hotline.models import AuditLog, Call, CallAttempt, CallJoin
from tests.hotline.calls.test_conference_events import (
    B,
    left,
    offered_on_a_carried_leg,
    volunteer_drops,
)
from tests.hotline.calls.test_transfer import (
    A,
    gone_urls,
    holds,
    join_status,
    leg,
    live_call,
    star,
    supervisor_answers,
    supervisor_asked,
)
from tests.support import factories as f
from tests.support.twilio import call_data, fixture


def second_call(tw, w):
    """Caller B, answered by `w` (A's volunteer is busy with A)."""
    tw("/twilio/voice/incoming", call_data(B))
    tw("/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": B, "Digits": "1"})
    attempt = CallAttempt.objects.select_related("volunteer").get(call__call_sid=B, volunteer=w)
    leg(tw, attempt, "offer")
    leg(tw, attempt, "accept", Digits="1")
    return Call.objects.get(call_sid=B), attempt


def news_to(fake_twilio):
    """The legs told the news of a transfer that failed (the Participant's announce)."""
    return [s for s, d in fake_twilio.participants() if "AnnounceUrl" in d]


def sweep(clock, seconds):
    from hotline.calls.services import calls_sweep

    clock.advance(seconds=seconds)
    return calls_sweep()


def three_way(client, volunteer, call):
    """The volunteer brings in the supervisor on shift from the calls page (not a transfer)."""
    client.force_login(volunteer.user)
    assert client.post(f"/calls/{call.pk}/supervisor/").status_code == 302
    return CallJoin.objects.get(call=call)


# --- what Twilio receives: the hold music and the news are asked for with POST -------------------


def test_hold_music_and_the_transfer_news_are_fetched_with_post(scene, tw, fake_twilio, client):
    """Twilio fetches a participant's HoldUrl with GET unless told POST; our webhooks answer
    POST only, so the caller on hold would hear an application error.
    Kills caller_hold 5, 10, 20, 21; transfer_failed 64, 68, 77, 78."""
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    (_sid, on_hold) = fake_twilio.participants()[-1]
    assert on_hold["Hold"] == "true" and on_hold["HoldMethod"] == "POST"
    assert client.get(f"/twilio/voice/transfer-hold?call={call.pk}").status_code == 405
    leg(tw, attempt, "transfer-key", Digits="9")
    join_status(tw, CallJoin.objects.get(), "no-answer")
    (news,) = [d for s, d in fake_twilio.participants() if "AnnounceUrl" in d]
    assert news["AnnounceMethod"] == "POST"


# --- a failed transfer, logged on the call -------------------------------------------------------


def test_a_supervisor_who_did_not_answer_is_logged_on_the_call_at_the_time_of_the_status(
    scene, tw, fake_twilio, clock
):
    """The status as it came (a busy database's inbox replays it later: the time is the
    status's, not the replay's). Kills transfer_failed 5, 19, 20, 21, 24, 25, 26, 29–34."""
    v, sup, call, attempt = supervisor_asked(scene, tw)
    join = CallJoin.objects.get()
    came = clock.now + dt.timedelta(seconds=7)
    conference.join_leg_status(join_id=join.pk, status="no-answer", now=came)
    join.refresh_from_db()
    assert (join.ended_at, join.error, join.joined_at) == (came, "no-answer", None)
    entry = AuditLog.objects.get(action="call.transfer_failed")
    assert (entry.object_type, entry.object_id, entry.at) == ("call", call.pk, came)
    assert entry.detail == {"join": join.pk, "volunteer": sup.pk, "status": "no-answer"}
    assert entry.actor is None


def test_the_hold_loop_giving_up_logs_why(scene, tw, fake_twilio, clock):
    """Kills transfer_overdue 19, 20."""
    v, _sup, call, attempt = supervisor_asked(scene, tw)
    clock.advance(seconds=scene.hotline.ring_timeout + 11)
    tw(f"/twilio/voice/transfer-hold?call={call.pk}", call_data(A))
    join = CallJoin.objects.get()
    assert join.error == "no answer in time"
    entry = AuditLog.objects.get(action="call.transfer_failed")
    assert entry.detail["status"] == "no answer in time"


def test_the_hold_loop_gives_up_at_ring_time_and_grace_not_before(scene, tw, fake_twilio, clock):
    """The supervisor's phone rings for the hotline's ring time; the caller waits ten
    seconds more (TRANSFER_GRACE), then is back with the volunteer.
    Kills transfer_overdue 10 (<=), 11 (- grace)."""
    v, _sup, call, attempt = supervisor_asked(scene, tw)
    hold_url = f"/twilio/voice/transfer-hold?call={call.pk}"
    clock.advance(seconds=scene.hotline.ring_timeout + 5)
    tw(hold_url, call_data(A))
    assert holds(fake_twilio) == [True]
    assert CallJoin.objects.get().ended_at is None
    clock.advance(seconds=5)  # ring time + 10 s exactly
    tw(hold_url, call_data(A))
    assert holds(fake_twilio) == [True, False]
    assert CallJoin.objects.get().ended_at == clock.now


def test_volunteer_gone_and_supervisor_lost_the_caller_is_told_once_without_an_error(
    scene, tw, fake_twilio, clock, caplog
):
    """The sweep gives the transfer up and tells the caller; the look ends cleanly, and the
    next look does not tell them again.
    Kills transfer_failed 84 (told at None: told again); call_live_check 110–113 (the look
    fails after the caller was told)."""
    v, _sup, call, attempt = supervisor_asked(scene, tw)
    fake_twilio.call_status[attempt.leg_sid] = "completed"  # hung up; the callback lost
    caplog.set_level(logging.ERROR)
    sweep(clock, 61)  # past the supervisor's ring time: their callback lost too
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]
    assert Call.objects.get(pk=call.pk).alone_told_at == clock.now
    sweep(clock, 61)  # the caller still hearing the words
    assert len(gone_urls(fake_twilio)) == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# --- two calls at once: each call's transfer and people are its own -----------------------------


def test_two_calls_transfers_are_kept_apart(scene, tw, fake_twilio):
    """Kills open_transfer 9 (another call's transfer); transfer_failed 9 (every call's
    ringing supervisor given up), 52 (the news told to another call's volunteer)."""
    v = scene.on_shift("counsellor")
    call_a, attempt_a = live_call(tw, v)
    w = scene.on_shift("counsellor")
    call_b, attempt_b = second_call(tw, w)
    # Two supervisors: the one rung for B is busy when A's volunteer asks.
    scene.on_shift("supervisor")
    scene.on_shift("supervisor")
    star(tw, attempt_b)
    leg(tw, attempt_b, "transfer-key", Digits="9")
    join_b = CallJoin.objects.get(call=call_b)
    menu = star(tw, attempt_a)  # A has no transfer under way
    assert "press 9" in menu and "has not answered yet" not in menu
    leg(tw, attempt_a, "transfer-key", Digits="9")
    join_a = CallJoin.objects.get(call=call_a)
    assert join_a.volunteer != join_b.volunteer
    join_status(tw, join_b, "no-answer")
    assert news_to(fake_twilio) == [attempt_b.leg_sid]
    assert holds(fake_twilio, B) == [True, False] and holds(fake_twilio, A) == [True]
    join_a.refresh_from_db()
    assert join_a.ended_at is None and join_a.error == ""
    menu = star(tw, attempt_a)
    assert "has not answered yet" in menu


def test_hand_over_touches_its_own_join_and_volunteer_only(scene, tw, fake_twilio, clock):
    """After the hand-over, a supervisor listening in on the call may hang up without
    cutting off the caller; the volunteer of another call stays on it. The hand-over is
    logged by the volunteer, on the call, at the time of their key.
    Kills hand_over 6 (every join handed over), 13 (every volunteer freed), 16, 18, 20,
    23, 25 (the audit entry's actor, object, time)."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    w = scene.on_shift("counsellor")
    call_b, attempt_b = second_call(tw, w)
    scene.on_shift("supervisor")
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="9")
    transfer = CallJoin.objects.get(call=call)
    supervisor_answers(tw, transfer)
    listener = f.volunteer(roles=("supervisor",))
    listening = conference.call_join(
        call=call, volunteer=listener, mode="listen", by=listener.user, now=clock.now, why="t"
    )
    supervisor_answers(tw, listening)
    star(tw, attempt)
    pressed = clock.now + dt.timedelta(seconds=3)
    attempt = CallAttempt.objects.select_related("call__hotline", "volunteer__user").get(
        pk=attempt.pk
    )
    what, _ = conference.transfer_key(attempt=attempt, digits="1", now=pressed)
    assert what == "handed_over"
    entry = AuditLog.objects.get(action="call.transfer")
    assert (entry.actor, entry.object_type, entry.object_id, entry.at) == (
        v.user,
        "call",
        call.pk,
        pressed,
    )
    assert CallAttempt.objects.get(pk=attempt.pk).ended_at == pressed
    assert CallAttempt.objects.get(pk=attempt_b.pk).ended_at is None
    assert CallJoin.objects.get(pk=listening.pk).handed_over_at is None
    join_status(tw, listening, "completed")  # the listener hangs up
    assert (A, "completed") not in fake_twilio.stopped()
    assert Call.objects.get(pk=call.pk).state == Call.State.CONNECTED
    sweep(clock, 61)
    assert f"/twilio/voice/volunteer-gone?call={call_b.pk}" not in gone_urls(fake_twilio)


def test_supervisor_left_with_the_caller_dropping_unheard_the_sweep_ends_the_call(
    scene, tw, fake_twilio, clock
):
    """After the hand-over the caller is the supervisor's; their phone drops with its
    status callback and the conference's leave event lost: the sweep reads their leg and
    ends the call, rather than leave the caller in an empty conference.
    Kills call_live_check 95 (the supervisor's leg never read), 97 (another SID read)."""
    v, _sup, call, attempt = supervisor_asked(scene, tw)
    join = CallJoin.objects.get()
    supervisor_answers(tw, join)
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="1")
    fake_twilio.call_status[join.leg_sid] = "completed"
    sweep(clock, 61)
    assert fake_twilio.read() == [A, join.leg_sid]
    assert (A, "completed") in fake_twilio.stopped()
    assert CallJoin.objects.get().ended_at == clock.now


@pytest.mark.parametrize("event", ["leave", "leg-status"])
def test_another_calls_supervisor_is_nobody_to_this_caller(scene, tw, fake_twilio, client, event):
    """Call B has a supervisor speaking on it; A's volunteer hangs up: A's caller is told,
    B's people are neither read nor changed, and an event of A's conference naming B's
    legs changes nothing.
    Kills caller_alone 18, volunteer_left 26, call_live_check 83, participant_left 17, 28."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    w = scene.on_shift("counsellor")
    call_b, attempt_b = second_call(tw, w)
    scene.on_shift("supervisor")
    join_b = three_way(client, w, call_b)
    supervisor_answers(tw, join_b)
    sent = len(fake_twilio.requests)
    left(tw, call, attempt_b.leg_sid)  # misdirected: B's legs are not A's
    left(tw, call, join_b.leg_sid)
    assert len(fake_twilio.requests) == sent
    volunteer_drops(tw, call, attempt, event)
    assert fake_twilio.read() == [A]
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]
    assert not [s for s, d in fake_twilio.participants() if s == join_b.leg_sid]


# --- a supervisor on the way, or speaking, keeps the caller company ------------------------------


def test_a_supervisor_being_called_keeps_the_caller_company_until_ring_time_and_grace(
    scene, tw, fake_twilio, client, clock
):
    """The volunteer brought in the supervisor from the calls page and hung up while it
    rang: the caller waits for them (the ringing leg is not read, nor changed); once the
    ring time and TRANSFER_GRACE passed without an answer, the caller is told.
    Kills caller_alone 10, 11; volunteer_left 27; call_live_check 84."""
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    join = three_way(client, v, call)
    asked = join.requested_at
    leg(tw, attempt, "leg-status", CallStatus="completed")
    assert fake_twilio.read() == [A]
    assert gone_urls(fake_twilio) == []
    assert not [s for s, d in fake_twilio.participants() if s == join.leg_sid]
    ring = dt.timedelta(seconds=scene.hotline.ring_timeout)
    conference.call_live_check(call_id=call.pk, now=asked + ring + dt.timedelta(seconds=5))
    assert fake_twilio.read() == [A, A]  # the ringing supervisor's leg is not read
    assert gone_urls(fake_twilio) == []
    conference.call_live_check(call_id=call.pk, now=asked + ring + dt.timedelta(seconds=10))
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]


def test_a_supervisor_speaking_long_after_joining_stays_with_the_caller(
    scene, tw, fake_twilio, client, clock
):
    """Two minutes into a three-way call the volunteer's phone drops, every callback lost:
    the sweep finds the supervisor still speaking with the caller (asked for long ago, but
    there), so the caller is not told goodbye; the supervisor's leaving now ends the call.
    Kills caller_alone 22, 24."""
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    join = three_way(client, v, call)
    supervisor_answers(tw, join)
    clock.advance(seconds=59)
    fake_twilio.call_status[attempt.leg_sid] = "completed"
    sweep(clock, 61)
    assert gone_urls(fake_twilio) == []
    assert (join.leg_sid, {"EndConferenceOnExit": "true"}) in fake_twilio.participants()
    assert Call.objects.get(pk=call.pk).alone_told_at is None


# --- the live check: its own call, once it is still live ----------------------------------------


def test_a_look_at_one_call_does_not_put_off_the_sweeps_look_at_another(
    scene, tw, fake_twilio, clock
):
    """Kills call_live_check 17 (every live call's next look moved)."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    w = scene.on_shift("counsellor")
    call_b, attempt_b = second_call(tw, w)
    clock.advance(seconds=40)
    left(tw, call_b, attempt_b.leg_sid, "")  # read: B's volunteer is still on the line
    assert fake_twilio.read() == [B, attempt_b.leg_sid]
    sweep(clock, 21)  # 61 s after A was answered: A is due
    assert fake_twilio.read()[2:] == [A, attempt.leg_sid]


def test_a_call_that_ended_after_the_sweep_listed_it_is_not_read(scene, tw, fake_twilio, clock):
    """The sweep lists the live calls, then looks at each in turn (reading Twilio, which
    takes time): a caller who hung up meanwhile is not read, nor their volunteer's leg.
    Kills call_live_check 7."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": A})
    sent = len(fake_twilio.requests)
    conference.call_live_check(call_id=call.pk, now=clock.now)
    assert len(fake_twilio.requests) == sent


# --- the volunteer's keys ------------------------------------------------------------------------


def test_a_key_pressed_after_the_caller_hung_up_says_the_call_ended(scene, tw, fake_twilio):
    """Kills transfer_key 12, 13 (the volunteer sent back into an empty conference)."""
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": A})
    bye = leg(tw, attempt, "transfer-key", Digits="0")
    assert "The call has ended" in bye and "<Hangup" in bye
    assert "<Conference" not in bye


def test_after_a_failed_transfer_the_volunteer_can_call_the_supervisor_again(
    scene, tw, fake_twilio
):
    """Kills open_transfer 12 (the failed transfer still counted as under way)."""
    v, sup, call, attempt = supervisor_asked(scene, tw)
    join_status(tw, CallJoin.objects.get(), "no-answer")
    menu = star(tw, attempt)
    assert "press 9" in menu and "has not answered yet" not in menu
    back = leg(tw, attempt, "transfer-key", Digits="9")
    assert f"Calling {sup.display_name}" in back
    assert CallJoin.objects.filter(call=call, transfer=True).count() == 2


# --- found while reading transfer_failed's survivors ---------------------------------------------


def test_a_volunteer_on_a_carried_leg_hears_that_the_supervisor_did_not_answer(
    scene, tw, fake_twilio, clock
):
    """A volunteer who answered A's phone as A was taken, and was offered caller B on that
    leg (`leg_of`: the attempt has no SID of its own), brings in the supervisor, who does not
    answer: the news goes to their leg, the carried one. Before, only an attempt's own SID
    was looked for: the caller came off hold with the volunteer never told why."""
    _first, other, second = offered_on_a_carried_leg(scene, tw, clock)
    on_leg = {
        **fixture("voice-screen-answer"),
        "CallSid": other.leg_sid,
        "To": other.volunteer.phone_number,
    }
    tw(f"/twilio/voice/accept?attempt={second.pk}", {**on_leg, "Digits": "1"})
    call_b = Call.objects.get(call_sid=B)
    scene.on_shift("supervisor")
    menu = tw(
        f"/twilio/voice/dial-done?attempt={second.pk}", {**on_leg, "DialCallStatus": "completed"}
    ).content.decode()
    assert "press 9" in menu
    tw(f"/twilio/voice/transfer-key?attempt={second.pk}", {**on_leg, "Digits": "9"})
    join_status(tw, CallJoin.objects.get(call=call_b), "no-answer")
    assert holds(fake_twilio, B) == [True, False]
    assert news_to(fake_twilio) == [other.leg_sid]
