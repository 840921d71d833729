"""The queue that waits for people (hotline/calls/queue.py), through the signed webhooks:
callers wait while everyone who fits is busy, are offered to whoever comes free (oldest
caller first, one caller per volunteer), tiers are re-checked at every batch, voicemail
says why, and a volunteer's leg counts as busy until Twilio says it ended."""

import datetime as dt

from hotline.calls.services import calls_sweep
from hotline.models import Call, CallAttempt
from tests.support.twilio import call_data, fixture

A = "CA" + "1" * 32
B = "CA" + "2" * 32
C = "CA" + "3" * 32
D = "CA" + "4" * 32


def start(tw, digits="1", sid=A):
    assert tw("/twilio/voice/incoming", call_data(sid)).status_code == 200
    data = {**fixture("voice-gather-digits"), "CallSid": sid, "Digits": digits}
    return tw("/twilio/voice/menu", data)


def leg(tw, attempt, path, **kw):
    data = fixture("voice-screen-answer")
    data["CallSid"] = attempt.leg_sid or "CA" + "9" * 32
    data["To"] = attempt.volunteer.phone_number
    data.update(kw)
    return tw(f"/twilio/voice/{path}?attempt={attempt.pk}", data)


def hang_up(tw, sid):
    return tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": sid})


def call_ends(tw, sid):
    """The caller hangs up; the volunteer's leg sends its final status."""
    hang_up(tw, sid)
    accepted = CallAttempt.objects.select_related("volunteer").get(
        call__call_sid=sid, result=CallAttempt.Result.ACCEPTED
    )
    leg(tw, accepted, "leg-status", CallStatus="completed")


def hold(tw, sid):
    call = Call.objects.get(call_sid=sid)
    return tw(f"/twilio/voice/hold?call={call.pk}", call_data(sid)).content.decode()


def offers(sid):
    return list(
        CallAttempt.objects.filter(call__call_sid=sid).select_related("volunteer").order_by("id")
    )


def open_offer(sid):
    return CallAttempt.objects.select_related("volunteer").get(
        call__call_sid=sid, result=CallAttempt.Result.PENDING
    )


def talking(tw, sid=A):
    """Caller `sid` is put through to the first volunteer offered."""
    start(tw, "1", sid)
    offer = offers(sid)[0]
    leg(tw, offer, "offer")
    assert "<Dial" in leg(tw, offer, "accept", Digits="1").content.decode()
    return offer


def state(sid):
    call = Call.objects.get(call_sid=sid)
    return call.state, call.voicemail_reason


# --- waiting instead of voicemail ------------------------------------------------------------


def test_caller_waits_while_everyone_is_busy_and_is_offered_when_a_call_ends(
    scene, tw, fake_twilio
):
    v = scene.on_shift("counsellor")
    talking(tw, A)
    r = start(tw, "1", B)
    assert "<Enqueue" in r.content.decode()
    assert state(B) == ("ringing", "")  # waiting, not voicemail
    assert fake_twilio.dialled() == [v.phone_number]
    words = hold(tw, B)
    assert "talking to other callers" in words and "next in line" in words
    assert "120, 110" in words and "press any key" in words
    hang_up(tw, A)
    assert fake_twilio.dialled() == [v.phone_number]  # v's phone is still on A's leg
    accepted = offers(A)[0]
    leg(tw, accepted, "leg-status", CallStatus="completed")
    # The seat comes free at once: no waiting for the sweep.
    assert fake_twilio.dialled() == [v.phone_number, v.phone_number]
    assert open_offer(B).volunteer == v


def test_hold_words_say_how_many_wait_before_and_emergency_numbers_every_minute(scene, tw, clock):
    scene.on_shift("counsellor")
    talking(tw, A)
    start(tw, "1", B)
    start(tw, "1", C)
    assert "1 caller is waiting before you" in hold(tw, C)
    clock.advance(seconds=30)
    assert "120, 110" not in hold(tw, C)
    clock.advance(seconds=30)
    assert "120, 110" in hold(tw, C)


def test_declined_leg_frees_its_seat_for_the_next_caller_at_once(scene, tw, fake_twilio):
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    talking(tw, A)  # v
    start(tw, "1", B)  # w rung
    assert open_offer(B).volunteer == w
    start(tw, "1", C)  # nobody free: waits
    assert fake_twilio.dialled() == [v.phone_number, w.phone_number]
    offer = open_offer(B)
    leg(tw, offer, "offer")
    leg(tw, offer, "accept", Digits="2")  # w declines B
    leg(tw, offer, "leg-status", CallStatus="completed")
    # w is offered C (never B again); B keeps waiting for v.
    assert open_offer(C).volunteer == w
    assert state(B) == ("ringing", "")


