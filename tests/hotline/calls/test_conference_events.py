"""The conference's own status callbacks (`statusCallbackEvent="leave end"` on every
`<Conference>` noun of a call): a volunteer whose phone drops during the conversation is
noticed when they leave the conference, not a minute or two later by the sweep — even when
their leg's own hang-up callback is lost. Through the signed webhooks and the fake transport:
the TwiML Twilio would receive, the REST calls made, the state after."""

import pytest

from hotline.models import Call, CallAttempt, CallJoin
from tests.hotline.calls.test_transfer import (
    A,
    gone_urls,
    leg,
    live_call,
    star,
    supervisor_answers,
)
from tests.support.twilio import call_data, fixture

B = "CA" + "2" * 32


def left(tw, call, sid, status="completed", **kw):
    """Twilio's participant-leave for the call's conference: `sid` left it, its call now
    `status` ("" : Twilio did not say)."""
    data = {
        **fixture("voice-conference-leave"),
        "FriendlyName": call.queue_name,
        "CallSid": sid,
        "ParticipantCallStatus": status,
        **kw,
    }
    if not status:
        del data["ParticipantCallStatus"]
    return tw(f"/twilio/voice/conference-status?call={call.pk}", data)


def volunteer_drops(tw, call, attempt, event):
    """The volunteer's phone drops, told first by the conference's leave event ("leave") or
    by the leg's own final status ("leg-status")."""
    if event == "leave":
        left(tw, call, attempt.leg_sid)
    else:
        leg(tw, attempt, "leg-status", CallStatus="completed")


def ended(tw, call):
    data = {**fixture("voice-conference-end"), "FriendlyName": call.queue_name}
    return tw(f"/twilio/voice/conference-status?call={call.pk}", data)


def caller_hung_up(tw):
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": A})


def test_every_conference_noun_asks_for_the_leave_and_end_events(scene, tw, fake_twilio):
    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    tw("/twilio/voice/incoming", call_data(A))
    tw("/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": A, "Digits": "1"})
    attempt = CallAttempt.objects.select_related("volunteer").get(volunteer=v)
    leg(tw, attempt, "offer")
    volunteer = leg(tw, attempt, "accept", Digits="1")
    call = Call.objects.get(call_sid=A)
    events = (
        f'statusCallback="http://testserver/twilio/voice/conference-status?call={call.pk}" '
        'statusCallbackEvent="leave end" statusCallbackMethod="POST"'
    )
    caller = tw(f"/twilio/voice/conference?call={call.pk}", call_data(A)).content.decode()
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="9")
    supervisor = supervisor_answers(tw, CallJoin.objects.get(volunteer=sup))
    for twiml in (volunteer, caller, supervisor):
        assert events in twiml and f">call-{call.pk}</Conference>" in twiml


