"""Call routing end to end through the signed webhooks: who is rung, batches, tiers,
accepting, voicemail."""

import datetime as dt

import pytest

from hotline.models import Call, CallAttempt, CallbackRequest, RingRotation
from tests.support import factories as f
from tests.support.twilio import NOW, call_data, fixture

SID = "CA11111111111111111111111111111111"


def start(tw, digits="1", sid=SID):
    r = tw("/twilio/voice/incoming", call_data(sid))
    assert r.status_code == 200
    data = fixture("voice-gather-digits")
    data["CallSid"] = sid
    data["Digits"] = digits
    return tw("/twilio/voice/menu", data)


def leg(tw, attempt, path, **kw):
    data = fixture("voice-screen-answer")
    data["CallSid"] = attempt.leg_sid or "CA99999999999999999999999999999999"
    data["To"] = attempt.volunteer.phone_number
    data.update(kw)
    return tw(f"/twilio/voice/{path}?attempt={attempt.pk}", data)


def attempts(call=None):
    qs = CallAttempt.objects.select_related("volunteer").order_by("id")
    return list(qs.filter(call=call) if call else qs)


def test_incoming_call_plays_greeting_and_menu(scene, tw):
    scene.on_shift("counsellor")
    r = tw("/twilio/voice/incoming", call_data())
    body = r.content.decode()
    assert r.status_code == 200 and r["Content-Type"].startswith("text/xml")
    assert "<Gather" in body and "/twilio/voice/menu" in body and "press 1" in body
    call = Call.objects.get(call_sid=SID)
    assert call.state == Call.State.MENU and call.arrived_at == NOW
    # never the number: a keyed hash and the last four digits
    assert call.caller_last4 == "8000" and len(call.caller_hash) == 64
    assert "13800138000" not in call.caller_hash


def test_pressing_1_enqueues_caller_and_dials_counsellors_on_shift(scene, tw, fake_twilio):
    a = scene.on_shift("counsellor")
    b = scene.on_shift("counsellor")
    scene.on_shift("family_educator")
    r = start(tw, "1")
    body = r.content.decode()
    assert "<Enqueue" in body and "/twilio/voice/hold" in body
    assert sorted(fake_twilio.dialled()) == sorted([a.phone_number, b.phone_number])
    call = Call.objects.get()
    assert (
        call.state == Call.State.RINGING
        and call.category == "psychological"
        and call.ring_batch == 1
    )
    assert {x.volunteer for x in attempts()} == {a, b}
    assert all(x.leg_sid for x in attempts())


@pytest.mark.parametrize(
    ("digits", "role"),
    [("1", "counsellor"), ("2", "family_educator"), ("3", "counsellor")],
)
def test_each_category_rings_its_role(scene, tw, fake_twilio, digits, role):
    counsellor = scene.on_shift("counsellor")
    educator = scene.on_shift("family_educator")
    start(tw, digits)
    expected = counsellor if role == "counsellor" else educator
    assert fake_twilio.dialled() == [expected.phone_number]


def test_wrong_key_replays_menu_once_then_psychological_support(scene, tw, fake_twilio):
    counsellor = scene.on_shift("counsellor")
    r = start(tw, "9")
    assert "<Gather" in r.content.decode() and fake_twilio.dialled() == []
    data = fixture("voice-gather-timeout")  # no key the second time
    r = tw("/twilio/voice/menu", data)
    assert "<Enqueue" in r.content.decode()
    assert Call.objects.get().category == "psychological"
    assert fake_twilio.dialled() == [counsellor.phone_number]


def test_who_is_rung_at_an_instant(scene, tw, fake_twilio, clock):
    """A shift that ended a minute ago, one crossing midnight, a draft roster."""
    clock.set(f.at(2026, 3, 3, 0, 30))  # Tuesday 00:30
    ended = f.shift(
        roster_=scene.roster, starts_at=f.at(2026, 3, 2, 18), ends_at=f.at(2026, 3, 3, 0, 29)
    )
    night = f.shift(roster_=scene.roster, starts_at=f.at(2026, 3, 2, 20), hours=12)  # 20:00–08:00
    draft = f.shift(
        roster_=f.roster(hotline_=scene.hotline), starts_at=f.at(2026, 3, 2, 20), hours=12
    )
    gone = scene.on_shift("counsellor", shift_=ended)
    overnight = scene.on_shift("counsellor", shift_=night)
    drafted = scene.on_shift("counsellor", shift_=draft)
    start(tw, "1")
    assert fake_twilio.dialled() == [overnight.phone_number]
    dialled = {x.volunteer for x in attempts()}
    assert gone not in dialled and drafted not in dialled


