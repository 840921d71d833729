"""The volunteer's key sequence and the warm transfer, through the signed webhooks and the
fake transport: the volunteer presses * on the call (`hangupOnStar` ends their `<Dial>` and
Twilio asks its action), the caller goes on hold (the conference Participant's `hold`
through REST), 9 brings in the supervisor on shift, * then 1 hands the call over; a
supervisor who does not answer never costs the caller the call."""

import datetime as dt

from hotline.models import AuditLog, Call, CallAttempt, CallJoin
from tests.support.twilio import call_data, fixture

A = "CA" + "1" * 32


def live_call(tw, volunteer):
    tw("/twilio/voice/incoming", call_data(A))
    tw("/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": A, "Digits": "1"})
    attempt = CallAttempt.objects.select_related("volunteer").get(
        call__call_sid=A, volunteer=volunteer
    )
    leg(tw, attempt, "offer")  # answered: the whisper
    body = leg(tw, attempt, "accept", Digits="1")
    assert 'hangupOnStar="true"' in body and "press star" in body
    return Call.objects.get(call_sid=A), attempt


def supervisor_asked(scene, tw):
    """A counsellor and a supervisor on shift; the counsellor, on a live call, presses * then
    9 to bring the supervisor in: (counsellor, supervisor, call, the counsellor's attempt)."""
    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="9")
    return v, sup, call, attempt


def leg(tw, attempt, path, **kw):
    data = {
        **fixture("voice-screen-answer"),
        "CallSid": attempt.leg_sid,
        "To": attempt.volunteer.phone_number,
        **kw,
    }
    return tw(f"/twilio/voice/{path}?attempt={attempt.pk}", data).content.decode()


def star(tw, attempt):
    """The volunteer presses *: their Dial into the conference ends, Twilio asks its action."""
    return leg(tw, attempt, "dial-done", DialCallStatus="completed")


def supervisor_answers(tw, join):
    data = {
        **fixture("voice-screen-answer"),
        "CallSid": join.leg_sid,
        "To": join.volunteer.phone_number,
    }
    return tw(f"/twilio/voice/join?join={join.pk}", data).content.decode()


def join_status(tw, join, status):
    data = {
        **fixture("voice-screen-answer"),
        "CallSid": join.leg_sid,
        "To": join.volunteer.phone_number,
        "CallStatus": status,
    }
    return tw(f"/twilio/voice/join?join={join.pk}&status=1", data)


def holds(fake_twilio, sid=A):
    """The caller's hold changes, in order: True (on hold) / False (back)."""
    return [
        d.get("Hold") == "true" for s, d in fake_twilio.participants() if s == sid and "Hold" in d
    ]


def test_star_puts_the_caller_on_hold_and_9_brings_in_the_supervisor_for_a_warm_transfer(
    scene, tw, fake_twilio
):
    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    menu = star(tw, attempt)
    assert "<Gather" in menu and f"/twilio/voice/transfer-key?attempt={attempt.pk}" in menu
    assert "press 9" in menu and "caller is on hold" in menu
    assert holds(fake_twilio) == [True]
    (_sid, on_hold) = fake_twilio.participants()[-1]
    assert on_hold["HoldUrl"].endswith(f"/twilio/voice/transfer-hold?call={call.pk}")
    # The conference is found by its name, the call's.
    conf = [(m, u, d) for m, u, d in fake_twilio.requests if u.endswith("/Conferences.json")]
    assert conf and conf[-1][0] == "GET"

    back = leg(tw, attempt, "transfer-key", Digits="9")
    join = CallJoin.objects.get()
    assert (join.volunteer, join.transfer, join.mode, join.requested_by) == (
        sup,
        True,
        "speak",
        v.user,
    )
    assert fake_twilio.dialled()[-1] == sup.phone_number
    # The volunteer is back in the same conference; the caller stays on hold meanwhile.
    assert f">call-{call.pk}</Conference>" in back and 'hangupOnStar="true"' in back
    assert f"Calling {sup.display_name}" in back
    assert holds(fake_twilio) == [True]
    entry = AuditLog.objects.get(action="call.join")
    assert entry.detail["why"] == "volunteer_key"

    words = supervisor_answers(tw, join)
    assert "asking for your help" in words and f">call-{call.pk}</Conference>" in words
    assert 'endConferenceOnExit="false"' in words  # not yet: the volunteer is still there

    menu = star(tw, attempt)
    assert f"hand the call over to {sup.display_name}" in menu and "press 1" in menu
    bye = leg(tw, attempt, "transfer-key", Digits="1")
    assert "handed the call over" in bye and "<Hangup" in bye
    join.refresh_from_db()
    assert join.handed_over_at is not None
    # The supervisor's leaving now ends the conference; the caller is off hold.
    assert (join.leg_sid, {"EndConferenceOnExit": "true"}) in fake_twilio.participants()
    assert holds(fake_twilio) == [True, True, False]
    transfer = AuditLog.objects.get(action="call.transfer")
    assert transfer.detail == {"join": join.pk, "from": v.pk, "to": sup.pk}
    attempt.refresh_from_db()
    assert attempt.ended_at is not None  # the volunteer is free for the next caller
    # The volunteer's leg ends: the caller stays with the supervisor.
    stops = len(fake_twilio.stopped())
    leg(tw, attempt, "leg-status", CallStatus="completed")
    assert len(fake_twilio.stopped()) == stops
    call.refresh_from_db()
    assert call.state == Call.State.CONNECTED
    # The supervisor hangs up later: the call ends for the caller too.
    join_status(tw, join, "completed")
    assert (A, "completed") in fake_twilio.stopped()


