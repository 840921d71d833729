"""The end of a caller's call, as a `make mutants` run of hotline/calls/services.py found it
unpinned (issue 19): the record a call leaves (outcome, end time, its volunteers' legs), a
call whose arrival was never recorded, and a voicemail's recording. Each test names the surviving mutant(s) it kills
(`hotline.calls.services.x_<name>`); see docs/testing.md for the recheck."""

import datetime as dt

import pytest

from hotline.calls import services as calls
from hotline.models import Call, CallAttempt, Message
from tests.support import factories as f
from tests.support.twilio import HOTLINE_NUMBER, NOW, call_data, fixture, leg

SID = "CA11111111111111111111111111111111"
OTHER = "CA22222222222222222222222222222222"
LOST = "CA55555555555555555555555555555555"


def start(tw, digits="1", sid=SID):
    assert tw("/twilio/voice/incoming", call_data(sid)).status_code == 200
    return tw(
        "/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": sid, "Digits": digits}
    )


def status(tw, sid, call_status, **kw):
    return tw(
        "/twilio/voice/status",
        {**fixture("voice-status-completed"), "CallSid": sid, "CallStatus": call_status, **kw},
    )


def attempts_of(sid):
    return list(CallAttempt.objects.filter(call__call_sid=sid).order_by("id"))


def connect(tw, sid=SID):
    """The caller `sid` answered by the first volunteer rung (who presses 1)."""
    attempt = attempts_of(sid)[0]
    leg(tw, attempt, "offer")
    assert "<Dial" in leg(tw, attempt, "accept", Digits="1").content.decode()
    attempt.refresh_from_db()
    return attempt


# --- a status only moves forward ---------------------------------------------------------------


def test_caller_status_is_kept_and_a_late_lower_status_never_moves_it_back(scene, tw):
    """What the calls list shows as the line's status. Kills call_status_update 23, 26, 29,
    30, 31 (a late `ringing` after `in-progress` written over it) and 35–38 (the status
    not saved)."""
    scene.on_shift("counsellor")
    start(tw)
    status(tw, SID, "in-progress")
    call = Call.objects.get()
    assert call.twilio_status == "in-progress"
    status(tw, SID, "ringing")
    call.refresh_from_db()
    assert call.twilio_status == "in-progress" and call.state == Call.State.RINGING


def test_a_status_callback_for_a_call_without_a_status_is_taken(scene, tw):
    """A call whose row has no status yet (a row written by hand, or before Twilio said
    anything) takes the first one. Kills call_status_update 27 (`.get(…, None)`: comparing
    with None fails)."""
    scene.on_shift("counsellor")
    start(tw)
    Call.objects.update(twilio_status="")
    status(tw, SID, "queued")
    assert Call.objects.get().twilio_status == "queued"


# --- how the call ends ---------------------------------------------------------------------------


def test_an_answered_call_ends_answered_with_its_end_time_and_frees_its_volunteer(
    scene, tw, fake_twilio, clock
):
    """The coordinator's call list: answered, when it ended, how long; the volunteer's leg
    ends too, so the volunteer is free for the next caller. Kills call_status_update 41, 53,
    79, 80, 81, 86."""
    scene.on_shift("counsellor")
    start(tw)
    attempt = connect(tw)
    clock.advance(minutes=13)
    status(tw, SID, "completed", CallDuration="780")
    call = Call.objects.get()
    assert (call.state, call.outcome) == (Call.State.ENDED, Call.Outcome.ANSWERED)
    assert call.ended_at == clock.now and call.duration == 780
    attempt.refresh_from_db()
    assert attempt.result == CallAttempt.Result.ACCEPTED and attempt.ended_at == clock.now


def test_one_call_ending_leaves_another_conversation_alone(scene, tw, fake_twilio, clock):
    """Two callers in conversation with two volunteers; the first hangs up. The second
    volunteer is still on their call: their leg must not be marked ended (they would be
    offered a new caller mid-conversation). Kills call_status_update 83 (every accepted leg
    of every call ended) and 85 (an accepted leg's earlier end overwritten)."""
    scene.on_shift("counsellor")
    scene.on_shift("counsellor")
    scene.hotline.ring_batch_size = 1
    scene.hotline.save()
    start(tw, sid=SID)
    first = connect(tw, SID)
    start(tw, sid=OTHER)
    second = connect(tw, OTHER)
    assert first.volunteer != second.volunteer
    clock.advance(minutes=5)
    status(tw, SID, "completed", CallDuration="300")
    second.refresh_from_db()
    assert second.ended_at is None
    assert Call.objects.get(call_sid=OTHER).state == Call.State.CONNECTED


