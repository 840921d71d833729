"""Queue behaviours a `make mutants` run of hotline/calls/queue.py found unpinned (issue 19):
what happens to the phones still ringing for a caller who leaves the queue or whose batch
is given up, and what a volunteer who answers a phone whose caller was taken meanwhile is
offered instead. Each test names the surviving mutants it kills (`hotline.calls.queue.x_…`);
each was rechecked with `bin/mutants.py --recheck queue` (docs/testing.md). The leg_reoffer
numbers are those of the code before the re-offer's preference fix."""

import datetime as dt
import json

from twilio.http.response import Response

from hotline.calls import queue
from hotline.calls.services import call_advance, calls_sweep
from hotline.models import Call, CallAttempt, RingRotation
from tests.hotline.calls.test_queue import (
    A,
    B,
    C,
    _missed,
    hang_up,
    hold,
    leg,
    offers,
    open_offer,
    start,
    state,
    talking,
)
from tests.support import factories as f
from tests.support.twilio import call_data

D = "CA" + "4" * 32


def attempt(sid, volunteer):
    return CallAttempt.objects.select_related("volunteer").get(
        call__call_sid=sid, volunteer=volunteer
    )


# --- a caller who stops waiting while phones ring for them -------------------------------------


def test_caller_who_leaves_the_queue_stops_only_their_own_ringing_phones(
    scene, tw, fake_twilio, clock
):
    """The answered phone is hung up, the ringing one cancelled, both offers closed at that
    moment; an offer the volunteer already declined keeps its answer, and another caller's
    ringing phone is left alone. Kills _close_offers 6–12, 19–22, 24–26 and
    call_leave_queue 10, 19, 20, 23–26, 28–30."""
    scene.hotline.ring_batch_size = 3
    scene.hotline.save()
    u, v, w = (scene.on_shift("counsellor") for _ in range(3))
    start(tw, "1", A)  # u, v, w rung for A
    first, second, third = offers(A)
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="2")  # the first declines (their leg is still up)
    leg(tw, second, "offer")  # the second is hearing the whisper
    x = scene.on_shift("counsellor")
    start(tw, "1", B)  # x rung for B
    assert open_offer(B).volunteer == x
    start(tw, "1", C)  # nobody free: C waits
    fake_twilio.requests.clear()
    clock.advance(seconds=3)
    call = Call.objects.get(call_sid=A)
    assert "<Leave" in tw(f"/twilio/voice/hold-key?call={call.pk}", call_data(A)).content.decode()

    assert state(A) == ("voicemail", "caller_chose")
    assert sorted(fake_twilio.stopped()) == sorted(
        [(second.leg_sid, "completed"), (third.leg_sid, "canceled")]
    )
    first, second, third = (attempt(A, p) for p in (u, v, w))
    assert first.result == CallAttempt.Result.DECLINED
    assert (second.result, second.ended_at) == (CallAttempt.Result.CANCELLED, clock.now)
    assert (third.result, third.ended_at) == (CallAttempt.Result.CANCELLED, clock.now)
    assert open_offer(B).volunteer == x  # B's phone still rings
    # The stopped phones count busy until their final status: C still waits, undamaged.
    assert Call.objects.get(call_sid=C).state == Call.State.RINGING
    leg(tw, third, "leg-status", CallStatus="canceled")
    assert open_offer(C).volunteer == w


def test_pressing_a_key_after_the_call_was_taken_changes_nothing(scene, tw, fake_twilio):
    """A hold key that arrives after a volunteer took the caller. Kills call_leave_queue 10."""
    v = scene.on_shift("counsellor")
    talking(tw, A)
    call = Call.objects.get(call_sid=A)
    r = tw(f"/twilio/voice/hold-key?call={call.pk}", call_data(A))
    # The plain answer, not the fallback's apology (what an error in the service gives).
    assert r.content.decode().count("<Leave") == 1 and "<Say" not in r.content.decode()
    call.refresh_from_db()
    assert (call.state, call.answered_by) == (Call.State.CONNECTED, v)


# --- giving up a batch (call_advance: the simulator, and any caller that must move on) -------


def test_advancing_a_batch_gives_up_only_its_own_open_offers(scene, tw, fake_twilio, clock):
    """The call's batch-1 phones: the answered one hung up, the ringing one cancelled, both
    closed as unanswered at that moment; a declined offer keeps its answer; an offer of
    another batch, and another caller's offers, ring on. Kills call_advance 5, 23–25, 33,
    35, 37–43."""
    scene.hotline.ring_batch_size = 4
    scene.hotline.save()
    u, v, w, z = (scene.on_shift("counsellor") for _ in range(4))
    start(tw, "1", A)
    leg(tw, attempt(A, u), "offer")
    leg(tw, attempt(A, u), "accept", Digits="2")  # declined
    leg(tw, attempt(A, v), "offer")  # answered, hearing the whisper
    x = scene.on_shift("counsellor")
    start(tw, "1", B)
    b_offers = {a.pk for a in offers(B) if a.result == CallAttempt.Result.PENDING}
    assert x in {a.volunteer for a in offers(B)}
    # z's offer belongs to another batch of A's.
    CallAttempt.objects.filter(call__call_sid=A, volunteer=z).update(batch=2)
    fake_twilio.requests.clear()
    clock.advance(seconds=1)
    moved = call_advance(call_id=Call.objects.get(call_sid=A).pk, from_batch=1, now=clock.now)
    assert moved.call_sid == A
    assert attempt(A, u).result == CallAttempt.Result.DECLINED
    for p in (v, w):
        assert (attempt(A, p).result, attempt(A, p).ended_at) == (
            CallAttempt.Result.NO_ANSWER,
            clock.now,
        )
    assert attempt(A, z).result == CallAttempt.Result.PENDING
    assert b_offers <= {a.pk for a in offers(B) if a.result == CallAttempt.Result.PENDING}
    assert sorted(fake_twilio.stopped()) == sorted(
        [(attempt(A, v).leg_sid, "completed"), (attempt(A, w).leg_sid, "canceled")]
    )


def test_advancing_a_call_no_longer_waiting_does_nothing(scene, tw, fake_twilio):
    """Kills call_advance 6 and 7 (a taken call, an old batch)."""
    scene.on_shift("counsellor")
    talking(tw, A)
    call = Call.objects.get(call_sid=A)
    assert call_advance(call_id=call.pk, from_batch=call.ring_batch, now=call.answered_at) is None
    assert Call.objects.get(pk=call.pk).state == Call.State.CONNECTED


def test_advancing_an_old_batch_does_nothing(scene, tw, fake_twilio):
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    start(tw, "1", A)
    call = Call.objects.get(call_sid=A)
    assert call_advance(call_id=call.pk, from_batch=1, now=call.arrived_at) is not None
    assert Call.objects.get(pk=call.pk).ring_batch == 2
    dialled = len(fake_twilio.dialled())
    assert call_advance(call_id=call.pk, from_batch=1, now=call.arrived_at) is None
    assert open_offer(A).batch == 2 and len(fake_twilio.dialled()) == dialled


# --- a volunteer who answers a phone whose caller was taken ---------------------------------


def _taken_leg(scene, tw, *, waiting=()):
    """x is talking to A; v and w are rung for B; the callers `waiting` (sid, service digit)
    arrive and wait; v takes B, and w's phone (cancelled) is answered: w's attempt."""
    x = scene.on_shift("counsellor")
    talking(tw, A)
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, "1", B)
    for sid, digit in waiting:
        start(tw, digit, sid)
    first = attempt(B, v)
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")
    assert x != v
    return attempt(B, w)