def test_volunteer_dropping_out_of_the_conference_tells_the_caller_at_once(
    scene, tw, fake_twilio, clock
):
    """Before, with the leg's hang-up callback lost, the caller sat alone in silence until
    the sweep's live check: up to two minutes."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    clock.advance(seconds=5)
    # Another caller waits meanwhile: the volunteer is the only one on shift.
    tw("/twilio/voice/incoming", call_data(B))
    tw("/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": B, "Digits": "1"})
    assert fake_twilio.dialled() == [v.phone_number]
    sent = len(fake_twilio.requests)

    r = left(tw, call, attempt.leg_sid)  # their phone dropped; the leg's callback is lost
    assert r.status_code == 200
    assert r.content.decode().strip().endswith("<Response />")
    # The caller is read first (still there?), the leg's end is known from the event.
    assert fake_twilio.read() == [A]
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]
    assert (A, "completed") not in fake_twilio.stopped()  # told, not cut off
    attempt.refresh_from_db()
    assert attempt.ended_at is not None and attempt.leg_status == "completed"
    # The volunteer is free at once: the waiting caller is offered to them now.
    assert fake_twilio.dialled() == [v.phone_number, v.phone_number]
    assert len(fake_twilio.requests) == sent + 3  # read, redirect, dial
    words = tw(f"/twilio/voice/volunteer-gone?call={call.pk}", call_data(A)).content.decode()
    assert "Your volunteer is no longer on the call." in words and "120, 110" in words
    caller_hung_up(tw)
    call.refresh_from_db()
    assert call.state == Call.State.ENDED and call.outcome == Call.Outcome.ANSWERED
    assert call.answered_by_id == v.pk


def test_replayed_and_late_leave_events_change_nothing_twice(scene, tw, fake_twilio, clock):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    left(tw, call, attempt.leg_sid)
    told = call.__class__.objects.get(pk=call.pk).alone_told_at
    assert told is not None
    sent = len(fake_twilio.requests)
    clock.advance(seconds=2)
    left(tw, call, attempt.leg_sid)  # replayed
    # The leg's own final status, late: the volunteer is settled already.
    leg(tw, attempt, "leg-status", CallStatus="completed")
    assert len(fake_twilio.requests) == sent  # nothing read, redirected, stopped or dialled
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]
    # The caller is still hearing the words (their status callback lost) when the sweep looks:
    # read, found alone — and not told again.
    from hotline.calls.services import calls_sweep

    clock.advance(seconds=60)
    calls_sweep()
    assert fake_twilio.read()[-1] == A
    assert len(gone_urls(fake_twilio)) == 1
    assert Call.objects.get(pk=call.pk).alone_told_at == told
    # The caller's final status, then a leave event arriving after it: nothing.
    caller_hung_up(tw)
    sent = len(fake_twilio.requests)
    left(tw, call, attempt.leg_sid)
    assert len(fake_twilio.requests) == sent


def test_leg_status_first_then_the_leave_event_tells_the_caller_once(scene, tw, fake_twilio):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    leg(tw, attempt, "leg-status", CallStatus="completed")
    left(tw, call, attempt.leg_sid)  # the conference's event, after the leg's
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]
    assert fake_twilio.read() == [A]


def test_caller_leaving_first_hears_no_volunteer_gone_words(scene, tw, fake_twilio, client):
    """The caller hangs up: the conference ends (their endConferenceOnExit), the volunteer
    is taken out of it with their phone still on the line (their Dial's action follows)."""
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    client.force_login(v.user)
    client.post(f"/calls/{call.pk}/supervisor/")
    supervisor_answers(tw, CallJoin.objects.get())  # on the call too
    ended(tw, call)
    left(tw, call, A)  # the caller left
    left(tw, call, attempt.leg_sid, "in-progress")
    assert fake_twilio.read() == [] and gone_urls(fake_twilio) == []
    caller_hung_up(tw)
    left(tw, call, attempt.leg_sid)  # their leg ends once the Dial's action hung it up
    assert fake_twilio.read() == [] and gone_urls(fake_twilio) == []
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.ANSWERED


def test_caller_gone_with_its_callback_lost_the_leave_event_ends_the_call_without_words(
    scene, tw, fake_twilio
):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    fake_twilio.call_status[A] = "completed"  # the caller's status callback is lost
    left(tw, call, attempt.leg_sid)
    assert fake_twilio.read() == [A] and gone_urls(fake_twilio) == []
    call.refresh_from_db()
    assert call.state == Call.State.ENDED and call.outcome == Call.Outcome.ANSWERED


def test_star_leaves_the_conference_not_the_call(scene, tw, fake_twilio):
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    left(tw, call, attempt.leg_sid, "in-progress")  # hangupOnStar: the phone is still on
    assert fake_twilio.read() == [] and gone_urls(fake_twilio) == []
    menu = star(tw, attempt)
    assert "press 9" in menu
    attempt.refresh_from_db()
    assert attempt.ended_at is None


@pytest.mark.parametrize("sent", ["", "not-a-status"])
@pytest.mark.parametrize("leg_reads", ["completed", "in-progress"])
def test_leave_event_without_the_participants_call_status_reads_the_leg(
    scene, tw, fake_twilio, leg_reads, sent
):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    fake_twilio.call_status[attempt.leg_sid] = leg_reads
    left(tw, call, attempt.leg_sid, sent)
    assert fake_twilio.read() == [A, attempt.leg_sid]
    told = gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]
    assert told is (leg_reads == "completed")


def test_volunteer_leaving_a_three_way_call_leaves_the_caller_with_the_supervisor(
    scene, tw, fake_twilio, client
):
    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    client.force_login(v.user)
    client.post(f"/calls/{call.pk}/supervisor/")
    join = CallJoin.objects.get()
    supervisor_answers(tw, join)
    left(tw, call, attempt.leg_sid)
    assert gone_urls(fake_twilio) == []
    assert (join.leg_sid, {"EndConferenceOnExit": "true"}) in fake_twilio.participants()
    call.refresh_from_db()
    assert call.state == Call.State.CONNECTED
    assert CallAttempt.objects.get(pk=attempt.pk).ended_at is not None
    assert sup.pk == join.volunteer_id