def test_an_accepted_leg_that_ended_earlier_keeps_its_own_end_time(scene, tw, fake_twilio, clock):
    """A volunteer who left the conference (handed the caller over) ended their leg then;
    the caller hanging up later does not move it. Kills call_status_update 85."""
    scene.on_shift("counsellor")
    start(tw)
    attempt = connect(tw)
    left = NOW + dt.timedelta(minutes=2)
    CallAttempt.objects.filter(pk=attempt.pk).update(ended_at=left)
    clock.advance(minutes=10)
    status(tw, SID, "completed", CallDuration="600")
    attempt.refresh_from_db()
    assert attempt.ended_at == left


def test_caller_hanging_up_while_rung_cancels_only_their_own_ringing_legs(
    scene, tw, fake_twilio, clock
):
    """A caller hangs up while two volunteers' phones ring for them and a third volunteer
    is rung for another caller. Their legs are cancelled and stopped (a ringing leg is
    cancelled, an answered one hung up); the other caller's leg rings on; a leg that had
    already declined stays declined. Kills call_status_update 66, 67, 75, 77, 88, 90, 92,
    93."""
    for _ in range(3):
        scene.on_shift("counsellor")
    start(tw, sid=SID)  # batch of two
    start(tw, sid=OTHER)  # the third volunteer
    mine = attempts_of(SID)
    (theirs,) = attempts_of(OTHER)
    assert len(mine) == 2
    # The first of mine answered (hears the whisper); the second is still ringing.
    leg(tw, mine[0], "offer")
    tw(
        f"/twilio/voice/leg-status?attempt={mine[0].pk}",
        {**fixture("voice-screen-answer"), "CallSid": mine[0].leg_sid, "CallStatus": "in-progress"},
    )
    clock.advance(seconds=20)
    fake_twilio.requests.clear()
    status(tw, SID, "completed", CallDuration="20")
    for a in mine:
        a.refresh_from_db()
        assert (a.result, a.ended_at) == (CallAttempt.Result.CANCELLED, clock.now)
    stopped = dict(fake_twilio.stopped())
    assert stopped == {mine[0].leg_sid: "completed", mine[1].leg_sid: "canceled"}
    theirs.refresh_from_db()
    assert theirs.result == CallAttempt.Result.PENDING and theirs.ended_at is None


def test_an_out_of_hours_call_ends_out_of_hours_with_its_end_time(scene, tw, clock):
    """Kills call_status_update 48 (the outcome cleared: the row is not saved and the call
    never ends)."""
    scene.on_shift("counsellor")
    clock.set(f.at(2026, 3, 2, 15))  # after the 08–14 shift
    tw("/twilio/voice/incoming", call_data(SID))
    clock.advance(seconds=30)
    status(tw, SID, "completed", CallDuration="30")
    call = Call.objects.get()
    assert (call.state, call.outcome) == (Call.State.ENDED, Call.Outcome.OUT_OF_HOURS)
    assert call.ended_at == clock.now and call.duration == 30


def test_a_call_closed_under_the_reasons_old_name_still_ends_out_of_hours(scene, tw, clock):
    """A call that arrived while an old process still wrote the reason's former name
    ("out_of_hours", renamed "closed" by migration 0015) ends out of hours, not missed.
    Kills call_status_update 46, 47."""
    clock.set(f.at(2026, 3, 2, 15))
    tw("/twilio/voice/incoming", call_data(SID))
    Call.objects.update(voicemail_reason="out_of_hours", outcome="")
    status(tw, SID, "completed", CallDuration="30")
    assert Call.objects.get().outcome == Call.Outcome.OUT_OF_HOURS


# --- a call whose arrival was never recorded ------------------------------------------------------