def test_reoffer_goes_to_the_longest_waiting_caller_of_this_hotline(scene, tw, fake_twilio, clock):
    """Order by arrival, not by row; never a caller of another hotline. Kills leg_reoffer 24,
    29, and the call's and the offer's bookkeeping: 70, 72–76, 81, 100, 102–104, 106, 108."""
    Call.objects.create(
        call_sid="CA" + "8" * 32,
        hotline=f.hotline(),
        arrived_at=clock.now - dt.timedelta(minutes=5),
        state=Call.State.RINGING,
        category="psychological",
    )
    second = _taken_leg(scene, tw, waiting=[(C, "1"), (D, "1")])
    # D arrived first (its row is the newer one).
    Call.objects.filter(call_sid=D).update(arrived_at=clock.now - dt.timedelta(seconds=30))
    clock.advance(seconds=2)
    body = leg(tw, second, "offer").content.decode()
    assert "Another caller is waiting" in body
    reoffer = open_offer(D)
    assert (reoffer.volunteer, reoffer.leg_of_id, reoffer.tier) == (
        second.volunteer,
        second.pk,
        Call.Tier.VOLUNTEERS,
    )
    assert reoffer.leg_status == "in-progress"  # answered: no more phones rung for D
    call = Call.objects.get(call_sid=D)
    assert (call.ring_batch, call.ring_tier, reoffer.batch) == (1, Call.Tier.VOLUNTEERS, 1)
    assert (
        clock.now
        < call.batch_deadline
        <= clock.now + dt.timedelta(seconds=scene.hotline.ring_timeout + queue.BATCH_GRACE)
    )
    assert not CallAttempt.objects.filter(call__call_sid=C).exists()
    assert RingRotation.objects.get(volunteer=second.volunteer).last_offered_at == clock.now


def test_reoffer_passes_over_a_caller_of_another_service(scene, tw, fake_twilio):
    """A counsellor is not offered a family-education caller (not a supervisor either):
    the next caller they can take is. Kills leg_reoffer 65, 67."""
    e = scene.on_shift("family_educator")
    start(tw, "2", "CA" + "7" * 32)  # e takes a family-education caller
    family = attempt("CA" + "7" * 32, e)
    leg(tw, family, "offer")
    leg(tw, family, "accept", Digits="1")
    second = _taken_leg(scene, tw, waiting=[(C, "2"), (D, "1")])
    assert Call.objects.get(call_sid=C).state == Call.State.RINGING  # waits for e
    body = leg(tw, second, "offer").content.decode()
    assert "Another caller is waiting" in body
    assert open_offer(D).volunteer == second.volunteer
    assert not CallAttempt.objects.filter(call__call_sid=C).exists()


def test_a_supervisor_who_answers_a_taken_phone_is_offered_the_next_caller_as_supervisor(
    scene, tw, fake_twilio, clock
):
    """Kills leg_reoffer 66, 96 (the offer's and the call's tier)."""
    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    start(tw, "1", B)
    clock.advance(seconds=queue.SUPERVISOR_AFTER.total_seconds())
    hold(tw, B)  # the supervisor is added to v's unanswered phone
    start(tw, "1", C)  # nobody free: waits
    leg(tw, attempt(B, v), "offer")
    leg(tw, attempt(B, v), "accept", Digits="1")
    body = leg(tw, attempt(B, sup), "offer").content.decode()
    assert "Another caller is waiting" in body
    reoffer = open_offer(C)
    assert (reoffer.volunteer, reoffer.tier) == (sup, Call.Tier.SUPERVISORS)
    assert Call.objects.get(call_sid=C).ring_tier == Call.Tier.SUPERVISORS


def test_a_volunteer_whose_shift_ended_is_not_offered_another_caller(scene, tw, fake_twilio, clock):
    """Kills leg_reoffer 19."""
    second = _taken_leg(scene, tw, waiting=[(C, "1")])
    clock.set(scene.shift.ends_at)
    body = leg(tw, second, "offer").content.decode()
    assert "This caller has been taken" in body and "<Hangup" in body
    assert not CallAttempt.objects.filter(call__call_sid=C, volunteer=second.volunteer).exists()


def _wanting_female(scene, tw):
    """f (female) is talking to A; m and g (female) are rung for B; C, who asked for a
    female counsellor, and then D, who did not, wait; m takes B. Returns g's and m's
    phones for B (g's cancelled: m took the caller)."""
    scene.hotline.preference_wait_seconds = 60
    scene.hotline.save()
    f_ = scene.on_shift("counsellor", gender="female")
    talking(tw, A)
    m = scene.on_shift("counsellor", gender="male")
    g = scene.on_shift("counsellor", gender="female")
    start(tw, "1", B)
    start(tw, "1", C)
    Call.objects.filter(call_sid=C).update(wants="female")
    start(tw, "1", D)
    assert offers(A)[0].volunteer == f_
    return attempt(B, g), attempt(B, m)


def test_reoffer_honours_a_callers_preference_while_someone_who_fits_is_on_shift(
    scene, tw, fake_twilio
):
    """A man who answers a taken phone is offered the next caller without a preference, not
    the caller who asked for a woman while a woman is on shift (here busy): the dispatcher
    would not offer him that caller either. This was a bug: the re-offer looked for someone
    who fits among the man alone, found nobody, and relaxed the preference. Kills
    leg_reoffer 61 (and 46–55 with the next test)."""
    g_leg, m_leg = _wanting_female(scene, tw)
    leg(tw, g_leg, "offer")
    leg(tw, g_leg, "accept", Digits="1")  # g takes B; m answers the cancelled phone
    body = leg(tw, m_leg, "offer").content.decode()
    assert "Another caller is waiting" in body
    assert open_offer(D).volunteer == m_leg.volunteer
    assert not CallAttempt.objects.filter(call__call_sid=C, volunteer=m_leg.volunteer).exists()
    assert Call.objects.get(call_sid=C).state == Call.State.RINGING


def test_reoffer_gives_a_woman_the_caller_who_asked_for_one(scene, tw, fake_twilio):
    """Kills leg_reoffer 46–60 (the preference looked up with the wrong call, pool, tried
    set, time, or the fit turned round)."""
    g_leg, m_leg = _wanting_female(scene, tw)
    leg(tw, m_leg, "offer")
    leg(tw, m_leg, "accept", Digits="1")  # m takes B; g answers the cancelled phone
    body = leg(tw, g_leg, "offer").content.decode()
    assert "Another caller is waiting" in body
    assert open_offer(C).volunteer == g_leg.volunteer


# --- the volunteer's leg: status callbacks ----------------------------------------------------


def test_a_normal_phone_answered_through_its_status_callback_is_not_hung_up(scene, tw, fake_twilio):
    """The status callbacks of a leg still offered ("ringing", then "in-progress" before the
    whisper's request) must never stop it: only a leg we cancelled is hung up when
    answered. Kills leg_status_update 16, 17, 18."""
    v = scene.on_shift("counsellor")
    start(tw, "1", A)
    offer = attempt(A, v)
    leg(tw, offer, "leg-status", CallStatus="ringing")
    leg(tw, offer, "leg-status", CallStatus="in-progress")
    assert fake_twilio.stopped() == []
    leg(tw, offer, "offer")
    assert "<Dial" in leg(tw, offer, "accept", Digits="1").content.decode()
    assert fake_twilio.stopped() == []


def test_a_cancelled_phone_that_rings_on_is_not_hung_up_twice(scene, tw, fake_twilio):
    """A cancelled leg's late "ringing" is not an answer; a replayed "in-progress" hangs it
    up once. Kills leg_status_update 18, 19."""
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    start(tw, "1", A)
    first, second = offers(A)
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")
    assert fake_twilio.stopped() == [(second.leg_sid, "canceled")]
    leg(tw, second, "leg-status", CallStatus="ringing")
    assert fake_twilio.stopped() == [(second.leg_sid, "canceled")]
    leg(tw, second, "leg-status", CallStatus="in-progress")
    leg(tw, second, "leg-status", CallStatus="in-progress")
    assert fake_twilio.stopped() == [(second.leg_sid, "canceled"), (second.leg_sid, "completed")]


def test_a_late_ringing_status_does_not_make_a_finished_phone_busy_again(
    scene, tw, fake_twilio, clock
):
    """Statuses only move forward. Kills leg_status_update 13 and lower_statuses 3."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, "1", A)
    first = open_offer(A)
    leg(tw, first, "leg-status", CallStatus="no-answer")
    assert open_offer(A).volunteer != first.volunteer
    leg(tw, first, "leg-status", CallStatus="ringing")  # out of order, after the end
    first.refresh_from_db()
    assert (first.leg_status, first.result) == ("no-answer", CallAttempt.Result.NO_ANSWER)
    start(tw, "1", B)
    assert open_offer(B).volunteer == first.volunteer
    assert {v, w} == {first.volunteer, open_offer(A).volunteer}


def test_a_failed_phone_is_recorded_as_failed_when_it_failed(scene, tw, fake_twilio, clock):
    """Kills leg_status_update 43, 44, 54, 56."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, "1", A)
    first = open_offer(A)
    clock.advance(seconds=4)
    leg(tw, first, "leg-status", CallStatus="failed")
    first.refresh_from_db()
    assert (first.result, first.ended_at) == (CallAttempt.Result.FAILED, clock.now)
    assert open_offer(A).volunteer == w