def test_longest_waiting_caller_is_offered_first(scene, tw, fake_twilio, clock):
    v = scene.on_shift("counsellor")
    talking(tw, A)
    clock.advance(seconds=5)
    start(tw, "1", B)
    clock.advance(seconds=5)
    start(tw, "1", C)
    call_ends(tw, A)
    assert open_offer(B).volunteer == v
    assert not CallAttempt.objects.filter(call__call_sid=C).exists()


def test_each_volunteer_is_offered_one_caller_and_callers_share_free_volunteers(
    scene, tw, fake_twilio
):
    """Batches of three used to reserve every free volunteer for the first caller and send
    the second to voicemail."""
    scene.hotline.ring_batch_size = 3
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, "1", A)
    assert len(offers(A)) == 2  # alone: both rung for the first caller
    start(tw, "1", B)
    assert state(B) == ("ringing", "")
    # A's first answer cancels the other leg; when its final status comes, B gets it.
    first = offers(A)[0]
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")
    other = offers(A)[1]
    leg(tw, other, "leg-status", CallStatus="canceled")
    assert open_offer(B).volunteer == other.volunteer
    pending = CallAttempt.objects.filter(result=CallAttempt.Result.PENDING)
    assert pending.count() == 1
    assert {v, w} == {first.volunteer, other.volunteer}


def test_two_callers_get_one_free_volunteer_each(scene, tw, fake_twilio):
    scene.hotline.ring_batch_size = 3
    scene.hotline.save()
    x = scene.on_shift("counsellor")
    talking(tw, A)  # x busy
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, "1", B)
    start(tw, "1", C)
    # B took both free volunteers; C waits: then B's answer frees the other for C.
    assert {o.volunteer for o in offers(B)} == {v, w} and not offers(C)
    call_ends(tw, A)  # x comes free: offered to C, not to B (already ringing two)
    assert open_offer(C).volunteer == x


# --- voicemail reasons and words -------------------------------------------------------------


def test_wait_limit_sends_to_voicemail_with_its_own_words(scene, tw, fake_twilio, clock):
    scene.hotline.max_queue_seconds = 60
    scene.hotline.save()
    scene.on_shift("counsellor")
    talking(tw, A)
    start(tw, "1", B)
    clock.advance(seconds=59)
    assert "<Leave" not in hold(tw, B)
    clock.advance(seconds=16)
    assert "<Leave" in hold(tw, B)
    assert state(B) == ("voicemail", "all_busy_timeout")
    call = Call.objects.get(call_sid=B)
    body = tw(
        f"/twilio/voice/queue-done?call={call.pk}", {**call_data(B), "QueueResult": "leave"}
    ).content.decode()
    assert "still talking to other callers" in body and "press 1" in body


def test_caller_presses_a_key_while_waiting_to_leave_a_message(scene, tw, fake_twilio):
    scene.on_shift("counsellor")
    talking(tw, A)
    start(tw, "1", B)
    call = Call.objects.get(call_sid=B)
    data = {**call_data(B), "Digits": "5"}
    r = tw(f"/twilio/voice/hold-key?call={call.pk}", data)
    assert "<Leave" in r.content.decode()
    assert state(B) == ("voicemail", "caller_chose")
    body = tw(
        f"/twilio/voice/queue-done?call={call.pk}", {**call_data(B), "QueueResult": "leave"}
    ).content.decode()
    assert "leave us a message" in body
    hang_up(tw, B)
    assert Call.objects.get(call_sid=B).outcome == Call.Outcome.MISSED


def test_nobody_on_shift_for_the_service_is_told_so(scene, tw, fake_twilio):
    scene.on_shift("counsellor")
    r = start(tw, "2", A)  # family education: nobody on shift, no supervisor
    assert state(A) == ("voicemail", "nobody_on_shift")
    assert "No volunteer for this service is on duty" in r.content.decode()
    assert fake_twilio.dialled() == []


def test_nobody_answered_once_everyone_on_shift_was_rung(scene, tw, fake_twilio):
    v = scene.on_shift("counsellor")
    start(tw, "1", A)
    leg(tw, open_offer(A), "leg-status", CallStatus="no-answer")
    assert state(A) == ("voicemail", "nobody_answered")
    assert fake_twilio.dialled() == [v.phone_number]
    assert A in fake_twilio.redirected()


def test_out_of_hours_reason_is_closed(scene, tw, clock):
    from tests.support import factories as f

    clock.set(f.at(2026, 3, 2, 15))
    r = tw("/twilio/voice/incoming", call_data(A))
    assert state(A) == ("voicemail", "closed") and "closed" in r.content.decode()