def test_final_status_of_a_call_never_recorded_records_it_as_missed(scene, tw, caplog):
    """The caller hung up while the database was too busy to take the arrival: the final
    status callback records the call after all, as missed, arrived `CallDuration` seconds
    before, with the caller counted (hashed) but never stored. Kills _call_never_recorded
    1–42 (10–13: the log line) and call_status_update 11–22."""
    with caplog.at_level("WARNING", logger="hotline.calls.services"):
        status(tw, LOST, "completed", CallDuration="12", From="+8613800138000")
    # What the operator reads in the log: which call, and what was done about it.
    assert f"call {LOST} ended before it could be recorded: recorded as missed" in [
        r.getMessage() for r in caplog.records
    ]
    call = Call.objects.get(call_sid=LOST)
    assert call.hotline == scene.hotline
    assert (call.state, call.outcome, call.voicemail_reason) == (
        Call.State.ENDED,
        Call.Outcome.MISSED,
        Call.VoicemailReason.NOT_RECORDED,
    )
    assert call.arrived_at == NOW - dt.timedelta(seconds=12)
    assert call.ended_at == NOW and call.duration == 12
    assert call.twilio_status == "completed"
    assert call.caller_hash == calls.caller_hash("+8613800138000")
    assert call.caller_last4 == "8000"
    # A replay of the same callback records nothing more.
    status(tw, LOST, "completed", CallDuration="12", From="+8613800138000")
    assert Call.objects.filter(call_sid=LOST).count() == 1


def test_a_never_recorded_call_without_a_duration_arrived_when_it_ended(scene):
    """Kills _call_never_recorded mutants on `duration or 0`."""
    call = calls.call_status_update(
        call_sid=LOST, status="busy", duration=None, now=NOW, to_number=HOTLINE_NUMBER
    )
    assert call.arrived_at == call.ended_at == NOW and call.duration is None
    assert call.twilio_status == "busy"


def test_a_never_recorded_call_from_the_inbox_keeps_no_caller(scene):
    """The inbox never keeps the caller's number: the service, given none, stores no hash.
    Kills call_status_update 2 (a made-up number's hash) and 3 (an inbound call by default)."""
    call = calls.call_status_update(
        call_sid=LOST, status="completed", duration=5, now=NOW, to_number=HOTLINE_NUMBER
    )
    assert call is not None and call.caller_hash == "" and call.caller_last4 == ""


@pytest.mark.parametrize(
    "data",
    [
        {"CallStatus": "ringing"},  # not final: the arrival may still be on its way
        {"Direction": "outbound-api"},  # a volunteer's leg or a callback, not a caller
        {"To": "+8637529999999"},  # not a hotline's number
    ],
)
def test_a_status_for_an_unknown_call_records_nothing_unless_it_is_a_callers_last(scene, tw, data):
    """Kills call_status_update 8, 9, 10 and _call_never_recorded on the hotline lookup."""
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": LOST, **data})
    assert not Call.objects.filter(call_sid=LOST).exists()


# --- a voicemail's recording ----------------------------------------------------------------------


def _voicemail(tw, sid=SID):
    start(tw, "2", sid=sid)  # nobody for family education on shift: voicemail at once
    return Call.objects.get(call_sid=sid)


def test_a_recording_lands_on_its_own_call_only_and_a_second_never_replaces_it(scene, tw, clock):
    """Two callers leave messages. Each message is on its own call; a second recording
    posted for a call (a retry with another SID) does not replace the first. The caller
    hears the hotline's goodbye, not the apology of a failed request. Kills
    voicemail_record 7, 10, 11, 19–22."""
    scene.on_shift("counsellor")
    first = _voicemail(tw, SID)
    second = _voicemail(tw, OTHER)
    clock.advance(seconds=40)
    r = tw(
        f"/twilio/voice/recorded?call={first.pk}",
        {**fixture("voice-record-done"), "RecordingSid": "RE" + "1" * 32},
    )
    assert "Thank you for calling. Goodbye." in r.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.recording_sid == "RE" + "1" * 32 and second.recording_sid == ""
    assert first.updated_at == clock.now  # the calls API's "changed since" sees it
    tw(
        f"/twilio/voice/recorded?call={first.pk}",
        {**fixture("voice-record-done"), "RecordingSid": "RE" + "2" * 32},
    )
    first.refresh_from_db()
    assert first.recording_sid == "RE" + "1" * 32