def test_supervisor_who_does_not_answer_gives_the_caller_back_to_the_volunteer(
    scene, tw, fake_twilio
):
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="9")
    join = CallJoin.objects.get()
    join_status(tw, join, "no-answer")
    assert holds(fake_twilio) == [True, False]
    live = attempt.leg_sid
    news = [d for s, d in fake_twilio.participants() if s == live and "AnnounceUrl" in d]
    assert news and news[-1]["AnnounceUrl"].endswith(f"/twilio/voice/transfer-news?join={join.pk}")
    words = tw(news[-1]["AnnounceUrl"].split("testserver")[-1], call_data(live)).content.decode()
    assert "did not answer" in words
    join.refresh_from_db()
    assert join.ended_at is not None and join.handed_over_at is None
    assert AuditLog.objects.filter(action="call.transfer_failed").exists()
    call.refresh_from_db()
    assert call.state == Call.State.CONNECTED and (A, "completed") not in fake_twilio.stopped()
    # A replayed status changes nothing.
    join_status(tw, join, "no-answer")
    assert holds(fake_twilio) == [True, False]


def test_lost_supervisor_status_the_hold_loop_gives_the_caller_back(scene, tw, fake_twilio, clock):
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="9")
    hold_url = f"/twilio/voice/transfer-hold?call={call.pk}"
    words = tw(hold_url, call_data(A)).content.decode()
    assert "stay on the line" in words
    assert holds(fake_twilio) == [True]
    clock.advance(seconds=scene.hotline.ring_timeout + 11)
    tw(hold_url, call_data(A))
    assert holds(fake_twilio) == [True, False]
    assert CallJoin.objects.get().ended_at is not None


def test_star_then_0_or_no_key_goes_back_to_the_caller(scene, tw, fake_twilio):
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    back = leg(tw, attempt, "transfer-key", Digits="0")
    assert f">call-{call.pk}</Conference>" in back and "Back to the caller" in back
    star(tw, attempt)
    back = leg(tw, attempt, "transfer-key")  # the Gather timed out: no key
    assert f">call-{call.pk}</Conference>" in back
    assert holds(fake_twilio) == [True, False, True, False]
    assert not CallJoin.objects.exists()


def test_9_with_no_supervisor_free_says_so_and_returns_to_the_caller(scene, tw, fake_twilio):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    dialled = len(fake_twilio.dialled())
    back = leg(tw, attempt, "transfer-key", Digits="9")
    assert "No supervisor on shift is free" in back and f">call-{call.pk}</Conference>" in back
    assert len(fake_twilio.dialled()) == dialled
    assert holds(fake_twilio) == [True, False]


def test_1_before_the_supervisor_joined_does_not_leave_the_caller(scene, tw, fake_twilio):
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="9")
    menu = star(tw, attempt)
    assert "has not answered yet" in menu and "press 1" not in menu
    back = leg(tw, attempt, "transfer-key", Digits="1")
    assert f">call-{call.pk}</Conference>" in back
    assert CallJoin.objects.get().handed_over_at is None