# --- tiers --------------------------------------------------------------------------------------


def test_supervisor_rung_after_a_ring_then_counsellor_who_comes_free(scene, tw, fake_twilio, clock):
    """Once a call reached the supervisors it went on to voicemail, however many
    counsellors came free meanwhile."""
    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    talking(tw, A)  # v busy
    start(tw, "1", B)
    assert not offers(B)  # the counsellors' tier first: nobody rung yet
    clock.advance(seconds=scene.hotline.ring_timeout)
    hold(tw, B)  # past its next check: looked at again
    clock.advance(seconds=16)
    hold(tw, B)
    assert open_offer(B).volunteer == sup and open_offer(B).tier == "supervisors"
    leg(tw, open_offer(B), "leg-status", CallStatus="no-answer")
    assert state(B) == ("ringing", "")  # v is still on shift: keep waiting
    call_ends(tw, A)
    offer = open_offer(B)
    assert offer.volunteer == v and offer.tier == "volunteers"
    assert Call.objects.get(call_sid=B).ring_tier == "volunteers"
    assert fake_twilio.dialled()[-1] == v.phone_number


# --- leg state that cannot lie ----------------------------------------------------------------


def test_leg_answered_as_it_was_cancelled_is_hung_up_and_keeps_the_volunteer_busy(
    scene, tw, fake_twilio
):
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, "1", A)
    first, second = offers(A)
    leg(tw, second, "leg-status", CallStatus="ringing")
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")
    # We read "ringing" and sent `canceled`; w had answered that instant.
    assert (second.leg_sid, "canceled") in fake_twilio.stopped()
    leg(tw, second, "leg-status", CallStatus="in-progress")
    assert (second.leg_sid, "completed") in fake_twilio.stopped()
    # w's phone is still on that leg: the next caller does not ring w yet.
    start(tw, "1", B)
    assert fake_twilio.dialled().count(w.phone_number) == 1
    assert state(B) == ("ringing", "")
    leg(tw, second, "leg-status", CallStatus="completed")
    assert fake_twilio.dialled().count(w.phone_number) == 2
    assert open_offer(B).volunteer == w
    assert v != w


def test_answering_a_taken_call_offers_the_next_waiting_caller_on_the_same_leg(
    scene, tw, fake_twilio
):
    x = scene.on_shift("counsellor")
    talking(tw, A)  # x busy
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, "1", B)  # v and w rung for B
    start(tw, "1", C)  # waits
    first, second = offers(B)
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")
    # w answers in that instant: "taken", and C is offered on the same leg.
    body = leg(tw, second, "offer").content.decode()
    assert "This caller has been taken. Another caller is waiting." in body
    reoffer = open_offer(C)
    assert reoffer.volunteer == second.volunteer and reoffer.leg_of_id == second.pk
    assert f"/twilio/voice/accept?attempt={reoffer.pk}" in body
    r = leg(tw, reoffer, "accept", Digits="1")
    assert f">call-{reoffer.call_id}</Conference>" in r.content.decode()
    assert Call.objects.get(call_sid=C).answered_by == second.volunteer
    assert len(fake_twilio.dialled()) == 3  # no new dial for C
    assert {x, v, w} == {offers(A)[0].volunteer, first.volunteer, second.volunteer}


def test_answering_a_taken_call_with_nobody_waiting_hears_taken(scene, tw):
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    start(tw, "1", A)
    first, second = offers(A)
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")
    body = leg(tw, second, "offer").content.decode()
    assert "This caller has been taken" in body and "<Hangup" in body


# --- faults -----------------------------------------------------------------------------------


def test_lost_leg_callback_costs_one_ring_timeout(scene, tw, fake_twilio, clock):
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, "1", A)
    # The leg's callbacks never come. The hold loop gives the offer up after the ring time.
    clock.advance(seconds=scene.hotline.ring_timeout + 15)
    hold(tw, A)
    assert open_offer(A).volunteer == w
    assert state(A) == ("ringing", "")