def test_a_recording_after_the_call_ended_makes_it_a_voicemail(scene, tw):
    """The recording callback kept in the inbox while the database was busy is written after
    the final status: the missed call becomes a voicemail, and only that call. Kills
    _late_voicemail 1–3, 5–7."""
    scene.on_shift("counsellor")
    mine = _voicemail(tw, SID)
    other = _voicemail(tw, OTHER)
    status(tw, SID, "completed", CallDuration="40")
    status(tw, OTHER, "completed", CallDuration="40")
    assert Call.objects.get(pk=mine.pk).outcome == Call.Outcome.MISSED
    calls.voicemail_record(call=mine, recording_sid="RE" + "3" * 32, duration=30, now=NOW)
    mine.refresh_from_db()
    assert (mine.state, mine.outcome) == (Call.State.ENDED, Call.Outcome.VOICEMAIL)
    assert Call.objects.get(pk=other.pk).outcome == Call.Outcome.MISSED


def test_an_out_of_hours_message_written_after_the_call_ended_makes_it_a_voicemail(
    scene, tw, clock
):
    """Out of hours, a caller leaves a message; its recording callback waited in the inbox
    and is written after the final status. In time, the call would have ended as a
    voicemail (a message outranks "out of hours" in call_status_update); late, it must end
    the same. Found through _late_voicemail 7 (the outcome filter dropped): the service
    kept "out of hours", so the statistics counted a message as none. Fixed."""
    clock.set(f.at(2026, 3, 2, 15))  # after the 08–14 shift
    tw("/twilio/voice/incoming", call_data(SID))
    status(tw, SID, "completed", CallDuration="60")
    call = Call.objects.get()
    assert call.outcome == Call.Outcome.OUT_OF_HOURS
    calls.voicemail_record(call=call, recording_sid="RE" + "4" * 32, duration=30, now=clock.now)
    call.refresh_from_db()
    assert call.outcome == Call.Outcome.VOICEMAIL


def test_voicemail_sms_says_the_time_in_the_hotlines_zone_and_chinese_by_default(scene, tw):
    """A London hotline (the server's zone is Shanghai): the volunteers on shift read the
    caller's time as London's, 02:00 GMT for 10:00 in Shanghai; a volunteer with no language
    set reads Chinese. Kills voicemail_notify 8 (the server's zone), 30, 31 (the time's
    format), 17 (the fallback language; 8 and 17 checked by hand)."""
    scene.hotline.time_zone = "Europe/London"
    scene.hotline.save()
    english = scene.on_shift("counsellor", language="en")
    unset = scene.on_shift("counsellor", language="")
    call = _voicemail(tw)
    tw(f"/twilio/voice/callback?call={call.pk}", {**fixture("voice-gather-digits"), "Digits": "1"})
    bodies = {m.to: m.body for m in Message.objects.filter(purpose="voicemail")}
    assert bodies[english.phone_number] == (
        f"{scene.hotline.name}: a caller left a message or asked to be called back at 02:00."
        " See the callback queue."
    )
    assert "02:00" in bodies[unset.phone_number]
    assert "a caller left" not in bodies[unset.phone_number]  # Chinese


# --- the @transaction.atomic services: non-data calls, callbacks, safety answers ----------------
# (first mutated since bin/mutants.py writes the decorator as a `with` block, 76186e0)


def _answered(scene, volunteer):
    from tests.support.crisis import answered_call

    return answered_call(scene.hotline, volunteer, at=NOW)


def test_marking_a_call_non_data_moves_it_and_is_on_its_trail(scene, volunteer, clock):
    """Marked at 10:05 (the clock says 10:00): the call shows it, changed at 10:05, and the
    call's trail says who marked it what and when. Kills call_mark_non_data 32 (`updated_at`
    not moved), 34, 36–38, 41–47 (the trail's entry) and 48 (the call handed back unmarked)."""
    from hotline.crisis.audit import audit_trail

    call = _answered(scene, volunteer)
    at = NOW + dt.timedelta(minutes=5)
    marked = calls.call_mark_non_data(call=call, by=volunteer.user, kind="silent", now=at)
    assert marked.non_data_type == "silent"
    call.refresh_from_db()
    assert (call.non_data_type, call.updated_at) == ("silent", at)
    assert [(x.actor, x.action, x.at, x.detail) for x in audit_trail(call)] == [
        (volunteer.user, "call.non_data", at, {"type": "silent"})
    ]