def test_supervisor_dropping_before_the_hand_over_takes_the_caller_off_hold(
    scene, tw, fake_twilio, clock
):
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="9")
    join = CallJoin.objects.get()
    supervisor_answers(tw, join)
    left(tw, call, join.leg_sid)  # their leg's callback is lost
    join.refresh_from_db()
    assert join.ended_at is not None
    holds = [d.get("Hold") for s, d in fake_twilio.participants() if s == A and "Hold" in d]
    assert holds == ["true", "false"]
    assert gone_urls(fake_twilio) == []  # the volunteer is still with the caller
    sent = len(fake_twilio.requests)
    left(tw, call, join.leg_sid)  # replayed
    assert len(fake_twilio.requests) == sent
    from hotline.calls.services import calls_sweep

    clock.advance(seconds=61)
    calls_sweep()  # the supervisor's ended leg is not read again
    assert fake_twilio.read()[-2:] == [A, attempt.leg_sid]
    assert join.leg_sid not in fake_twilio.read()


def test_conference_end_makes_the_call_due_a_look_at_the_next_sweep(scene, tw, fake_twilio, clock):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    fake_twilio.call_status[A] = "completed"  # the caller's status callback is lost
    clock.advance(seconds=10)
    ended(tw, call)
    assert fake_twilio.read() == []  # nothing read in the event itself
    from hotline.calls.services import calls_sweep

    clock.advance(seconds=5)
    calls_sweep()  # 15 s after the accept, not LIVE_CHECK (60 s)
    assert fake_twilio.read() == [A]
    call.refresh_from_db()
    assert call.state == Call.State.ENDED


def test_conference_events_are_signature_checked_and_validated(scene, tw, fake_twilio):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    data = {**fixture("voice-conference-leave"), "CallSid": attempt.leg_sid}
    url = f"/twilio/voice/conference-status?call={call.pk}"
    assert tw(url, data, sign=False).status_code == 403
    assert tw(url, data, signature="forged").status_code == 403
    assert tw(url, {**data, "ConferenceSid": ""}).status_code == 400
    assert tw(url, {**data, "CallSid": "nope"}).status_code == 400
    assert fake_twilio.read() == [] and gone_urls(fake_twilio) == []
    assert CallAttempt.objects.get(pk=attempt.pk).ended_at is None


@pytest.mark.parametrize("event", ["leave", "leg-status"])
def test_caller_unreadable_from_twilio_is_still_told_when_the_volunteer_is_known_gone(
    scene, tw, fake_twilio, event
):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    fake_twilio.call_status[A] = ""  # Twilio answers without a status: unreadable
    volunteer_drops(tw, call, attempt, event)
    assert fake_twilio.read() == [A]
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]