def test_an_unanswered_leg_whose_status_is_lost_is_read_2_s_after_its_ring_time(
    scene, tw, fake_twilio, clock
):
    """The no-answer callback is lost: 2 s past the ring time the caller's next look reads
    the leg from Twilio — no answer — and the next volunteer is rung then, not once the
    grace for a late callback has passed (3 s later)."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, "1", A)
    first = open_offer(A)
    assert first.volunteer == v
    arrived = Call.objects.get(call_sid=A).arrived_at
    clock.advance(seconds=scene.hotline.ring_timeout + 1)
    hold(tw, A)
    assert reads(fake_twilio) == []  # not yet due
    due = arrived + dt.timedelta(seconds=scene.hotline.ring_timeout + 2)
    assert Call.objects.get(call_sid=A).batch_deadline == due
    fake_twilio.call_status[first.leg_sid] = "no-answer"
    clock.advance(seconds=1)
    hold(tw, A)
    assert reads(fake_twilio) == [first.leg_sid]
    assert CallAttempt.objects.get(pk=first.pk).result == "no-answer"
    assert open_offer(A).volunteer == w


def test_failed_dial_moves_on_at_once(scene, tw, fake_twilio):
    bad = scene.on_shift("counsellor")
    good = scene.on_shift("counsellor")
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    fake_twilio.fail[bad.phone_number] = 500
    start(tw, "1", A)
    assert open_offer(A).volunteer == good
    assert CallAttempt.objects.get(volunteer=bad).result == "failed"


def test_sweep_offers_a_caller_whose_process_died_before_dispatching(
    scene, tw, fake_twilio, clock, monkeypatch
):
    """The process that queued the caller died before offering them to anyone: the call
    is a row in the queue, and the sweep (or the caller's hold loop) picks it up."""
    from hotline.calls import services

    v = scene.on_shift("counsellor")

    def died(**kw):
        raise SystemError("worker killed")

    with monkeypatch.context() as patched:
        patched.setattr(services, "hotline_dispatch", died)
        start(tw, "1", A)
    assert state(A) == ("ringing", "") and fake_twilio.dialled() == []
    assert calls_sweep() == 1
    assert open_offer(A).volunteer == v


def test_no_wait_limit_still_rings_whoever_is_free_and_never_waits_for_the_busy(
    scene, tw, fake_twilio
):
    scene.hotline.max_queue_seconds = 0
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    start(tw, "1", A)
    assert open_offer(A).volunteer == v  # free: rung, whatever the limit
    start(tw, "1", B)
    assert state(B) == ("voicemail", "all_busy_timeout")


# --- ringing enough phones, soon enough -----------------------------------------------------


def test_phones_ringing_unanswered_get_one_more_each_stagger(scene, tw, fake_twilio, clock):
    """Before, a caller whose phones were not picked up waited a whole ring time (20 s, and
    more when the no-answer callback was lost) before another phone rang."""
    from hotline.calls import queue

    scene.hotline.ring_batch_size = 2
    scene.hotline.save()
    people = [scene.on_shift("counsellor") for _ in range(5)]
    start(tw, "1", A)
    assert len(fake_twilio.dialled()) == 2
    call = Call.objects.get(call_sid=A)
    # The next look is planned for the stagger, not the ring time.
    assert call.batch_deadline == call.arrived_at + queue.STAGGER
    clock.advance(seconds=queue.STAGGER.total_seconds())
    hold(tw, A)
    assert len(fake_twilio.dialled()) == 3
    clock.advance(seconds=queue.STAGGER.total_seconds())
    hold(tw, A)
    # At most ring_batch_size - 1 more than the batch (here: 1).
    assert len(fake_twilio.dialled()) == 3
    assert len({a.volunteer for a in offers(A)}) == 3 and {a.volunteer for a in offers(A)} < {
        *people
    }


def test_no_more_phones_once_one_is_answered(scene, tw, fake_twilio, clock):
    from hotline.calls import queue

    scene.hotline.ring_batch_size = 2
    scene.hotline.save()
    for _ in range(4):
        scene.on_shift("counsellor")
    start(tw, "1", A)
    leg(tw, offers(A)[0], "offer")  # answered: hearing the whisper
    clock.advance(seconds=queue.STAGGER.total_seconds())
    hold(tw, A)
    assert len(fake_twilio.dialled()) == 2


def test_supervisor_rung_after_a_few_seconds_not_a_whole_ring(scene, tw, fake_twilio, clock):
    from hotline.calls import queue

    scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    talking(tw, A)  # the only counsellor is busy
    start(tw, "1", B)
    assert not offers(B)
    call = Call.objects.get(call_sid=B)
    assert call.batch_deadline == call.arrived_at + queue.SUPERVISOR_AFTER
    clock.advance(seconds=queue.SUPERVISOR_AFTER.total_seconds())
    hold(tw, B)
    assert open_offer(B).volunteer == sup and open_offer(B).tier == "supervisors"


def test_supervisor_added_to_an_unanswered_counsellors_phone(scene, tw, fake_twilio, clock):
    """Before, a caller whose one free counsellor's phone rang unanswered reached the
    supervisor only after that phone's ring time."""
    from hotline.calls import queue

    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    start(tw, "1", A)
    assert fake_twilio.dialled() == [v.phone_number]
    clock.advance(seconds=queue.SUPERVISOR_AFTER.total_seconds())
    hold(tw, A)
    assert fake_twilio.dialled() == [v.phone_number, sup.phone_number]
    assert sorted(a.tier for a in offers(A)) == ["supervisors", "volunteers"]


def test_counsellor_who_comes_free_is_rung_while_the_supervisors_phone_rings(
    scene, tw, fake_twilio, clock
):
    """Tiers re-evaluated at every pick: before, while a supervisor's phone rang for the
    caller, a counsellor who came free was not rung until it stopped."""

    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    talking(tw, A)
    start(tw, "1", B)
    clock.advance(seconds=scene.hotline.ring_timeout)
    hold(tw, B)
    assert open_offer(B).volunteer == sup
    call_ends(tw, A)  # v is free
    assert fake_twilio.dialled()[-1] == v.phone_number
    assert {a.volunteer for a in offers(B)} == {v, sup}


# --- a phone that rang unanswered is rung again while the caller waits --------------------


def _missed(tw, sid):
    """The phone ringing for caller `sid` rings out: no answer."""
    offer = open_offer(sid)
    leg(tw, offer, "leg-status", CallStatus="no-answer")
    return offer.volunteer


def test_volunteer_whose_phone_rang_unanswered_is_rung_again_for_a_caller_still_waiting(
    scene, tw, fake_twilio, clock
):
    """Before, a volunteer was offered a caller once: a family caller whose free expert
    missed the ring waited with no phone ringing until another expert finished a call,
    while the one who missed it sat by a silent phone."""
    from hotline.calls import queue

    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    talking(tw, A)  # v
    start(tw, "1", B)
    assert _missed(tw, B) == w
    assert state(B) == ("ringing", "")  # v may still come free: B waits
    missed_at = clock.now
    clock.advance(seconds=queue.RETRY_AFTER.total_seconds() - 1)
    hold(tw, B)
    assert fake_twilio.dialled() == [v.phone_number, w.phone_number]
    # The next look is when w may be rung again: the hold loop asks then.
    assert Call.objects.get(call_sid=B).batch_deadline == missed_at + queue.RETRY_AFTER
    clock.advance(seconds=1)
    hold(tw, B)
    assert fake_twilio.dialled() == [v.phone_number, w.phone_number, w.phone_number]
    assert open_offer(B).volunteer == w
    # Missed a second time: once more is enough; B waits for v.
    _missed(tw, B)
    clock.advance(seconds=queue.RETRY_AFTER.total_seconds() * 3)
    hold(tw, B)
    assert len(fake_twilio.dialled()) == 3
    assert state(B) == ("ringing", "")
    call_ends(tw, A)
    assert open_offer(B).volunteer == v


def test_a_supervisor_who_missed_a_caller_is_rung_again_while_the_counsellors_talk(
    scene, tw, fake_twilio, clock
):
    from hotline.calls import queue

    scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    talking(tw, A)
    start(tw, "1", B)
    clock.advance(seconds=queue.SUPERVISOR_AFTER.total_seconds())
    hold(tw, B)
    assert _missed(tw, B) == sup
    clock.advance(seconds=queue.RETRY_AFTER.total_seconds())
    hold(tw, B)
    again = open_offer(B)
    assert again.volunteer == sup and again.tier == "supervisors"
    assert fake_twilio.dialled().count(sup.phone_number) == 2


def test_volunteer_who_declined_a_caller_is_not_rung_for_them_again(scene, tw, fake_twilio, clock):
    from hotline.calls import queue

    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    talking(tw, A)
    start(tw, "1", B)
    offer = open_offer(B)
    assert offer.volunteer == w
    leg(tw, offer, "offer")
    leg(tw, offer, "accept", Digits="2")  # w says no
    leg(tw, offer, "leg-status", CallStatus="completed")
    clock.advance(seconds=queue.RETRY_AFTER.total_seconds() * 2)
    hold(tw, B)
    assert [a.volunteer for a in offers(B)] == [w]
    assert state(B) == ("ringing", "")


def test_a_supervisor_not_yet_tried_comes_before_a_second_ring_for_a_counsellor(
    scene, tw, fake_twilio, clock
):
    from hotline.calls import queue

    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    talking(tw, C)  # the other counsellor
    start(tw, "1", B)
    assert _missed(tw, B) == w
    # Both are due when B is next looked at: the supervisor's turn and w's second ring.
    clock.advance(seconds=queue.RETRY_AFTER.total_seconds())
    hold(tw, B)
    assert open_offer(B).volunteer == sup
    assert [a.volunteer for a in offers(B)] == [w, sup]


# --- the hold loop comes back when the caller's next check is due -------------------------


def test_hold_loop_quiet_rounds_end_when_the_callers_next_check_is_due(scene, tw, clock):
    """Before, every round said the words and listened 6 s: Twilio asked again about every
    15 s whatever was due, so a seat freed without a callback waited for that."""
    scene.on_shift("counsellor")
    talking(tw, A)
    start(tw, "1", B)  # waits; looked at again after RECHECK (15 s)
    words = hold(tw, B)
    assert "next in line" in words and 'timeout="1"' in words
    clock.advance(seconds=12)
    quiet = hold(tw, B)
    assert "<Say" not in quiet and 'timeout="3"' in quiet  # until the next check
    assert f"/twilio/voice/hold-key?call={Call.objects.get(call_sid=B).pk}" in quiet
    clock.advance(seconds=1)
    assert 'timeout="2"' in hold(tw, B)
    clock.advance(seconds=2)
    assert "next in line" in hold(tw, B)  # 15 s since the words: again


def test_volunteer_freed_by_the_dial_action_is_offered_at_the_next_hold_round(
    scene, tw, fake_twilio, clock
):
    """The caller hung up and the volunteer's leg's final status is lost: the Dial's action
    (the leg hanging up) makes the waiting callers due a look, so the next hold round of
    any of them offers the seat — before, only their check after RECHECK did."""
    v = scene.on_shift("counsellor")
    talking(tw, A)
    start(tw, "1", B)
    hold(tw, B)
    clock.advance(seconds=2)
    hang_up(tw, A)
    accepted = offers(A)[0]
    assert "<Hangup" in leg(tw, accepted, "dial-done", DialCallStatus="completed").content.decode()
    assert fake_twilio.dialled() == [v.phone_number]  # not in the instant the leg hangs up
    clock.advance(seconds=1)
    assert "<Say" not in hold(tw, B)  # a quiet round; the queue was looked at
    assert fake_twilio.dialled() == [v.phone_number, v.phone_number]
    assert open_offer(B).volunteer == v


def test_volunteer_on_a_caller_offered_on_their_answered_phone_is_freed_by_the_dial_action(
    scene, tw, fake_twilio, clock
):
    """w answered a phone whose caller (B) was taken meanwhile and took C on it instead (a
    re-offer on the same leg). C hangs up and the leg's final status is lost: the Dial's
    action frees w as it frees any volunteer, so D's next hold round rings w. Before, w
    counted busy for LEG_LINGER: their phone is the first offer's leg, left answered. A's
    volunteer, whose caller hung up too but whose leg has not said it ended, is not rung
    (kills leg_conference_over 37, every such leg marked ended)."""
    scene.on_shift("counsellor")
    talking(tw, A)
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    start(tw, "1", B)
    start(tw, "1", C)
    first, second = offers(B)
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")  # first takes B; second's phone is cancelled...
    assert "Another caller is waiting" in leg(tw, second, "offer").content.decode()  # ...answered
    reoffer = open_offer(C)
    assert reoffer.leg_of_id == second.pk
    assert "<Dial" in leg(tw, reoffer, "accept", Digits="1").content.decode()
    start(tw, "1", D)
    clock.advance(seconds=30)
    hang_up(tw, A)
    hang_up(tw, C)
    assert "<Hangup" in leg(tw, reoffer, "dial-done", DialCallStatus="completed").content.decode()
    clock.advance(seconds=1)
    fake_twilio.requests.clear()
    hold(tw, D)
    assert fake_twilio.dialled() == [second.volunteer.phone_number]
    assert open_offer(D).volunteer == second.volunteer


def _cancelled_as_it_rang(scene, tw):
    """Caller A taken by the first of two phones, the other cancelled as it rang; caller B
    waits, with nobody free. Returns the cancelled offer."""
    scene.hotline.ring_batch_size = 2
    scene.hotline.save()
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    start(tw, "1", A)
    first, second = offers(A)
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")  # the other phone is cancelled as it rings
    start(tw, "1", B)
    return second


def stops_of(fake_twilio, sid) -> list[str]:
    """What we asked Twilio to do to leg `sid`: "canceled", "completed", in order."""
    return [status for leg_sid, status in fake_twilio.stopped() if leg_sid == sid]


def reads(fake_twilio) -> list[str]:
    """The call SIDs read from Twilio's REST API (GET /Calls/<sid>), in order."""
    return [
        uri.rsplit("/", 1)[-1].removesuffix(".json")
        for method, uri, _ in fake_twilio.requests
        if method == "GET" and "/Calls/CA" in uri
    ]


def test_seat_of_a_cancelled_leg_whose_status_is_lost_is_read_from_twilio(
    scene, tw, fake_twilio, clock
):
    """A leg we cancelled while it rang counts its volunteer busy until its final status
    comes. Lost, the waiting caller's next look, 2 s on (LEG_READ_AFTER), reads the leg
    from Twilio: cancelled, so its volunteer is rung for B at once — not 5 s on, when the
    leg would stop counting (CANCEL_LINGER). Each leg is read once."""
    cancelled = _cancelled_as_it_rang(scene, tw)
    assert len(fake_twilio.dialled()) == 2  # nobody free for B
    b = Call.objects.get(call_sid=B)
    assert (b.batch_deadline - b.arrived_at).total_seconds() == 2
    fake_twilio.call_status[cancelled.leg_sid] = "canceled"
    clock.advance(seconds=2)
    hold(tw, B)
    assert reads(fake_twilio) == [cancelled.leg_sid]
    assert fake_twilio.dialled()[-1] == cancelled.volunteer.phone_number
    assert CallAttempt.objects.get(pk=cancelled.pk).leg_status == "canceled"
    assert offers(B)[0].volunteer == cancelled.volunteer
    clock.advance(seconds=3)
    hold(tw, B)
    assert reads(fake_twilio) == [cancelled.leg_sid]


def test_a_cancelled_leg_read_as_answered_is_hung_up_and_its_volunteer_stays_busy(
    scene, tw, fake_twilio, clock
):
    """Read 2 s after we cancelled it, the leg is in progress: answered in the instant we
    cancelled it (Twilio ignores a cancel then). It is hung up with `completed`, and its
    volunteer — on that phone call until its final status — is not rung for B."""
    cancelled = _cancelled_as_it_rang(scene, tw)
    clock.advance(seconds=2)
    hold(tw, B)  # Twilio reads the leg in progress (the fake's default)
    assert reads(fake_twilio) == [cancelled.leg_sid]
    assert stops_of(fake_twilio, cancelled.leg_sid) == ["canceled", "completed"]
    assert len(fake_twilio.dialled()) == 2
    assert not offers(B)
    clock.advance(seconds=3)
    hold(tw, B)
    assert reads(fake_twilio) == [cancelled.leg_sid]  # once
    # Its final status frees the seat.
    leg(tw, cancelled, "leg-status", CallStatus="completed")
    assert fake_twilio.dialled()[-1] == cancelled.volunteer.phone_number


def test_an_answered_leg_we_hung_up_whose_status_is_lost_is_read_from_twilio(
    scene, tw, fake_twilio, clock
):
    """Both phones answered for A; the first volunteer pressed 1 and the other's leg was
    hung up (`completed`). Its final status is lost: B, waiting with nobody free, is looked
    at 2 s on, the leg is read — completed — and that volunteer is rung for B then, not
    when the leg would stop counting them busy (LEG_LINGER, 30 s)."""
    scene.hotline.ring_batch_size = 2
    scene.hotline.save()
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    start(tw, "1", A)
    first, second = offers(A)
    leg(tw, first, "offer")
    leg(tw, second, "offer")  # its whisper plays
    leg(tw, first, "accept", Digits="1")
    assert stops_of(fake_twilio, second.leg_sid) == ["completed"]
    start(tw, "1", B)
    assert len(fake_twilio.dialled()) == 2
    b = Call.objects.get(call_sid=B)
    assert (b.batch_deadline - b.arrived_at).total_seconds() == 2
    fake_twilio.call_status[second.leg_sid] = "completed"
    clock.advance(seconds=2)
    hold(tw, B)
    assert reads(fake_twilio) == [second.leg_sid]
    assert fake_twilio.dialled()[-1] == second.volunteer.phone_number
    assert offers(B)[0].volunteer == second.volunteer


def test_legs_whose_final_status_came_are_not_read(scene, tw, fake_twilio, clock):
    """A read stands in for a lost callback only: the no-answer that came in time, and a
    cancel that came in time, are never read — not even once their volunteer is busy
    again and a caller waits with nobody free."""
    scene.hotline.ring_batch_size = 2
    scene.hotline.save()
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    start(tw, "1", A)
    first, second = offers(A)
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")
    leg(tw, second, "leg-status", CallStatus="canceled")  # its cancel, in time
    start(tw, "1", B)  # second's volunteer rung for B, and nobody else free
    (for_b,) = offers(B)
    assert for_b.volunteer == second.volunteer
    clock.advance(seconds=3)
    start(tw, "1", C)  # nobody free for C either
    assert reads(fake_twilio) == []
    clock.advance(seconds=scene.hotline.ring_timeout - 3)
    leg(tw, for_b, "leg-status", CallStatus="no-answer")  # at its ring time, in time too
    for _ in range(6):
        clock.advance(seconds=5)
        hold(tw, B)
        hold(tw, C)
    assert reads(fake_twilio) == []


def test_a_stopped_leg_is_read_only_when_a_caller_could_use_its_volunteer(
    scene, tw, fake_twilio, clock
):
    """v heard A's whisper when A hung up, so v's leg was hung up, and its final status is
    lost. B waits with x's phone ringing — all B may have: x's leg, past its ring time
    with no callback, is read; v's is not, as no caller has a phone to spare for v."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    x = scene.on_shift("counsellor")
    start(tw, "1", A)
    first = open_offer(A)
    assert first.volunteer == v
    leg(tw, first, "offer")  # the whisper plays
    hang_up(tw, A)
    assert stops_of(fake_twilio, first.leg_sid) == ["completed"]
    start(tw, "1", B)
    for_b = open_offer(B)
    assert for_b.volunteer == x
    clock.advance(seconds=scene.hotline.ring_timeout + 2)
    hold(tw, B)  # x's leg reads in progress: answered in the last second
    assert reads(fake_twilio) == [for_b.leg_sid]


def test_a_cancelled_leg_that_cannot_be_read_stops_counting_after_5_s(
    scene, tw, fake_twilio, clock, monkeypatch
):
    """Twilio cannot be read: the leg counts its volunteer busy for 5 s after we cancelled
    it (CANCEL_LINGER), and B is looked at again then (not after RECHECK)."""
    from hotline.telephony import client as twilio_api

    monkeypatch.setattr(twilio_api, "call_status", lambda sid: None)
    cancelled = _cancelled_as_it_rang(scene, tw)
    clock.advance(seconds=2)
    hold(tw, B)
    assert len(fake_twilio.dialled()) == 2
    b = Call.objects.get(call_sid=B)
    assert (b.batch_deadline - b.arrived_at).total_seconds() == 5
    clock.advance(seconds=3)
    hold(tw, B)
    assert fake_twilio.dialled()[-1] == cancelled.volunteer.phone_number


# --- a supervisor in a live call's conference is busy -------------------------------------


def _listening(scene, tw, clock, supervisor, sid=A):
    """`supervisor` has joined caller `sid`'s live call from the escalation page, muted."""
    from hotline.calls import conference
    from tests.hotline.calls.test_transfer import supervisor_answers

    join = conference.call_join(
        call=Call.objects.get(call_sid=sid),
        volunteer=supervisor,
        mode="listen",
        by=supervisor.user,
        now=clock.now,
        why="escalation",
    )
    supervisor_answers(tw, join)
    return join


def test_a_supervisor_listening_in_on_a_call_is_not_rung_for_a_waiting_caller(
    scene, tw, fake_twilio, clock
):
    """Before, only an accepted offer made a supervisor busy: one listening in on a crisis
    call was rung for the next caller as soon as the counsellors were all busy."""
    from hotline.calls import queue

    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    talking(tw, A)  # v
    _listening(scene, tw, clock, sup)
    start(tw, "1", B)
    clock.advance(seconds=queue.SUPERVISOR_AFTER.total_seconds() + 1)
    hold(tw, B)
    assert fake_twilio.dialled().count(sup.phone_number) == 1  # the join's own leg
    assert not offers(B)
    assert state(B) == ("ringing", "")
    # The call ends: the supervisor, out of the conference with it, is free for B (and
    # so is v, once their leg has ended).
    hang_up(tw, A)
    assert [a.volunteer for a in offers(B)] == [sup]
    assert v.phone_number not in fake_twilio.dialled()[1:]


def test_bringing_in_the_supervisor_passes_over_one_already_listening_in(
    scene, tw, fake_twilio, client, clock
):
    """Before, "Bring in the supervisor" could ring the supervisor already listening in on
    that very call (or on another one)."""
    from hotline.models import CallJoin, RingRotation

    scene.on_shift("counsellor")
    listening = scene.on_shift("supervisor")
    free = scene.on_shift("supervisor")
    offer = talking(tw, A)
    # The listening supervisor has waited longest since their last offer: first in rotation.
    RingRotation.objects.create(volunteer=listening, last_offered_at=clock.now.replace(year=2020))
    RingRotation.objects.create(volunteer=free, last_offered_at=clock.now)
    _listening(scene, tw, clock, listening)
    client.force_login(offer.volunteer.user)
    client.post(f"/calls/{offer.call_id}/supervisor/")
    joined = [j.volunteer for j in CallJoin.objects.order_by("pk")]
    assert joined == [listening, free]
    assert fake_twilio.dialled()[-1] == free.phone_number