def test_marking_a_call_non_data_is_refused_in_words(scene, volunteer, clock):
    """What the page and the API show. Kills call_mark_non_data 6, 8–10 (the refusal's
    words), 17–19 (an unknown type's), 22–24, 26–28 (a reported call's)."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from hotline.crisis import reports
    from tests.support.followups import LOW

    call = _answered(scene, volunteer)
    with pytest.raises(PermissionDenied) as refused:
        calls.call_mark_non_data(call=call, by=f.volunteer().user, kind="prank", now=NOW)
    assert str(refused.value) == (
        "Only the volunteer who answered this call, or a supervisor, can do this."
    )
    with pytest.raises(ValidationError) as unknown:
        calls.call_mark_non_data(call=call, by=volunteer.user, kind="boring", now=NOW)
    assert unknown.value.message_dict == {"type": ["Unknown call type."]}
    reports.report_create(
        call=call, by=volunteer.user, data={**LOW, "follow_up_needed": False}, now=NOW
    )
    with pytest.raises(ValidationError) as reported:
        calls.call_mark_non_data(call=call, by=volunteer.user, kind="prank", now=NOW)
    assert reported.value.message_dict == {
        "type": ["This call has a report: it was a conversation."]
    }


def _callbacks(scene, n=2):
    from hotline.models import CallbackRequest

    out = []
    for i in range(n):
        call = Call.objects.create(
            call_sid=f"CA{i:032d}", hotline=scene.hotline, arrived_at=NOW, outcome="voicemail"
        )
        out.append(
            CallbackRequest.objects.create(
                call=call, hotline=scene.hotline, number=f"+861380013000{i}", requested_at=NOW
            )
        )
    return out


def test_a_callback_done_records_who_when_and_the_note_once(scene, coordinator):
    """Done at 10:30 with a long note: its first 500 characters kept; done again later, the
    first record stands; the other caller is still waiting. Kills callback_done 7 (no note),
    10 (every open request marked done), 11 (done twice: overwritten), 13 (501 kept)."""
    first, other = _callbacks(scene)
    at = NOW + dt.timedelta(minutes=30)
    calls.callback_done(callback=first, by=coordinator, note="n" * 600, now=at)
    calls.callback_done(
        callback=first, by=coordinator, note="again", now=at + dt.timedelta(hours=1)
    )
    first.refresh_from_db()
    other.refresh_from_db()
    assert (first.done_by, first.done_at, first.note) == (coordinator, at, "n" * 500)
    assert (other.done_by, other.done_at) == (None, None)


def test_a_callback_done_without_a_note_has_none(scene, coordinator):
    """Kills callback_done 1 (the default note "XXXX")."""
    (cb,) = _callbacks(scene, 1)
    assert calls.callback_done(callback=cb, by=coordinator, now=NOW).note == ""


def test_a_callback_from_an_unusable_caller_id_is_logged_by_call(scene, caplog):
    """Kills callback_request_create 3–9 (the warning without the call, or reworded)."""
    import logging

    call = Call.objects.create(call_sid=SID, hotline=scene.hotline, arrived_at=NOW)
    with caplog.at_level(logging.WARNING, logger="hotline.calls.services"):
        assert calls.callback_request_create(call=call, number="anonymous", now=NOW) is None
    assert caplog.messages == [f"call {call.pk}: callback requested from an unusable caller ID"]


def test_a_safety_answer_without_a_caller_id_or_request_changes_nothing(scene, caplog):
    """No number to call back and no request: nothing is made, nothing logged. Kills
    callback_safety_answer 12 (a request tried with no number)."""
    import logging

    from hotline.models import CallbackRequest

    call = Call.objects.create(call_sid=SID, hotline=scene.hotline, arrived_at=NOW)
    with caplog.at_level(logging.WARNING, logger="hotline.calls.services"):
        assert (
            calls.callback_safety_answer(call=call, number="", question="call", digits="1", now=NOW)
            is None
        )
    assert caplog.messages == [] and not CallbackRequest.objects.exists()


def test_a_safety_answer_is_on_the_request_handed_back(scene):
    """Kills callback_safety_answer 25 (the request handed back without the answer)."""
    (cb,) = _callbacks(scene, 1)
    got = calls.callback_safety_answer(
        call=cb.call, number=cb.number, question="call", digits="2", now=NOW
    )
    assert got.pk == cb.pk and got.safe_to_call is False
    cb.refresh_from_db()
    assert cb.safe_to_call is False


def test_a_second_menu_key_one_past_the_options_means_no_preference(scene, tw):
    """Two options on keys 2 and 3; key 4 is none of them. Kills _call_choose 30 (`<=`: the
    key one past the options read as an option, an IndexError and the apology)."""
    scene.hotline.preference_options = ["female", "lang:en"]
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    start(tw, "1")
    body = tw(
        "/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": SID, "Digits": "4"}
    ).content.decode()
    assert "<Enqueue" in body
    call = Call.objects.get(call_sid=SID)
    assert call.wants == "" and [a.volunteer for a in CallAttempt.objects.filter(call=call)] == [v]


# --- arrival ------------------------------------------------------------------------------------


def test_a_volunteers_phone_is_rung_with_absolute_links_to_this_site(scene, tw, fake_twilio):
    """Twilio fetches the whisper and reports the leg's status at the address the caller's
    webhook came in on (no TWILIO_WEBHOOK_BASE_URL in the tests). Kills call_arrive 29 (the
    call's `webhook_base` not kept: relative links Twilio cannot open)."""
    scene.on_shift("counsellor")
    start(tw, "1")
    (placed,) = [d for m, u, d in fake_twilio.requests if u.endswith("/Calls.json")]
    assert placed["Url"].startswith("http://testserver/twilio/voice/")
    assert placed["StatusCallback"].startswith("http://testserver/twilio/voice/")


def test_a_late_initiated_status_never_moves_an_arrived_call_back(scene, tw):
    """An arrived call is ringing; a late `initiated` callback (a lower status) changes
    nothing. Kills call_arrive 30 (the arrival without `twilio_status`: any status moves it)."""
    assert tw("/twilio/voice/incoming", call_data(SID)).status_code == 200
    status(tw, SID, "initiated")
    assert Call.objects.get(call_sid=SID).twilio_status == "ringing"


def test_a_replayed_incoming_webhook_answers_the_menu_again_for_the_same_call(scene, tw):
    """Twilio retries the incoming-call webhook: the caller hears the menu again, and there
    is still one call. Kills call_arrive 40 (the replay answered as no hotline's), 41, 43,
    44 (an error instead)."""
    first = tw("/twilio/voice/incoming", call_data(SID))
    again = tw("/twilio/voice/incoming", call_data(SID))
    assert again.status_code == 200 and again.content == first.content
    assert "<Gather" in again.content.decode()
    assert Call.objects.filter(call_sid=SID).count() == 1


def test_a_caller_without_caller_id_is_counted_as_nobody_in_particular(scene, tw):
    """No number: no hash, so anonymous callers are not one "repeat caller". Kills
    call_arrive 33 (the hash of the empty number) and 35 ("XXXX")."""
    assert tw("/twilio/voice/incoming", call_data(SID, From="")).status_code == 200
    assert tw("/twilio/voice/incoming", call_data(OTHER, From="")).status_code == 200
    assert list(Call.objects.values_list("caller_hash", flat=True)) == ["", ""]


def test_a_call_insert_with_an_unknown_field_names_it(scene):
    """Kills _insert_unless_known 14, 15 (the error without the field's name)."""
    with pytest.raises(TypeError, match=r"not fields of Call: \['colour'\]"):
        calls._insert_unless_known(scene.hotline, call_sid=SID, arrived_at=NOW, colour="red")


def test_an_arriving_call_is_returned_with_its_own_row_id(scene):
    """The INSERT's RETURNING gives the new row's id (`_call_insert_plan__mutmut_29` returned
    the call SID in its place); a second call, so that no id coincides with another column."""
    arrived = [
        calls.call_arrive(
            to_number=HOTLINE_NUMBER,
            call_sid=f"CA{n:032d}",
            from_number="+8613800138000",
            base_url="https://hotline.example",
            now=NOW,
        )
        for n in (1, 2)
    ]
    assert [c.pk for c in arrived] == [Call.objects.get(call_sid=f"CA{n:032d}").pk for n in (1, 2)]
    assert all(isinstance(c.pk, int) for c in arrived)


# --- the menu press, from the fresh run of 30 Nov (routing-report.txt) -------------------------


def test_a_replayed_menu_press_while_the_caller_waits_keeps_them_in_the_queue(scene, tw):
    """The menu's webhook comes again (Twilio retried it) for a caller already waiting in
    the queue: they stay there, hearing the hold words, and nobody more is rung for them.
    Kills call_choose 18 (`getattr(call, "joined")` without a default: an AttributeError,
    and the caller hears the apology instead of the queue)."""
    v = scene.on_shift("counsellor")
    start(tw, "1")
    again = calls.call_choose(call_sid=SID, digits="1", now=NOW)
    assert again.call_sid == SID and again.state == Call.State.RINGING
    body = tw(
        "/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": SID, "Digits": "1"}
    ).content.decode()
    assert "<Enqueue" in body
    assert [a.volunteer for a in attempts_of(SID)] == [v]