def test_redirect_refused_the_next_look_tells_the_caller(scene, tw, fake_twilio, clock):
    """Twilio refusing the redirect to the words does not count as the caller told."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    fake_twilio.refuse_update.add(A)
    left(tw, call, attempt.leg_sid)
    assert Call.objects.get(pk=call.pk).alone_told_at is None
    fake_twilio.refuse_update.clear()
    from hotline.calls.services import calls_sweep

    clock.advance(seconds=61)
    calls_sweep()
    assert fake_twilio.redirected().count(A) == 3  # conference, refused, told
    assert gone_urls(fake_twilio)[-1] == f"/twilio/voice/volunteer-gone?call={call.pk}"
    assert Call.objects.get(pk=call.pk).alone_told_at is not None


def offered_on_a_carried_leg(scene, tw, clock):
    """v takes caller A; w answers A's phone late and is offered caller B on that same leg
    (`leg_of`): the attempts (v's for A, w's for A, w's for B on w's leg)."""
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    tw("/twilio/voice/incoming", call_data(A))
    tw("/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": A, "Digits": "1"})
    first = CallAttempt.objects.select_related("volunteer").get(volunteer=v)
    other = CallAttempt.objects.select_related("volunteer").get(volunteer=w)
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")
    tw("/twilio/voice/incoming", call_data(B))
    tw("/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": B, "Digits": "1"})
    clock.advance(seconds=1)
    assert "Another caller is waiting" in leg(tw, other, "offer")  # w answers A's phone late
    return first, other, CallAttempt.objects.get(leg_of=other)


@pytest.mark.parametrize("event", ["leave", "leg-status"])
def test_a_volunteer_offered_a_second_caller_on_the_same_leg_is_noticed_leaving_too(
    scene, tw, fake_twilio, clock, event
):
    """A leg answered as its caller was taken is offered the next caller (`leg_of`): that
    attempt has no SID of its own, the leg's is its parent's."""
    first, other, second = offered_on_a_carried_leg(scene, tw, clock)
    assert second.leg_sid is None
    data = {**fixture("voice-screen-answer"), "CallSid": other.leg_sid, "Digits": "1"}
    tw(f"/twilio/voice/accept?attempt={second.pk}", data)
    call_b = Call.objects.get(call_sid=B)
    assert call_b.state == Call.State.CONNECTED and call_b.answered_by == other.volunteer
    fake_twilio.call_status[B] = ""  # and the caller cannot be read: told all the same
    volunteer_drops(tw, call_b, other, event)
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call_b.pk}"]
    assert CallAttempt.objects.get(pk=second.pk).ended_at is not None


def test_events_act_on_their_own_call_only(scene, tw, fake_twilio, clock):
    v = scene.on_shift("counsellor")
    call_a, attempt_a = live_call(tw, v)
    w = scene.on_shift("counsellor")
    tw("/twilio/voice/incoming", call_data(B))
    tw("/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": B, "Digits": "1"})
    attempt_b = CallAttempt.objects.select_related("volunteer").get(volunteer=w)
    leg(tw, attempt_b, "offer")
    leg(tw, attempt_b, "accept", Digits="1")
    call_b = Call.objects.get(call_sid=B)
    deadline_b = call_b.batch_deadline
    clock.advance(seconds=5)
    ended(tw, call_a)
    assert Call.objects.get(pk=call_b.pk).batch_deadline == deadline_b
    left(tw, call_b, attempt_b.leg_sid)
    assert fake_twilio.read() == [B]  # not the other call's legs
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call_b.pk}"]
    left(tw, call_a, attempt_a.leg_sid)
    assert gone_urls(fake_twilio)[-1] == f"/twilio/voice/volunteer-gone?call={call_a.pk}"


def test_a_refused_redirect_releases_only_its_own_call(scene, tw, fake_twilio, clock):
    """Two callers found alone by one sweep (the same instant): Twilio refusing the second
    redirect must not make the first caller hear the words twice."""
    v = scene.on_shift("counsellor")
    call_a, attempt_a = live_call(tw, v)
    w = scene.on_shift("counsellor")
    tw("/twilio/voice/incoming", call_data(B))
    tw("/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": B, "Digits": "1"})
    attempt_b = CallAttempt.objects.select_related("volunteer").get(volunteer=w)
    leg(tw, attempt_b, "offer")
    leg(tw, attempt_b, "accept", Digits="1")
    call_b = Call.objects.get(call_sid=B)
    for attempt in (attempt_a, attempt_b):  # both dropped, every callback lost
        fake_twilio.call_status[attempt.leg_sid] = "completed"
    fake_twilio.refuse_update.add(B)
    from hotline.calls.services import calls_sweep

    clock.advance(seconds=61)
    calls_sweep()
    fake_twilio.refuse_update.clear()
    clock.advance(seconds=61)
    calls_sweep()
    assert gone_urls(fake_twilio) == [
        f"/twilio/voice/volunteer-gone?call={call_a.pk}",
        f"/twilio/voice/volunteer-gone?call={call_b.pk}",  # refused
        f"/twilio/voice/volunteer-gone?call={call_b.pk}",
    ]


def test_a_look_from_an_event_puts_off_the_sweeps_next_look(scene, tw, fake_twilio, clock):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    clock.advance(seconds=40)
    fake_twilio.call_status[attempt.leg_sid] = "in-progress"
    left(tw, call, attempt.leg_sid, "")  # read: still on the call
    assert fake_twilio.read() == [A, attempt.leg_sid]
    from hotline.calls.services import calls_sweep

    clock.advance(seconds=30)  # 70 s after the accept, 30 s after the look
    calls_sweep()
    assert fake_twilio.read() == [A, attempt.leg_sid]


@pytest.mark.parametrize("event", ["leave", "leg-status"])
def test_nobody_left_speaking_with_the_caller_they_are_told(scene, tw, fake_twilio, client, event):
    """A supervisor who spoke and left, and one listening muted, are nobody to talk to."""
    from django.utils import timezone

    from hotline.calls.conference import call_join

    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    listener = scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    client.force_login(v.user)
    client.post(f"/calls/{call.pk}/supervisor/")
    spoke = CallJoin.objects.get()
    assert spoke.volunteer == sup
    supervisor_answers(tw, spoke)
    left(tw, call, spoke.leg_sid)  # the speaking supervisor left
    listening = call_join(
        call=call, volunteer=listener, mode="listen", by=listener.user, now=timezone.now(), why="t"
    )
    supervisor_answers(tw, listening)
    # Then the volunteer's phone drops: the conference's event or the leg's status first.
    volunteer_drops(tw, call, attempt, event)
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]