def test_one_volunteer_hanging_up_leaves_the_other_calls_alone(scene, tw, fake_twilio, clock):
    """v hangs up on A; w, still talking to B, is neither handed A's caller nor counted free.
    Kills leg_status_update 84 (71 survives it: docs/testing.md)."""
    v = scene.on_shift("counsellor")
    talking(tw, A)
    w = scene.on_shift("counsellor")
    talking(tw, B)
    w_offer = attempt(B, w)
    clock.advance(seconds=30)
    leg(tw, attempt(A, v), "leg-status", CallStatus="completed")  # v hung up
    w_offer.refresh_from_db()
    assert (w_offer.result, w_offer.ended_at) == (CallAttempt.Result.ACCEPTED, None)
    assert Call.objects.get(call_sid=B).state == Call.State.CONNECTED
    x = scene.on_shift("counsellor")
    start(tw, "1", C)
    assert {a.volunteer for a in offers(C)} <= {v, x}


def test_a_phone_answered_after_its_final_status_stays_finished(scene, tw, fake_twilio):
    """The whisper's request arriving after the leg's final status (out of order) does not
    make the volunteer busy again. Kills leg_answered 5."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    start(tw, "1", A)
    first = attempt(A, v)
    leg(tw, first, "leg-status", CallStatus="no-answer")
    leg(tw, first, "offer")
    first.refresh_from_db()
    assert first.leg_status == "no-answer"
    start(tw, "1", B)
    assert open_offer(B).volunteer == v


# --- accepting, the sweep, preferences --------------------------------------------------------


def test_accepting_an_offer_that_does_not_exist(scene, tw, clock):
    """Kills call_accept 4–11."""
    assert queue.call_accept(attempt_id=987654, digits="1", now=clock.now) == queue.AcceptResult(
        None, False, "unknown"
    )


def test_a_preference_the_line_does_not_know_is_no_restriction():
    """Kills fits_preference 16."""
    from hotline.models import Volunteer

    assert queue.fits_preference(Volunteer(gender="male"), "accent:north") is True


def _waiting_call(n, *, overdue_minutes, now):
    return Call.objects.create(
        call_sid=f"CA{n:032d}",
        hotline=f.hotline(),  # nobody on shift: a dispatch sends it to voicemail
        arrived_at=now - dt.timedelta(minutes=10),
        state=Call.State.RINGING,
        category="psychological",
        ring_tier=Call.Tier.VOLUNTEERS,
        ring_batch=1,
        batch_deadline=now - dt.timedelta(minutes=overdue_minutes),
    )


def test_sweep_takes_the_longest_overdue_first_whatever_the_row_order(db, clock):
    """Kills calls_sweep 12."""
    recent = _waiting_call(1, overdue_minutes=1, now=clock.now)
    oldest = _waiting_call(2, overdue_minutes=5, now=clock.now)
    assert queue.calls_sweep(now=clock.now, limit=1) == 1
    assert Call.objects.get(pk=oldest.pk).state == Call.State.VOICEMAIL
    assert Call.objects.get(pk=recent.pk).state == Call.State.RINGING


def test_sweep_logs_a_hotline_it_could_not_dispatch_and_goes_on(db, clock, monkeypatch, caplog):
    """Kills calls_sweep 34–39."""
    broken = _waiting_call(1, overdue_minutes=5, now=clock.now)
    fine = _waiting_call(2, overdue_minutes=1, now=clock.now)
    real = queue.hotline_dispatch

    def dispatch(*, hotline_id, now, **kw):
        if hotline_id == broken.hotline_id:
            raise RuntimeError("database went away")
        return real(hotline_id=hotline_id, now=now, **kw)

    monkeypatch.setattr(queue, "hotline_dispatch", dispatch)
    with caplog.at_level("ERROR", logger="hotline.calls.queue"):
        assert queue.calls_sweep(now=clock.now) == 2
    assert [r.getMessage() for r in caplog.records] == [
        f"sweep: could not dispatch hotline {broken.hotline_id}"
    ]
    assert Call.objects.get(pk=fine.pk).state == Call.State.VOICEMAIL


def test_a_volunteer_who_declines_hears_goodbye_in_the_lines_voice(scene, tw, fake_twilio):
    """Kills call_accept 31 (the declined answer without its call: a bare hang-up)."""
    scene.on_shift("counsellor")
    start(tw, "1", A)
    offer = open_offer(A)
    leg(tw, offer, "offer")
    body = leg(tw, offer, "accept", Digits="2").content.decode()
    assert "Goodbye." in body and "<Hangup" in body
    offer.refresh_from_db()
    assert offer.result == CallAttempt.Result.DECLINED


def test_declining_a_phone_already_stopped_keeps_why_it_stopped(scene, tw, fake_twilio, clock):
    """w's phone was cancelled when v took the caller; w, still hearing the whisper, presses
    2: the call's history keeps "cancelled: taken by another", at the time it was stopped,
    and nobody new is rung. Kills call_accept 26 (the decline without `result=PENDING`)."""
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    start(tw, "1", A)
    first, second = offers(A)
    leg(tw, second, "offer")
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")
    stopped_at = clock.now
    clock.advance(seconds=2)
    dialled = len(fake_twilio.dialled())
    body = leg(tw, second, "accept", Digits="2").content.decode()
    assert "<Hangup" in body
    second.refresh_from_db()
    assert (second.result, second.ended_at) == (CallAttempt.Result.CANCELLED, stopped_at)
    assert len(fake_twilio.dialled()) == dialled


def test_accepting_stamps_the_call_with_the_time_it_was_taken(scene, tw, fake_twilio, clock):
    """Kills call_accept 59 (the call's `updated_at` left at the offer's time)."""
    scene.on_shift("counsellor")
    start(tw, "1", A)
    offer = open_offer(A)
    leg(tw, offer, "offer")
    clock.advance(seconds=7)
    leg(tw, offer, "accept", Digits="1")
    call = Call.objects.get(call_sid=A)
    assert (call.answered_at, call.updated_at) == (clock.now, clock.now)


def test_a_press_of_1_on_an_offer_still_open_after_the_call_was_taken_is_too_late(
    scene, tw, fake_twilio, clock
):
    """w's offer still open when v took the caller (the state a race between two accepts
    could leave; in sequence v's accept closes it): w's 1 is refused, they hear that
    another volunteer took the call, and their offer is closed as "accepted too late" at
    that moment; another caller's ringing phone is left alone. Kills call_accept 66–72."""
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, "1", A)
    leg(tw, attempt(A, v), "offer")
    leg(tw, attempt(A, v), "accept", Digits="1")
    x = scene.on_shift("counsellor")
    start(tw, "1", B)  # x's phone rings for B meanwhile
    late = attempt(A, w)
    CallAttempt.objects.filter(pk=late.pk).update(result=CallAttempt.Result.PENDING, ended_at=None)
    clock.advance(seconds=3)
    body = leg(tw, late, "accept", Digits="1").content.decode()
    assert "Another volunteer has already taken this call" in body
    late.refresh_from_db()
    assert (late.result, late.ended_at) == (CallAttempt.Result.LATE, clock.now)
    call = Call.objects.get(call_sid=A)
    assert (call.state, call.answered_by) == (Call.State.CONNECTED, v)
    assert open_offer(B).volunteer == x  # another caller's phone rings on


def test_taking_a_caller_stops_only_their_other_ringing_phones(scene, tw, fake_twilio):
    """v takes A: w, who is hearing A's whisper, is hung up ("completed": Twilio ignores a
    cancel on an answered call) and z's ringing phone cancelled; u, who declined A, keeps
    their answer; x's phone ringing for B rings on. Kills call_accept 113, 114 (which
    offers are closed) and 127–132 (how an answered phone is stopped)."""
    scene.hotline.ring_batch_size = 4
    scene.hotline.save()
    u, v, w, z = (scene.on_shift("counsellor") for _ in range(4))
    start(tw, "1", A)
    leg(tw, attempt(A, u), "offer")
    leg(tw, attempt(A, u), "accept", Digits="2")  # u declines
    x = scene.on_shift("counsellor")
    start(tw, "1", B)
    assert open_offer(B).volunteer == x
    leg(tw, attempt(A, w), "offer")  # w hears the whisper
    leg(tw, attempt(A, v), "offer")
    fake_twilio.requests.clear()
    assert "<Dial" in leg(tw, attempt(A, v), "accept", Digits="1").content.decode()
    assert sorted(fake_twilio.stopped()) == sorted(
        [(attempt(A, w).leg_sid, "completed"), (attempt(A, z).leg_sid, "canceled")]
    )
    assert attempt(A, u).result == CallAttempt.Result.DECLINED
    assert attempt(A, w).result == attempt(A, z).result == CallAttempt.Result.CANCELLED
    assert open_offer(B).volunteer == x