def test_a_caller_sent_to_voicemail_by_their_menu_press_hears_it_in_the_answer(
    scene, tw, fake_twilio
):
    """Nobody for family education is on shift: the menu press sends the caller to
    voicemail, which the menu's own answer says. No REST redirect is sent as well (it would
    restart the voicemail words under the caller, or cut off their message). Kills
    call_choose 24, 27 (the dispatch not told which call is answering)."""
    scene.on_shift("counsellor")
    body = start(tw, "2").content.decode()
    assert "To be called back on this number, press 1." in body
    assert Call.objects.get(call_sid=SID).state == Call.State.VOICEMAIL
    assert fake_twilio.redirected() == []


def test_a_caller_who_answered_the_second_menu_is_offered_by_the_sweep_if_dispatch_never_ran(
    scene, tw, fake_twilio
):
    """The caller answers the preference menu; the process dies after the commit, before
    its dispatch (`_call_choose` alone, as in that case). The minute's sweep finds the
    caller waiting and rings the volunteer on shift. Kills _call_choose 33 (the caller
    joined the queue with no next check, `batch_deadline` None: the sweep never sees them)."""
    scene.hotline.preference_options = ["female", "lang:en"]
    scene.hotline.save()
    v = scene.on_shift("counsellor")
    start(tw, "1")
    call = calls._call_choose(call_sid=SID, digits="9", now=NOW)
    assert call.state == Call.State.RINGING and not attempts_of(SID)
    calls.calls_sweep(now=NOW + dt.timedelta(seconds=1))
    assert [a.volunteer for a in attempts_of(SID)] == [v]
    assert fake_twilio.dialled() == [v.phone_number]