def test_busy_volunteer_is_skipped(scene, tw, fake_twilio):
    busy = scene.on_shift("counsellor")
    free = scene.on_shift("counsellor")
    other = Call.objects.create(
        call_sid="CA" + "5" * 32,
        hotline=scene.hotline,
        arrived_at=NOW,
        state=Call.State.CONNECTED,
        answered_by=busy,
    )
    CallAttempt.objects.create(
        call=other, volunteer=busy, tier="volunteers", batch=1, offered_at=NOW, result="accepted"
    )
    start(tw, "1")
    assert fake_twilio.dialled() == [free.phone_number]


def test_fair_rotation_longest_since_last_offer_first(scene, tw, fake_twilio):
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    recent = scene.on_shift("counsellor")
    long_ago = scene.on_shift("counsellor")
    RingRotation.objects.create(volunteer=recent, last_offered_at=NOW - dt.timedelta(minutes=5))
    RingRotation.objects.create(volunteer=long_ago, last_offered_at=NOW - dt.timedelta(days=2))
    never = scene.on_shift("counsellor")
    start(tw, "1")
    assert fake_twilio.dialled() == [never.phone_number]
    assert RingRotation.objects.get(volunteer=never).last_offered_at == NOW
    # next batch: the one who waited longest
    first = attempts()[0]
    leg(tw, first, "leg-status", CallStatus="no-answer")
    assert fake_twilio.dialled()[1] == long_ago.phone_number


def test_first_accept_wins_others_cancelled_late_acceptor_hears_taken(
    scene, tw, fake_twilio, clock
):
    a = scene.on_shift("counsellor")
    b = scene.on_shift("counsellor")
    start(tw, "1")
    att_a, att_b = attempts()
    r = leg(tw, att_a, "offer")
    assert "Press 1" in r.content.decode() and "/twilio/voice/accept" in r.content.decode()
    leg(tw, att_b, "offer")
    clock.advance(seconds=7)
    r = leg(tw, att_a, "accept", Digits="1")
    body = r.content.decode()
    assert "<Dial" in body and f">call-{att_a.call_id}</Conference>" in body
    # the caller is moved from the hold queue into the same conference
    assert SID in fake_twilio.redirected()
    call = Call.objects.get()
    assert (
        call.state == Call.State.CONNECTED and call.answered_by == a and call.shift == scene.shift
    )
    assert call.wait_seconds == 7
    # b's answered leg was hung up
    assert (att_b.leg_sid, "completed") in fake_twilio.stopped() or (
        att_b.leg_sid,
        "canceled",
    ) in fake_twilio.stopped()
    r = leg(tw, att_b, "accept", Digits="1")
    assert "already taken" in r.content.decode() and "<Hangup" in r.content.decode()
    att_b.refresh_from_db()
    assert att_b.result == CallAttempt.Result.CANCELLED  # stopped before it pressed
    assert CallAttempt.objects.get(pk=att_a.pk).result == "accepted"
    assert b not in [call.answered_by]


def test_late_press_after_caller_hung_up(scene, tw):
    scene.on_shift("counsellor")
    start(tw, "1")
    att = attempts()[0]
    tw("/twilio/voice/status", fixture("voice-status-completed"))
    r = leg(tw, att, "accept", Digits="1")
    assert "no longer waiting" in r.content.decode()
    assert Call.objects.get().outcome == Call.Outcome.ABANDONED


def test_voicemail_box_answering_never_takes_the_call(scene, tw, fake_twilio):
    """A leg answered by a voicemail box hears the whisper, presses nothing, ends: declined."""
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    a = scene.on_shift("counsellor")
    b = scene.on_shift("counsellor")
    start(tw, "1")
    first = attempts()[0]
    leg(tw, first, "offer")
    leg(tw, first, "leg-status", CallStatus="completed")
    first.refresh_from_db()
    assert first.result == CallAttempt.Result.DECLINED
    assert Call.objects.get().state == Call.State.RINGING
    assert fake_twilio.dialled() == [a.phone_number, b.phone_number]