def test_phones_rung_past_their_time_are_given_up_and_stopped(scene, tw, fake_twilio, clock):
    """Both status callbacks lost: once the ring time (and its grace) passed, the caller's
    hold loop gives the offers up; the phone hearing the whisper is hung up, the ringing one
    cancelled, both closed then. Kills hotline_dispatch 7, 8, 10 and _plan 66, 68."""
    scene.hotline.ring_batch_size = 2
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, "1", A)
    leg(tw, attempt(A, v), "offer")  # v hears the whisper, never presses a key
    fake_twilio.requests.clear()
    clock.advance(seconds=scene.hotline.ring_timeout + queue.BATCH_GRACE + 1)
    hold(tw, A)
    assert sorted(fake_twilio.stopped()) == sorted(
        [(attempt(A, v).leg_sid, "completed"), (attempt(A, w).leg_sid, "canceled")]
    )
    for p in (v, w):
        assert (attempt(A, p).result, attempt(A, p).ended_at) == (
            CallAttempt.Result.NO_ANSWER,
            clock.now,
        )  # _plan 66, 68: the end time of the given-up offers


def test_refused_dials_are_replaced_at_once_up_to_the_round_limit(scene, tw, fake_twilio, clock):
    """Twilio refuses every phone: the dispatcher plans again after each refusal, eleven
    phones in all (the first round and MAX_DIAL_ROUNDS more), then waits for the next look.
    Each refusal is on the caller's record at that moment. Kills hotline_dispatch 1, 30 (one
    round fewer, one more) and 26 (the dial's time lost)."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.max_queue_seconds = 600
    scene.hotline.save()
    people = [scene.on_shift("counsellor") for _ in range(queue.MAX_DIAL_ROUNDS + 2)]
    for p in people:
        fake_twilio.fail[p.phone_number] = 400
    start(tw, "1", A)
    assert len(fake_twilio.dialled()) == queue.MAX_DIAL_ROUNDS + 1
    assert state(A) == ("ringing", "")
    refused = offers(A)
    assert {(a.result, a.ended_at) for a in refused} == {(CallAttempt.Result.FAILED, clock.now)}
    assert all(a.error.startswith("Twilio 400") for a in refused)


def test_a_caller_past_the_wait_limit_is_sent_to_their_own_voicemail(scene, tw, fake_twilio, clock):
    """Everyone busy until the wait limit: the sweep moves the waiting caller to voicemail by
    a redirect that names the call. Kills hotline_dispatch 18, 21."""
    scene.on_shift("counsellor")
    talking(tw, A)
    start(tw, "1", B)
    fake_twilio.requests.clear()
    clock.advance(seconds=scene.hotline.max_queue_seconds + 1)
    calls_sweep(now=clock.now)
    assert state(B) == ("voicemail", "all_busy_timeout")
    call = Call.objects.get(call_sid=B)
    (url,) = [d["Url"] for m, u, d in fake_twilio.requests if u.endswith(f"/Calls/{B}.json")]
    assert url.endswith(f"/twilio/voice/voicemail?call={call.pk}")


# --- dialling (_dial) -------------------------------------------------------------------------


def test_a_volunteers_phone_is_dialled_from_the_line_with_the_offer_webhooks(
    scene, tw, fake_twilio
):
    """What Twilio is asked to do for one offer: ring the volunteer from the hotline's own
    number for the line's ring time, the whisper and the leg's statuses naming the offer; the
    leg's SID kept, its status "queued" until Twilio says more. Kills _dial's arguments and
    its leg bookkeeping."""
    scene.hotline.ring_timeout = 17
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    start(tw, "1", A)
    offer = open_offer(A)
    (placed,) = [d for m, u, d in fake_twilio.requests if u.endswith("/Calls.json")]
    assert (placed["To"], placed["From"]) == (v.phone_number, scene.hotline.phone_number)
    assert placed["Url"].endswith(f"/twilio/voice/offer?attempt={offer.pk}")
    assert placed["StatusCallback"].endswith(f"/twilio/voice/leg-status?attempt={offer.pk}")
    assert placed["Timeout"] == 17
    assert offer.leg_sid.startswith("CA") and offer.leg_status == "queued"
    assert offer.volunteer == v


def test_a_phone_dialled_as_the_caller_hangs_up_is_stopped(
    scene, tw, fake_twilio, clock, monkeypatch
):
    """The caller hangs up while the volunteer's phone is being dialled (between the plan
    and Twilio's answer): the new leg is cancelled at once and its offer closed, so the
    volunteer's phone does not ring for nobody. Kills _dial's "caller left while dialling"
    branch."""
    v = scene.on_shift("counsellor")
    real = fake_twilio.request

    def request(method, uri, params=None, data=None, **kw):
        if method == "POST" and uri.endswith("/Calls.json"):
            Call.objects.filter(call_sid=A).update(state=Call.State.ENDED)
        return real(method, uri, params=params, data=data, **kw)

    monkeypatch.setattr(fake_twilio, "request", request)
    start(tw, "1", A)
    offer = attempt(A, v)
    assert (offer.result, offer.ended_at) == (CallAttempt.Result.CANCELLED, clock.now)
    assert fake_twilio.stopped() == [(offer.leg_sid, "canceled")]


def test_a_caller_whose_only_phone_is_refused_hears_voicemail_in_the_menus_answer(
    scene, tw, fake_twilio
):
    """The one volunteer's dial is refused while the caller's menu choice is being answered:
    the re-plan sends the caller to voicemail in that answer, not by a second, redirecting
    request to Twilio racing it. Kills hotline_dispatch 33, 37 (the re-plan forgetting which
    call is being answered)."""
    v = scene.on_shift("counsellor")
    fake_twilio.fail[v.phone_number] = 400
    body = start(tw, "1", A).content.decode()
    assert state(A) == ("voicemail", "nobody_answered")
    assert "Sorry, none of our volunteers" in body and "/twilio/voice/record?call=" in body
    assert fake_twilio.redirected() == []


def test_a_refused_dial_fails_only_its_own_offer(scene, tw, fake_twilio):
    """x's phone rings for B; the phone dialled for A is refused: only that offer is
    recorded as failed, x's rings on. Kills _dial 42."""
    x = scene.on_shift("counsellor")
    start(tw, "1", B)
    v = scene.on_shift("counsellor")
    fake_twilio.fail[v.phone_number] = 400
    start(tw, "1", A)
    assert attempt(A, v).result == CallAttempt.Result.FAILED
    assert open_offer(B).volunteer == x


def test_a_refused_dial_does_not_stop_the_other_phones_of_the_batch_being_dialled(
    scene, tw, fake_twilio, monkeypatch
):
    """Two phones planned for A, the first dialled is refused: the second is still dialled
    (else it would stay an open offer that never rings, the caller waiting while its
    volunteer is free). Kills _dial 56 (`continue` -> `break`)."""
    scene.hotline.ring_batch_size = 2
    scene.hotline.save()
    u = scene.on_shift("counsellor")
    v = scene.on_shift("counsellor")
    real = fake_twilio.request
    order = []

    def request(method, uri, params=None, data=None, **kw):
        if method == "POST" and uri.endswith("/Calls.json") and not order:
            order.append(data["To"])
            fake_twilio.fail[data["To"]] = 400  # whoever is dialled first is refused
        return real(method, uri, params=params, data=data, **kw)

    monkeypatch.setattr(fake_twilio, "request", request)
    start(tw, "1", A)
    refused = u if order == [u.phone_number] else v
    other = v if refused is u else u
    assert attempt(A, refused).result == CallAttempt.Result.FAILED
    rung = attempt(A, other)
    assert rung.result == CallAttempt.Result.PENDING and rung.leg_sid.startswith("CA")
    assert other.phone_number in fake_twilio.dialled()