# --- the voicemail notice ------------------------------------------------------------------------


def test_the_voicemail_notice_goes_over_the_volunteers_own_channels(scene, tw):
    """A volunteer who asked for calls first (and can be called) is told of a waiting
    message by a call, not only by SMS; the notice counts against their own hourly limit.
    Kills voicemail_notify 36, 41 (the notice sent without its recipient: SMS only)."""
    v = scene.on_shift("counsellor", phone_number="+447700900123", channels=["voice", "sms"])
    call = _voicemail(tw)
    tw(f"/twilio/voice/callback?call={call.pk}", {**fixture("voice-gather-digits"), "Digits": "1"})
    m = Message.objects.get(purpose="voicemail", to=v.phone_number)
    assert (m.recipient, m.channels, m.channel) == (v, ["voice", "sms"], "voice")


# --- the arrival's INSERT -----------------------------------------------------------------------


def test_an_arriving_call_given_a_local_time_is_filed_under_that_instant(scene):
    """`now` given in Shanghai time (10:00, 02:00 UTC): the call is stored as that instant,
    as `save()` would store it, so every period the statistics, the lists and the repeat
    callers count by holds it or not by its real time. Kills _insert_unless_known 28, 29
    (the values not prepared by their fields: on SQLite a time is then written as its
    local wall time with an offset, which compares as text against UTC times)."""
    calls.call_arrive(
        to_number=HOTLINE_NUMBER,
        call_sid=SID,
        from_number="+8613800138000",
        base_url="https://hotline.example/",
        now=NOW,
    )
    hour = dt.timedelta(hours=1)
    assert list(Call.objects.filter(arrived_at__gte=NOW + hour).values_list("call_sid")) == []
    assert Call.objects.filter(arrived_at__gte=NOW - hour, arrived_at__lt=NOW + hour).count() == 1
    assert Call.objects.get().arrived_at == NOW