def test_volunteer_hanging_up_without_a_transfer_tells_the_caller_goodbye(scene, tw, fake_twilio):
    """The volunteer joins with endConferenceOnExit off (for the key sequence): their
    leaving must still end the call for the caller — with the words of volunteer-gone (as
    when the conference's leave event or the sweep finds it), not a silent hang-up."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    leg(tw, attempt, "leg-status", CallStatus="completed")
    assert fake_twilio.read() == [A]  # the caller still there? (a caller gone hears nothing)
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]
    assert (A, "completed") not in fake_twilio.stopped()


def test_volunteer_hanging_up_during_the_consultation_hands_over(scene, tw, fake_twilio):
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="9")
    join = CallJoin.objects.get()
    supervisor_answers(tw, join)
    leg(tw, attempt, "leg-status", CallStatus="completed")
    join.refresh_from_db()
    assert join.handed_over_at is not None
    assert (A, "completed") not in fake_twilio.stopped()
    assert holds(fake_twilio) == [True, False]


def test_dial_action_after_the_caller_hung_up_frees_the_volunteer_at_once(
    scene, tw, fake_twilio, clock
):
    """Before, the volunteer's leg counted as busy until its final status (lost: for
    LEG_LINGER after the call ended); the Dial's action is the leg ending."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    B = "CA" + "2" * 32
    tw("/twilio/voice/incoming", call_data(B))
    tw("/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": B, "Digits": "1"})
    assert fake_twilio.dialled() == [v.phone_number]  # v is on A
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": A})
    bye = star(tw, attempt)  # the conference ended with the caller
    assert "<Hangup" in bye and "<Gather" not in bye
    # Not dialled in the instant the leg is hanging up...
    assert fake_twilio.dialled() == [v.phone_number]
    # ...but at the next look at the queue, well before LEG_LINGER.
    clock.advance(seconds=2)
    b = Call.objects.get(call_sid=B)
    from hotline.calls.queue import hotline_dispatch

    hotline_dispatch(hotline_id=b.hotline_id, now=b.arrived_at + dt.timedelta(seconds=2))
    assert fake_twilio.dialled() == [v.phone_number, v.phone_number]


# --- lost callbacks on a live call: the sweep reads the legs from Twilio ----------------------


def sweep(clock, seconds):
    from hotline.calls.services import calls_sweep

    clock.advance(seconds=seconds)
    return calls_sweep()


def test_lost_volunteer_hang_up_the_sweep_tells_the_caller_and_frees_the_volunteer(
    scene, tw, fake_twilio, clock
):
    """Before, the volunteer's hang-up reached us only through their leg's final status
    callback: lost, the caller sat alone in the conference until they hung up."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    sweep(clock, 30)
    assert fake_twilio.read() == []  # a call is looked at once a minute
    fake_twilio.call_status[attempt.leg_sid] = "completed"  # hung up; the callback is lost
    sweep(clock, 31)
    # Twilio is asked for the caller's call, then the volunteer's leg.
    assert fake_twilio.read() == [A, attempt.leg_sid]
    (_method, uri, data) = fake_twilio.requests[-1]
    assert uri.endswith(f"/Calls/{A}.json")
    assert data["Url"].endswith(f"/twilio/voice/volunteer-gone?call={call.pk}")
    assert (A, "completed") not in fake_twilio.stopped()  # not cut off: told first
    attempt.refresh_from_db()
    assert attempt.ended_at is not None  # the volunteer is free
    words = tw(f"/twilio/voice/volunteer-gone?call={call.pk}", call_data(A)).content.decode()
    assert "Your volunteer is no longer on the call." in words
    assert "please call us back" in words and "120, 110" in words
    assert words.rstrip().endswith("<Hangup /></Response>")
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": A})
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.ANSWERED and call.answered_by_id == v.pk


def test_sweep_leaves_a_live_conversation_alone(scene, tw, fake_twilio, clock):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    sent = len(fake_twilio.requests)
    sweep(clock, 61)
    sweep(clock, 60)
    assert fake_twilio.read() == [A, attempt.leg_sid] * 2  # both in progress
    assert len(fake_twilio.requests) == sent + 4  # reads only: nothing redirected or stopped
    call.refresh_from_db()
    assert call.state == Call.State.CONNECTED


def test_lost_caller_status_the_sweep_ends_the_call(scene, tw, fake_twilio, clock):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    fake_twilio.call_status[A] = "completed"
    sweep(clock, 61)
    assert fake_twilio.read() == [A]
    call.refresh_from_db()
    assert call.state == Call.State.ENDED and call.outcome == Call.Outcome.ANSWERED
    attempt.refresh_from_db()
    assert attempt.ended_at is not None


def test_volunteer_gone_and_supervisor_not_answering_the_caller_is_told(scene, tw, fake_twilio):
    """Before, a volunteer who hung up while the supervisor was being called, and a
    supervisor who then did not answer, left the caller alone in the conference."""
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="9")
    join = CallJoin.objects.get()
    leg(tw, attempt, "leg-status", CallStatus="completed")  # waiting for the supervisor
    assert holds(fake_twilio) == [True, False]
    assert gone_urls(fake_twilio) == []
    join_status(tw, join, "no-answer")
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]


def test_volunteer_gone_and_supervisor_status_lost_the_sweep_tells_the_caller(
    scene, tw, fake_twilio, clock
):
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="9")
    fake_twilio.call_status[attempt.leg_sid] = "completed"
    sweep(clock, 61)  # past the supervisor's ring time: their no-answer callback was lost
    assert gone_urls(fake_twilio) == [f"/twilio/voice/volunteer-gone?call={call.pk}"]
    assert CallJoin.objects.get().ended_at is not None


def gone_urls(fake_twilio):
    return [
        d["Url"].removeprefix("http://testserver")
        for m, u, d in fake_twilio.requests
        if "/Calls/" in u and "volunteer-gone" in d.get("Url", "")
    ]