def test_a_phone_dialled_as_its_caller_is_taken_is_stopped_and_other_callers_ring_on(
    scene, tw, fake_twilio, clock, monkeypatch
):
    """x's phone rings for B; while v's phone is being dialled for A, A is taken: v's new
    leg is cancelled (B still waiting does not count), x's offer for B stays open. Kills
    _dial 80 (any ringing call keeps the leg) and 88 (every open offer cancelled)."""
    x = scene.on_shift("counsellor")
    start(tw, "1", B)
    v = scene.on_shift("counsellor")
    real = fake_twilio.request

    def request(method, uri, params=None, data=None, **kw):
        if method == "POST" and uri.endswith("/Calls.json") and data["To"] == v.phone_number:
            Call.objects.filter(call_sid=A).update(state=Call.State.CONNECTED)
        return real(method, uri, params=params, data=data, **kw)

    monkeypatch.setattr(fake_twilio, "request", request)
    start(tw, "1", A)
    offer = attempt(A, v)
    assert (offer.result, offer.ended_at) == (CallAttempt.Result.CANCELLED, clock.now)
    assert fake_twilio.stopped() == [(offer.leg_sid, "canceled")]
    assert open_offer(B).volunteer == x
    assert attempt(B, x).result == CallAttempt.Result.PENDING


# --- supervisors as the only ones who can take a caller (_plan) ------------------------------


def test_a_caller_with_only_a_supervisor_on_shift_is_rung_to_them_then_voicemail(
    scene, tw, fake_twilio
):
    """Nobody of the service's own role on shift, a supervisor is: the caller is not sent to
    voicemail as if nobody were on shift, the supervisor is rung at once; when they decline,
    everyone who could take the call was tried: voicemail. Kills _plan 137 (the supervisors
    forgotten: voicemail at once), 205, 207, 275, 277 (nobody of the own role: the dispatch
    crashed)."""
    s = scene.on_shift("supervisor")
    start(tw, "1", A)
    offer = open_offer(A)
    assert (offer.volunteer, offer.tier) == (s, "supervisors")
    assert fake_twilio.dialled() == [s.phone_number]
    leg(tw, offer, "offer")
    leg(tw, offer, "accept", Digits="2")
    assert state(A) == ("voicemail", "nobody_answered")


def test_a_caller_whose_counsellor_declined_waits_for_the_busy_supervisor(scene, tw, fake_twilio):
    """The supervisor is talking to B; the one counsellor declines A: A keeps waiting (the
    supervisor, not yet tried, may come free), not voicemail. Kills _plan 279 (supervisors
    left out of "everyone who could take it was tried")."""
    scene.on_shift("supervisor")
    talking(tw, B)
    v = scene.on_shift("counsellor")
    start(tw, "1", A)
    offer = open_offer(A)
    assert offer.volunteer == v
    leg(tw, offer, "offer")
    leg(tw, offer, "accept", Digits="2")
    assert state(A) == ("ringing", "")


def test_a_caller_left_with_nobody_on_shift_does_not_hold_up_the_next_caller(
    scene, tw, fake_twilio, clock
):
    """A family-education caller's only educator goes off shift while their phone rings for
    A; B (a counsellor's caller) waits for the busy counsellor. When the counsellor comes
    free, one dispatch sends A to voicemail — their ringing phone cancelled and its offer
    closed — and still rings the counsellor for B. Kills _plan 151 (B forgotten after A),
    147–150 (A's open offer left ringing, or the dispatch crashing)."""
    e = scene.on_shift("family_educator")
    start(tw, "2", A)
    ringing = attempt(A, e)
    v = scene.on_shift("counsellor")
    talking(tw, C)
    start(tw, "1", B)
    assert not offers(B)
    hang_up(tw, C)  # C hangs up; v's leg is not over yet
    e.assignments.all().delete()  # off shift (a shift edit)
    clock.advance(seconds=5)
    fake_twilio.requests.clear()
    leg(tw, attempt(C, v), "leg-status", CallStatus="completed")  # v free
    assert state(A) == ("voicemail", "nobody_on_shift")
    ringing.refresh_from_db()
    assert (ringing.result, ringing.ended_at) == (CallAttempt.Result.CANCELLED, clock.now)
    assert (ringing.leg_sid, "canceled") in fake_twilio.stopped()
    assert open_offer(B).volunteer == v
    assert fake_twilio.dialled() == [v.phone_number]


def test_a_caller_sent_to_voicemail_does_not_hold_up_the_next_callers_offer(
    scene, tw, fake_twilio, clock
):
    """v declines A (w, busy with C, not yet tried for A, so A waits); once v's phone is
    down, past A's wait limit, one dispatch sends A to voicemail and rings v for B: B's
    batch and next check are those of that offer. Kills _plan 298 (B's row left as it was
    after A's voicemail: its next check long past, its batch behind its offer)."""
    scene.hotline.max_queue_seconds = 120
    scene.hotline.save()
    w = scene.on_shift("counsellor")
    talking(tw, C)
    v = scene.on_shift("counsellor")
    start(tw, "1", A)
    declined = attempt(A, v)
    start(tw, "1", B)
    leg(tw, declined, "offer")
    leg(tw, declined, "accept", Digits="2")
    assert state(A) == ("ringing", "")  # w may come free
    clock.advance(seconds=121)
    leg(tw, declined, "leg-status", CallStatus="completed")
    assert state(A) == ("voicemail", "all_busy_timeout")
    offer = open_offer(B)
    assert offer.volunteer == v and w != v
    call = Call.objects.get(call_sid=B)
    assert call.ring_batch == offer.batch == 1
    assert (
        clock.now
        < call.batch_deadline
        <= clock.now + dt.timedelta(seconds=scene.hotline.ring_timeout + queue.BATCH_GRACE)
    )


# --- second pass (EQUIV-queue2.md) ------------------------------------------------------------


def test_a_caller_nobody_can_take_hears_voicemail_at_the_wait_limit_not_a_recheck_later(
    scene, tw, fake_twilio, clock
):
    """Everyone busy, a wait limit shorter than RECHECK: the caller's next check is the wait
    limit itself, and the look then sends them to voicemail. Kills _plan 341 (the wait limit
    left out of the next check: voicemail only at the next RECHECK)."""
    scene.hotline.max_queue_seconds = 10
    scene.hotline.save()
    scene.on_shift("counsellor")
    talking(tw, B)
    start(tw, "1", A)
    call = Call.objects.get(call_sid=A)
    assert call.batch_deadline == call.arrived_at + dt.timedelta(seconds=10)
    clock.advance(seconds=10)
    assert queue.call_tick(call=call, now=clock.now)
    assert state(A) == ("voicemail", "all_busy_timeout")


def test_a_volunteer_come_free_rings_for_the_caller_whose_phones_rang_longest(
    scene, tw, fake_twilio, clock
):
    """Two phones ring for each of A and B; A's are being answered, B's rang a STAGGER
    unanswered. A volunteer who comes free is rung for B (one more phone), not for A.
    Kills _plan 179 (A given a third phone past its fan-out) and 180 (the round stopped at
    A: B never got the extra phone)."""
    scene.hotline.ring_batch_size = 2
    scene.hotline.save()
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    start(tw, "1", A)
    leg(tw, offers(A)[0], "offer")  # A's first phone picked up: the whisper
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    start(tw, "1", B)
    assert len(offers(A)) == len(offers(B)) == 2
    clock.advance(seconds=queue.STAGGER.total_seconds())
    y = scene.on_shift("counsellor")
    queue.hotline_dispatch(hotline_id=scene.hotline.pk, now=clock.now)
    assert [a.volunteer for a in offers(B)][-1] == y
    assert len(offers(A)) == 2


def test_giving_up_overdue_phones_leaves_other_lines_offers_ringing(scene, tw, fake_twilio, clock):
    """An offer of another hotline's caller, older than this line's ring time, is not this
    dispatch's to give up. Kills _plan 51 (every hotline's overdue offers closed)."""
    other = _waiting_call(7, overdue_minutes=0, now=clock.now)
    theirs = CallAttempt.objects.create(
        call=other,
        volunteer=f.volunteer(),
        tier=Call.Tier.VOLUNTEERS,
        batch=1,
        offered_at=clock.now - dt.timedelta(minutes=5),
        leg_sid="CA" + "7" * 32,
    )
    scene.on_shift("counsellor")
    fake_twilio.requests.clear()
    start(tw, "1", A)
    theirs.refresh_from_db()
    assert (theirs.result, theirs.ended_at) == (CallAttempt.Result.PENDING, None)
    assert theirs.leg_sid not in [sid for sid, _ in fake_twilio.stopped()]