def test_batches_then_supervisors_then_voicemail(scene, tw, fake_twilio):
    scene.hotline.ring_batch_size = 2
    scene.hotline.save()
    counsellors = [scene.on_shift("counsellor") for _ in range(3)]
    sup = scene.on_shift("supervisor", "counsellor", role="supervisor")
    start(tw, "1")
    assert len(fake_twilio.dialled()) == 2
    for x in attempts():
        leg(tw, x, "leg-status", CallStatus="no-answer")
    call = Call.objects.get()
    assert call.ring_batch == 2 and call.ring_tier == "volunteers"
    assert len(fake_twilio.dialled()) == 3
    leg(tw, attempts()[-1], "leg-status", CallStatus="busy")
    call.refresh_from_db()
    assert call.ring_tier == "supervisors" and fake_twilio.dialled()[-1] == sup.phone_number
    leg(tw, attempts()[-1], "leg-status", CallStatus="no-answer")
    call.refresh_from_db()
    assert call.state == Call.State.VOICEMAIL and call.voicemail_reason == "nobody_answered"
    assert call.call_sid in fake_twilio.redirected()
    assert [x.result for x in attempts()] == ["no-answer", "no-answer", "busy", "no-answer"]
    assert {x.volunteer for x in attempts()} == {*counsellors, sup}
    # the hold loop takes the caller out of the queue; the queue action plays voicemail
    r = tw(f"/twilio/voice/hold?call={call.pk}", call_data())
    assert "<Leave" in r.content.decode()
    r = tw(f"/twilio/voice/queue-done?call={call.pk}", {**call_data(), "QueueResult": "leave"})
    body = r.content.decode()
    assert "could answer" in body and "120, 110" in body and "press 1" in body


def test_voicemail_with_callback_request_and_sms_to_coordinators_and_shift(scene, tw):
    counsellor = scene.on_shift("counsellor")
    coordinator = f.coordinator_user()
    coord_v = f.volunteer(roles=(), user=coordinator, phone_number="+8613600136000")
    f.volunteer(roles=("counsellor",))  # not on shift: no SMS
    start(tw, "2")  # no family-education expert on shift
    call = Call.objects.get()
    assert call.state == Call.State.VOICEMAIL and call.voicemail_reason == "nobody_on_shift"
    data = {**fixture("voice-gather-digits"), "Digits": "1"}
    r = tw(f"/twilio/voice/callback?call={call.pk}", data)
    assert "call you back" in r.content.decode() and "safe for us" in r.content.decode()
    cb = CallbackRequest.objects.get()
    assert cb.number == "+8613800138000" and cb.hotline == scene.hotline
    r = tw(f"/twilio/voice/recorded?call={call.pk}", fixture("voice-record-done"))
    assert r.status_code == 200
    tw(f"/twilio/voice/recorded?call={call.pk}", fixture("voice-record-done"))  # replay
    call.refresh_from_db()
    assert (
        call.recording_sid == "RE33333333333333333333333333333333" and call.recording_duration == 41
    )
    from hotline.models import Message

    messages = Message.objects.filter(purpose="voicemail")
    assert sorted(m.to for m in messages) == sorted([counsellor.phone_number, coord_v.phone_number])
    assert all("13800138000" not in m.body and "8000" not in m.body for m in messages)
    tw("/twilio/voice/status", fixture("voice-status-completed"))
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.VOICEMAIL and call.state == Call.State.ENDED


def test_out_of_hours_goes_to_voicemail_with_emergency_numbers(scene, tw, clock):
    scene.on_shift("counsellor")
    clock.set(f.at(2026, 3, 2, 15))  # after the 08–14 shift
    r = tw("/twilio/voice/incoming", call_data())
    body = r.content.decode()
    assert "closed" in body and "120, 110" in body and "<Gather" in body
    call = Call.objects.get()
    assert call.state == Call.State.VOICEMAIL
    tw("/twilio/voice/status", fixture("voice-status-completed"))
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.OUT_OF_HOURS


def test_rest_error_while_dialling_moves_to_next_volunteer(scene, tw, fake_twilio):
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    bad = scene.on_shift("counsellor")
    good = scene.on_shift("counsellor")
    fake_twilio.fail[bad.phone_number] = 400
    start(tw, "1")
    first, second = attempts()
    assert first.volunteer == bad and first.result == "failed" and "400" in first.error
    assert second.volunteer == good and second.result == "" and second.leg_sid
    assert Call.objects.get().state == Call.State.RINGING


def test_unusable_number_is_skipped_and_recorded(scene, tw, fake_twilio):
    broken = scene.on_shift("counsellor")
    type(broken).objects.filter(pk=broken.pk).update(phone_number="12345")
    good = scene.on_shift("counsellor")
    start(tw, "1")
    assert fake_twilio.dialled() == [good.phone_number]
    skipped = CallAttempt.objects.get(volunteer=broken)
    assert skipped.result == "skipped" and "unusable" in skipped.error


def test_lost_leg_callbacks_are_covered_by_the_sweep(scene, tw, fake_twilio, clock):
    from hotline.calls.services import calls_sweep

    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    second = scene.on_shift("counsellor")
    start(tw, "1")
    assert calls_sweep() == 0
    clock.advance(seconds=scene.hotline.ring_timeout + 16)
    assert calls_sweep() == 1
    assert calls_sweep() == 0  # moved on once
    assert [x.result for x in attempts()] == ["no-answer", ""]
    assert fake_twilio.dialled()[-1] == second.phone_number