# --- the dispatch after a caller's call ends ---------------------------------------------------


def test_a_volunteer_still_on_a_reoffered_leg_is_not_rung_when_their_caller_hangs_up(
    scene, tw, fake_twilio, clock
):
    """w answered for a caller someone else took and was offered, on that same phone leg,
    the next waiting caller (C), who talked to w for ten minutes and hung up. w's phone is
    still on that leg until its final status comes: the dispatch that follows C's hang-up
    must not ring w's phone for the caller waiting (D); the leg's final status does.

    Found through call_status_update 39 (that dispatch dropped): it survived because the
    dispatch found nobody newly free — except here, where it rang w's busy phone, because
    the re-offered attempt has no SID of its own and so never counted its volunteer busy
    after the conversation. Fixed in busy_q (hotline/calls/selectors.py)."""
    scene.on_shift("counsellor")
    talking_to(tw, "CA" + "5" * 32)  # the first volunteer busy
    scene.on_shift("counsellor")
    w = scene.on_shift("counsellor")
    start(tw, sid=SID)  # two phones rung for SID
    start(tw, sid=OTHER)  # C waits
    first, second = attempts_of(SID)
    leg(tw, first, "offer")
    leg(tw, first, "accept", Digits="1")
    leg(tw, second, "offer")  # taken: C offered to w on the same leg
    reoffer = CallAttempt.objects.get(call__call_sid=OTHER, result=CallAttempt.Result.PENDING)
    assert (reoffer.volunteer, reoffer.leg_of_id) == (w, second.pk)
    leg(tw, reoffer, "accept", Digits="1", CallSid=second.leg_sid)  # the same phone leg
    assert Call.objects.get(call_sid=OTHER).state == Call.State.CONNECTED
    clock.advance(minutes=10)
    waiting = "CA" + "6" * 32
    start(tw, sid=waiting)  # D: everyone is on a call
    assert w.phone_number not in fake_twilio.dialled()[3:]
    clock.advance(seconds=1)
    status(tw, OTHER, "completed", CallDuration="600")
    assert fake_twilio.dialled().count(w.phone_number) == 1  # only the first offer, for SID
    assert not attempts_of(waiting)
    # Should the leg's final status never come, w counts free LEG_LINGER (30 s) after the
    # hang-up, and D is looked at again then (lingering_until), not at the next RECHECK.
    ended = clock.now
    clock.advance(seconds=16)
    calls.calls_sweep(now=clock.now)
    assert Call.objects.get(call_sid=waiting).batch_deadline == ended + dt.timedelta(seconds=30)
    assert not attempts_of(waiting)
    leg(tw, second, "leg-status", CallStatus="completed")  # w's phone is free now
    assert fake_twilio.dialled().count(w.phone_number) == 2
    assert [a.volunteer for a in attempts_of(waiting)] == [w]


def talking_to(tw, sid):
    """Caller `sid` put through to the first volunteer rung."""
    start(tw, sid=sid)
    connect(tw, sid)


def test_a_caller_hanging_up_while_another_waits_is_ended_without_an_error(scene, tw, fake_twilio):
    """The service ends the call and hands it back, the queue looked at again: no error,
    which the status webhook would log as a failure for every caller who hangs up while
    waiting, and which would stop the sweep's live check (conference.call_check calls the
    service directly). Kills call_status_update 96, 97, 98 (the dispatch called without
    the hotline or the time: a TypeError after the commit)."""
    v = scene.on_shift("counsellor")
    start(tw, sid=SID)  # v rung
    start(tw, sid=OTHER)  # waits
    at = NOW + dt.timedelta(seconds=20)
    ended = calls.call_status_update(call_sid=SID, status="completed", duration=20, now=at)
    assert (ended.state, ended.outcome, ended.ended_at) == (
        Call.State.ENDED,
        Call.Outcome.ABANDONED,
        at,
    )
    assert Call.objects.get(call_sid=OTHER).state == Call.State.RINGING
    assert [a.volunteer for a in attempts_of(SID)] == [v]