def test_a_declined_offer_keeps_its_answer_when_the_caller_waits_on(scene, tw, fake_twilio, clock):
    """v declined A, whose wait goes on (w, busy, not yet tried); past v's ring time a
    dispatch does not re-close v's offer as unanswered nor stop v's phone again. Kills
    _plan 52 (declined offers given up as overdue)."""
    scene.on_shift("counsellor")
    talking(tw, C)
    v = scene.on_shift("counsellor")
    start(tw, "1", A)
    declined = attempt(A, v)
    leg(tw, declined, "offer")
    leg(tw, declined, "accept", Digits="2")
    clock.advance(seconds=scene.hotline.ring_timeout + queue.BATCH_GRACE + 1)
    fake_twilio.requests.clear()
    queue.hotline_dispatch(hotline_id=scene.hotline.pk, now=clock.now)
    assert state(A) == ("ringing", "")
    assert attempt(A, v).result == CallAttempt.Result.DECLINED
    assert not fake_twilio.stopped()


def test_a_caller_with_a_preference_and_only_supervisors_on_shift_is_rung_to_one_who_fits(
    scene, tw, fake_twilio
):
    """A caller who asked for a woman waits for the only (busy) supervisor, nobody of the
    service's own role on shift; a female supervisor comes on shift: she is rung. Kills
    _preference 13, 15 (no own role on shift: the dispatch crashed)."""
    scene.hotline.preference_wait_seconds = 60
    scene.hotline.save()
    scene.on_shift("supervisor", gender="male")
    talking(tw, B)
    start(tw, "1", A)
    assert state(A) == ("ringing", "") and not offers(A)
    Call.objects.filter(call_sid=A).update(wants="female")
    s = scene.on_shift("supervisor", gender="female")
    queue.hotline_dispatch(hotline_id=scene.hotline.pk, now=Call.objects.get(call_sid=A).arrived_at)
    assert open_offer(A).volunteer == s


def test_one_callers_hold_words_do_not_silence_another_caller(db, clock):
    """Each caller hears the hold words on their own first round. Kills hold_round 1 (one
    cache entry for every caller: B's first round silent because A just heard them)."""
    a = Call(call_sid=A)
    b = Call(call_sid=B)
    assert queue.hold_round(call=a, now=clock.now) == (True, queue.HOLD_AFTER_WORDS)
    assert queue.hold_round(call=b, now=clock.now + dt.timedelta(seconds=1)) == (
        True,
        queue.HOLD_AFTER_WORDS,
    )


def test_a_webhook_url_with_two_parameters_keeps_both():
    """The conference join's status callback carries `join` and `status`. Kills webhook_url 15."""
    url = queue.webhook_url(
        Call(webhook_base="https://x.example/"), "twilio:voice-join", join=5, status=1
    )
    assert url.endswith("?join=5&status=1")


def _wanting(scene, now, wants="female"):
    return Call.objects.create(
        call_sid=A,
        hotline=scene.hotline,
        arrived_at=now,
        state=Call.State.RINGING,
        category="psychological",
        ring_tier=Call.Tier.VOLUNTEERS,
        wants=wants,
    )


def test_a_preference_a_supervisor_fits_is_kept_until_the_supervisors_turn(
    scene, fake_twilio, clock
):
    """A caller who asked for a woman; a man of the service's role and a female supervisor
    are free: the man is not rung; once the caller waited SUPERVISOR_AFTER, the supervisor
    is. Kills _preference 17 (supervisors left out of "someone who fits is on shift": the
    preference dropped, the man rung at once)."""
    scene.hotline.preference_wait_seconds = 60
    scene.hotline.save()
    scene.on_shift("counsellor", gender="male")
    s = scene.on_shift("supervisor", gender="female")
    call = _wanting(scene, clock.now)
    queue.hotline_dispatch(hotline_id=scene.hotline.pk, now=clock.now)
    assert not offers(A)
    queue.hotline_dispatch(
        hotline_id=scene.hotline.pk, now=call.arrived_at + queue.SUPERVISOR_AFTER
    )
    assert [a.volunteer for a in offers(A)] == [s]


def test_a_preference_is_relaxed_at_the_moment_the_wait_for_it_is_over(scene, fake_twilio, clock):
    """Exactly `preference_wait_seconds` after arriving the caller is offered anyone: the free
    man of the service's own role first. Kills _preference 9 (kept one instant longer: the
    female supervisor rung instead)."""
    scene.hotline.preference_wait_seconds = 60
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    m = scene.on_shift("counsellor", gender="male")
    scene.on_shift("supervisor", gender="female")
    call = _wanting(scene, clock.now)
    queue.hotline_dispatch(
        hotline_id=scene.hotline.pk, now=call.arrived_at + dt.timedelta(seconds=60)
    )
    assert [a.volunteer for a in offers(A)] == [m]


def test_a_caller_whose_only_volunteer_has_an_unusable_number_hears_voicemail_at_once(
    scene, tw, fake_twilio
):
    """The only volunteer's number cannot be dialled: everyone was tried, voicemail now (not
    a wait for nobody). Kills _plan 217 (the skipped volunteer not counted as tried), 236,
    238 (the skipped offer's error text, end time)."""
    v = scene.on_shift("counsellor")
    type(v).objects.filter(pk=v.pk).update(phone_number="12")
    start(tw, "1", A)
    assert state(A) == ("voicemail", "nobody_answered")
    skipped = offers(A)[0]
    assert (skipped.result, skipped.error, skipped.ended_at) == (
        CallAttempt.Result.SKIPPED,
        "unusable phone number",
        Call.objects.get(call_sid=A).arrived_at,
    )  # _plan 236, 238: what the call's record says of the skipped offer


def test_the_next_look_at_a_ringing_caller_is_on_the_stagger_step(scene, tw, fake_twilio, clock):
    """A caller's one phone rings (room for one more): the next look is one STAGGER after
    it was rung, whenever the dispatch ran. Kills _plan 327 (the step taken from the
    dispatch time: the extra phone rung late)."""
    scene.hotline.ring_batch_size = 2
    scene.hotline.save()
    scene.on_shift("counsellor")
    start(tw, "1", A)
    rung = open_offer(A).offered_at
    clock.advance(seconds=3)
    queue.hotline_dispatch(hotline_id=scene.hotline.pk, now=clock.now)
    assert Call.objects.get(call_sid=A).batch_deadline == rung + queue.STAGGER


def test_the_quiet_after_a_hold_round_without_words(db, clock):
    """Words said a moment ago: the next round is quiet until the caller's next check, at
    least 1 s; without a next check HOLD_TICK. Kills hold_round 20 (no next check: crash),
    31 (at least 2 s: the look due in half a second made late)."""
    call = Call(call_sid=A, batch_deadline=None)
    assert queue.hold_round(call=call, now=clock.now)[0] is True
    later = clock.now + dt.timedelta(seconds=1)
    assert queue.hold_round(call=call, now=later) == (False, queue.HOLD_TICK)
    call.batch_deadline = later + dt.timedelta(milliseconds=500)
    assert queue.hold_round(call=call, now=later) == (False, 1)


def test_webhook_urls_use_the_calls_own_base_else_the_configured_one(settings):
    """Kills webhook_url 4 (the configured base dropped), 5 (the call's own base ignored), 6 (a
    made-up base when none is configured)."""
    settings.TWILIO_WEBHOOK_BASE_URL = "https://conf.example/"
    own = queue.webhook_url(Call(webhook_base="https://own.example"), "twilio:voice-join", join=5)
    assert own == "https://own.example/twilio/voice/join?join=5"
    assert queue.webhook_url(Call(webhook_base=""), "twilio:voice-join", join=5).startswith(
        "https://conf.example/twilio/"
    )
    settings.TWILIO_WEBHOOK_BASE_URL = ""
    assert queue.webhook_url(Call(webhook_base=""), "twilio:voice-join", join=5).startswith(
        "/twilio/"
    )