def test_sweep_takes_the_longest_overdue_hotlines_first(scene, clock):
    """A run dispatches at most `limit` hotlines: those with the call waiting longest past
    its next check."""
    from hotline.calls.services import calls_sweep

    def waiting(n, minutes_overdue):
        return Call.objects.create(
            call_sid=f"CA{n:032d}",
            hotline=f.hotline(),  # nobody on shift: a dispatch sends it to voicemail
            arrived_at=NOW - dt.timedelta(minutes=10),
            state=Call.State.RINGING,
            category="psychological",
            ring_tier=Call.Tier.VOLUNTEERS,
            ring_batch=1,
            batch_deadline=NOW - dt.timedelta(minutes=minutes_overdue),
        )

    oldest, older, recent = waiting(1, 5), waiting(2, 3), waiting(3, 1)  # newest id last
    assert calls_sweep(now=NOW, limit=2) == 2
    moved = set(Call.objects.exclude(state=Call.State.RINGING).values_list("pk", flat=True))
    assert moved == {oldest.pk, older.pk}
    assert Call.objects.get(pk=recent.pk).state == Call.State.RINGING


def test_hold_loop_advances_an_overdue_batch(scene, tw, fake_twilio, clock):
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    scene.on_shift("counsellor")
    start(tw, "1")
    call = Call.objects.get()
    r = tw(f"/twilio/voice/hold?call={call.pk}", call_data())
    assert "<Gather" in r.content.decode() and "<Leave" not in r.content.decode()
    clock.advance(minutes=1)
    r = tw(f"/twilio/voice/hold?call={call.pk}", call_data())
    assert "<Leave" in r.content.decode()


def test_concurrent_advance_moves_on_once(scene, tw, fake_twilio):
    from hotline.calls.services import call_advance

    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    for _ in range(3):
        scene.on_shift("counsellor")
    start(tw, "1")
    call = Call.objects.get()
    call_advance(call_id=call.pk, from_batch=1, now=NOW)
    call_advance(call_id=call.pk, from_batch=1, now=NOW)
    call.refresh_from_db()
    assert call.ring_batch == 2 and len(fake_twilio.dialled()) == 2


def test_caller_hangs_up_while_ringing_cancels_legs(scene, tw, fake_twilio):
    scene.on_shift("counsellor")
    start(tw, "1")
    att = attempts()[0]
    tw("/twilio/voice/status", fixture("voice-status-completed"))
    att.refresh_from_db()
    assert att.result == CallAttempt.Result.CANCELLED
    assert (att.leg_sid, "canceled") in fake_twilio.stopped()
    assert Call.objects.get().outcome == Call.Outcome.ABANDONED


def test_chinese_hotline_speaks_chinese_menu(scene, tw):
    scene.hotline.language = "zh-CN"
    scene.hotline.save()
    scene.on_shift("counsellor")
    body = tw("/twilio/voice/incoming", call_data()).content.decode()
    assert 'language="cmn-CN"' in body
    assert "心理疏导请按1" in body and "press 1" not in body


def test_voicemail_sms_in_each_recipients_language(scene, tw):
    from hotline.models import Message

    chinese = scene.on_shift("counsellor", language="zh-hans")
    english = scene.on_shift("counsellor", language="en")
    start(tw, "2")  # no family-education expert on shift: voicemail
    call = Call.objects.get()
    tw(f"/twilio/voice/recorded?call={call.pk}", fixture("voice-record-done"))
    bodies = {m.to: m.body for m in Message.objects.filter(purpose="voicemail")}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in bodies[chinese.phone_number])
    assert bodies[english.phone_number].isascii()


def test_press_after_batch_timed_out_takes_the_call_and_counts_as_busy(
    scene, tw, fake_twilio, clock
):
    from hotline.calls.services import calls_sweep

    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    first = scene.on_shift("counsellor")
    second = scene.on_shift("counsellor")
    start(tw, "1")
    att = attempts()[0]
    leg(tw, att, "offer")
    clock.advance(seconds=scene.hotline.ring_timeout + 16)
    assert calls_sweep() == 1  # batch 1 given up while the volunteer listened to the whisper
    r = leg(tw, att, "accept", Digits="1")
    assert "<Dial" in r.content.decode()
    assert Call.objects.get().answered_by == first
    att.refresh_from_db()
    assert att.result == CallAttempt.Result.ACCEPTED and att.ended_at is None
    # On a call now: the next caller does not ring them. The second volunteer's leg was
    # stopped, and they count as busy until its final status arrives.
    start(tw, "1", sid="CA" + "2" * 32)
    assert fake_twilio.dialled() == [first.phone_number, second.phone_number]
    leg(tw, attempts()[1], "leg-status", CallStatus="canceled")
    assert fake_twilio.dialled() == [first.phone_number, second.phone_number, second.phone_number]