def test_reoffer_relaxes_a_preference_once_every_one_who_fits_was_tried(
    scene, tw, fake_twilio, clock
):
    """C asked for a woman; the only woman on shift already declined C. When a man answers a
    phone whose caller was taken, he is offered C (the preference can no longer be met), as
    the dispatcher would. Kills leg_reoffer 56–58, 61 (the tried set read wrongly: the
    woman counted untried, C passed over)."""
    scene.hotline.preference_wait_seconds = 60
    scene.hotline.ring_batch_size = 2
    scene.hotline.save()
    m = scene.on_shift("counsellor", gender="male")
    g = scene.on_shift("counsellor", gender="female")
    start(tw, "1", B)  # m and g rung for B
    start(tw, "1", C)  # nobody free: C waits
    Call.objects.filter(call_sid=C).update(wants="female")
    CallAttempt.objects.create(
        call=Call.objects.get(call_sid=C),
        volunteer=g,
        tier=Call.Tier.VOLUNTEERS,
        batch=1,
        offered_at=clock.now,
        result=CallAttempt.Result.DECLINED,
        ended_at=clock.now,
    )
    g_leg, m_leg = attempt(B, g), attempt(B, m)
    leg(tw, g_leg, "offer")
    leg(tw, g_leg, "accept", Digits="1")  # g takes B; m answers the cancelled phone
    body = leg(tw, m_leg, "offer").content.decode()
    assert "Another caller is waiting" in body
    assert open_offer(C).volunteer == m


def test_a_status_callback_that_beats_the_dial_answer_is_kept(
    scene, tw, fake_twilio, clock, monkeypatch
):
    """The volunteer's phone reports `ringing` before Twilio's answer to the dial comes
    back: the leg keeps `ringing`, not moved back to `queued` (nor cleared). Kills
    lower_statuses 2 (a leg with no status yet could not take its first callback), _dial 63,
    65 (the status cleared by the dial's answer)."""
    v = scene.on_shift("counsellor")
    real = fake_twilio.request

    def request(method, uri, params=None, data=None, **kw):
        if method == "POST" and uri.endswith("/Calls.json"):
            offer = CallAttempt.objects.get(call__call_sid=A, volunteer=v)
            queue.leg_status_update(attempt_id=offer.pk, status="ringing", now=clock.now)
        return real(method, uri, params=params, data=data, **kw)

    monkeypatch.setattr(fake_twilio, "request", request)
    start(tw, "1", A)
    offer = attempt(A, v)
    assert (offer.result, offer.leg_status) == (CallAttempt.Result.PENDING, "ringing")
    assert offer.leg_sid.startswith("CA")


def test_a_refused_dial_for_a_caller_who_left_meanwhile_stays_cancelled(
    scene, tw, fake_twilio, clock, monkeypatch
):
    """The caller leaves the queue while the volunteer's phone is being dialled, and the
    dial is then refused: the offer keeps "cancelled" (the caller left), not "failed" with
    Twilio's error. Kills _dial 43 (the refusal written over an offer already closed)."""
    v = scene.on_shift("counsellor")
    real = fake_twilio.request

    def request(method, uri, params=None, data=None, **kw):
        if method == "POST" and uri.endswith("/Calls.json"):
            queue.call_leave_queue(call_id=Call.objects.get(call_sid=A).pk, now=clock.now)
            fake_twilio.fail[data["To"]] = 400
        return real(method, uri, params=params, data=data, **kw)

    monkeypatch.setattr(fake_twilio, "request", request)
    start(tw, "1", A)
    offer = attempt(A, v)
    assert (offer.result, offer.error) == (CallAttempt.Result.CANCELLED, "")


def test_a_phone_dialled_as_the_caller_leaves_keeps_the_time_they_left(
    scene, tw, fake_twilio, clock, monkeypatch
):
    """The caller leaves the queue 2 s into the dial: the offer was closed then, and the
    dial's answer (the leg then stopped) does not rewrite it. Kills _dial 89 (the offer
    closed again at the dispatch's time)."""
    v = scene.on_shift("counsellor")
    real = fake_twilio.request
    left = clock.now + dt.timedelta(seconds=2)

    def request(method, uri, params=None, data=None, **kw):
        if method == "POST" and uri.endswith("/Calls.json"):
            queue.call_leave_queue(call_id=Call.objects.get(call_sid=A).pk, now=left)
        return real(method, uri, params=params, data=data, **kw)

    monkeypatch.setattr(fake_twilio, "request", request)
    start(tw, "1", A)
    offer = attempt(A, v)
    assert (offer.result, offer.ended_at) == (CallAttempt.Result.CANCELLED, left)
    assert fake_twilio.stopped() == [(offer.leg_sid, "canceled")]


# --- the second pass's survivors (docs/testing.md, "Open, not yet decided") -------------------


def test_a_phone_given_up_is_stopped_when_the_same_look_sends_another_caller_to_voicemail(
    scene, tw, fake_twilio, clock
):
    """B's counsellor's phone rang past its time (its callbacks lost), and A's only educator
    went off shift while her phone rings for A: the one look that gives up B's phone and
    sends A to voicemail stops both phones. Kills _plan 145 (B's phone left ringing)."""
    v = scene.on_shift("counsellor")
    start(tw, "1", B)
    late = attempt(B, v)
    clock.advance(seconds=scene.hotline.ring_timeout)
    e = scene.on_shift("family_educator")
    start(tw, "2", A)
    ringing = attempt(A, e)
    e.assignments.all().delete()  # off shift (a shift edit)
    clock.advance(seconds=queue.BATCH_GRACE + 1)
    fake_twilio.requests.clear()
    hold(tw, B)  # B's next check is due: the look
    assert state(A) == ("voicemail", "nobody_on_shift")
    assert attempt(B, v).result == CallAttempt.Result.NO_ANSWER
    assert sorted(fake_twilio.stopped()) == sorted(
        [(late.leg_sid, "canceled"), (ringing.leg_sid, "canceled")]
    )


def test_a_caller_keeps_the_counsellors_tier_while_supervisors_are_added(
    scene, tw, fake_twilio, clock
):
    """While a counsellor's phone rings for A, the call's recorded ring tier (on the call's
    admin page) stays "volunteers" as supervisors are added beside it: the first at
    SUPERVISOR_AFTER, another when he comes free. Kills _plan 213 (the tier of the newest
    phone recorded) and 112 (the tier of the newest open offer)."""
    scene.hotline.ring_batch_size = 3
    scene.hotline.save()
    s2 = scene.on_shift("supervisor")
    talking(tw, C)  # s2, the only one on shift, takes C
    u = scene.on_shift("counsellor")
    s1 = scene.on_shift("supervisor")
    start(tw, "1", A)
    assert [a.volunteer for a in offers(A)] == [u]
    clock.advance(seconds=queue.SUPERVISOR_AFTER.total_seconds())
    hold(tw, A)
    assert [a.volunteer for a in offers(A)] == [u, s1]
    assert Call.objects.get(call_sid=A).ring_tier == Call.Tier.VOLUNTEERS
    clock.advance(seconds=2)
    hang_up(tw, C)
    leg(tw, attempt(C, s2), "leg-status", CallStatus="completed")  # s2 free
    assert [a.volunteer for a in offers(A)] == [u, s1, s2]
    assert Call.objects.get(call_sid=A).ring_tier == Call.Tier.VOLUNTEERS


def _both_talking(scene, tw):
    """v talks to A, w to B (one phone per caller)."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    first = talking(tw, A)
    second = talking(tw, B)
    assert first.volunteer != second.volunteer
    return first, second


def test_a_volunteers_dial_ending_frees_only_that_volunteer(scene, tw, fake_twilio, clock):
    """Both callers hang up; only v's `<Dial>` reports its end (w's leg has not said it
    ended: w counts busy for LEG_LINGER). The waiting callers' next look rings v for C and
    leaves D waiting, w's phone not rung. Kills leg_conference_over 10 (every accepted leg
    of an ended call marked over)."""
    first, second = _both_talking(scene, tw)
    start(tw, "1", C)
    start(tw, "1", D)
    clock.advance(seconds=30)
    hang_up(tw, A)
    hang_up(tw, B)
    assert "<Hangup" in leg(tw, first, "dial-done", DialCallStatus="completed").content.decode()
    clock.advance(seconds=1)
    fake_twilio.requests.clear()
    hold(tw, C)
    assert fake_twilio.dialled() == [first.volunteer.phone_number]
    assert open_offer(C).volunteer == first.volunteer
    assert not offers(D)


def test_a_volunteers_attempt_keeps_the_time_their_caller_hung_up(scene, tw, fake_twilio, clock):
    """The accepted offer's end (on the call's admin page) is when the caller hung up, not
    when the volunteer's `<Dial>` or leg later reported its end. Kills leg_conference_over 19
    and leg_status_update 87 (the end time moved to the later report)."""
    scene.on_shift("counsellor")
    offer = talking(tw, A)
    clock.advance(minutes=10)
    hung_up = clock.now
    hang_up(tw, A)
    clock.advance(seconds=2)
    leg(tw, offer, "dial-done", DialCallStatus="completed")
    offer.refresh_from_db()
    assert (offer.result, offer.ended_at) == (CallAttempt.Result.ACCEPTED, hung_up)
    clock.advance(seconds=2)
    leg(tw, offer, "leg-status", CallStatus="completed")
    offer.refresh_from_db()
    assert (offer.result, offer.ended_at) == (CallAttempt.Result.ACCEPTED, hung_up)


def test_one_call_ending_does_not_make_the_lines_other_live_call_due_a_twilio_read(
    scene, tw, fake_twilio, clock
):
    """A hangs up and v's `<Dial>` reports its end: B, still talking to w, is read from
    Twilio at its own LIVE_CHECK, not by the next sweep. Kills leg_conference_over 32 (the
    line's live calls made due as well as its waiting ones)."""
    first, _second = _both_talking(scene, tw)
    clock.advance(seconds=20)
    hang_up(tw, A)
    leg(tw, first, "dial-done", DialCallStatus="completed")
    clock.advance(seconds=2)
    fake_twilio.requests.clear()
    calls_sweep(now=clock.now)
    assert fake_twilio.read() == []
    clock.advance(seconds=60)
    calls_sweep(now=clock.now)
    assert fake_twilio.read()[0] == B  # its own check, a minute after it was answered


def test_the_volunteers_phone_ending_after_a_hand_over_sends_nothing_more(scene, tw, fake_twilio):
    """After * and 1 the supervisor has the caller (the hand-over told Twilio so): the
    volunteer's leg ending later asks Twilio for nothing. Kills leg_status_update 74 (the
    handed-over volunteer taken for one still on the call: the supervisor's participant
    updated again)."""
    from tests.hotline.calls import test_transfer as transfer

    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, offer = transfer.live_call(tw, v)
    transfer.star(tw, offer)
    transfer.leg(tw, offer, "transfer-key", Digits="9")
    join = call.joins.get()
    transfer.supervisor_answers(tw, join)
    transfer.star(tw, offer)
    assert "handed the call over" in transfer.leg(tw, offer, "transfer-key", Digits="1")
    fake_twilio.requests.clear()
    transfer.leg(tw, offer, "leg-status", CallStatus="completed")
    assert fake_twilio.requests == []
    assert Call.objects.get(pk=call.pk).state == Call.State.CONNECTED


def test_the_sweeps_count_is_of_waiting_callers_only(scene, tw, fake_twilio, clock):
    """The scheduled sweep's result (the task's recorded result) counts waiting callers due
    a look; a call in conversation due its live check is read from Twilio but not counted.
    Kills calls_sweep 16 (calls of every state counted, and their lines dispatched)."""
    scene.on_shift("counsellor")
    talking(tw, A)
    clock.advance(seconds=61)
    fake_twilio.requests.clear()
    assert calls_sweep(now=clock.now) == 0
    assert fake_twilio.read()[0] == A


def test_the_hold_words_are_not_said_again_before_their_time(db, clock, monkeypatch):
    """The words come every HOLD_WORDS_EVERY: a quiet round 6 s after them (1 s after the
    words, then a quiet round of at most HOLD_TICK) stays quiet. The cache's expiry runs on
    the test clock here (Django's in-memory cache reads time.time()). Kills hold_round 14
    (the entry kept 3.75 s: the words again at every second round, about every 6 s)."""
    from types import SimpleNamespace

    from django.core.cache.backends import base, locmem

    frozen = SimpleNamespace(time=lambda: clock.now.timestamp())
    monkeypatch.setattr(base, "time", frozen)
    monkeypatch.setattr(locmem, "time", frozen)
    call = Call(call_sid=A)
    assert queue.hold_round(call=call, now=clock.now) == (True, queue.HOLD_AFTER_WORDS)
    clock.advance(seconds=queue.HOLD_AFTER_WORDS)
    assert queue.hold_round(call=call, now=clock.now) == (False, queue.HOLD_TICK)
    clock.advance(seconds=queue.HOLD_TICK)
    assert queue.hold_round(call=call, now=clock.now) == (False, queue.HOLD_TICK)
    clock.advance(seconds=15 - queue.HOLD_AFTER_WORDS - queue.HOLD_TICK)
    assert queue.hold_round(call=call, now=clock.now) == (True, queue.HOLD_AFTER_WORDS)


def test_a_refusal_with_a_long_message_is_recorded_cut_to_its_column(
    scene, tw, fake_twilio, monkeypatch
):
    """Twilio refuses a phone with a message longer than the offer's `error` column (500
    characters, shown on the call's admin page): the first 500 are recorded (PostgreSQL
    would refuse a longer value and the dispatch with it; SQLite keeps it, so the length is
    checked here). Kills _dial 45 (cut at 501)."""
    v = scene.on_shift("counsellor")
    fake_twilio.fail[v.phone_number] = 400
    answer = fake_twilio.request

    def long_refusal(method, uri, **kw):
        response = answer(method, uri, **kw)
        if response.status_code == 400:
            body = {"code": 13223, "message": "x" * 600, "status": 400}
            return Response(400, json.dumps(body))
        return response

    monkeypatch.setattr(fake_twilio, "request", long_refusal)
    start(tw, "1", A)
    (refused,) = offers(A)
    assert refused.result == CallAttempt.Result.FAILED
    assert refused.error.startswith("Twilio 400 13223: ") and len(refused.error) == 500


# --- the second ring (RETRY_AFTER), numbered on 86295af ---------------------------------------


def test_a_second_ring_declined_is_the_last(scene, tw, fake_twilio, clock):
    """A volunteer who missed a caller's first ring and declined the second is not rung a
    third time: only a ring that went unanswered may be repeated, and only once. Kills
    _plan 126 (a decline not remembered)."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    talking(tw, A)  # the other counsellor
    start(tw, "1", B)
    assert _missed(tw, B) == w
    clock.advance(seconds=queue.RETRY_AFTER.total_seconds())
    hold(tw, B)
    again = open_offer(B)
    assert again.volunteer == w
    leg(tw, again, "offer")
    leg(tw, again, "accept", Digits="2")  # no, this time
    leg(tw, again, "leg-status", CallStatus="completed")
    clock.advance(seconds=queue.RETRY_AFTER.total_seconds() * 3)
    hold(tw, B)
    assert fake_twilio.dialled().count(w.phone_number) == 2
    assert [a.volunteer for a in offers(B)] == [w, w]
    assert state(B) == ("ringing", "")


def test_two_volunteers_who_missed_a_caller_are_each_rung_again_when_due(
    scene, tw, fake_twilio, clock
):
    """w misses B's ring, then x, ten seconds later. B is looked at again when w's second
    ring is due (not at the next 15 s recheck), and once w has missed twice, x still gets
    their second ring when it is due. Kills _plan 159 (the first volunteer done with made
    the rest skipped) and 165 (the latest second ring taken as the next one)."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    x = scene.on_shift("counsellor")
    talking(tw, A)  # the first counsellor
    start(tw, "1", B)
    assert _missed(tw, B) == w
    w_missed = clock.now
    assert open_offer(B).volunteer == x  # rung at once: not yet tried
    clock.advance(seconds=10)
    assert _missed(tw, B) == x
    x_missed = clock.now
    assert Call.objects.get(call_sid=B).batch_deadline == w_missed + queue.RETRY_AFTER
    clock.advance(seconds=10)
    hold(tw, B)
    assert open_offer(B).volunteer == w
    assert _missed(tw, B) == w  # twice: w is done for B
    assert Call.objects.get(call_sid=B).batch_deadline == x_missed + queue.RETRY_AFTER
    clock.advance(seconds=10)
    hold(tw, B)
    assert open_offer(B).volunteer == x
    assert [a.volunteer for a in offers(B)] == [w, x, w, x]
