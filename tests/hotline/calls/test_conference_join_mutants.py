"""Joins a `make mutants` run of hotline/calls/conference.py found unpinned (issue 15, help
on the line): the words a refused join shows, what Twilio is asked when the supervisor's
phone is dialled, what is written on the call and in the audit log, how the join leg's
status callbacks end one join and no other, and who "the supervisor on shift" is. Each
test names the surviving mutants it kills (`hotline.calls.conference.x_…`); each kill was
checked by hand (mutation made, test seen failing, source restored, test seen passing)."""

import datetime as dt
import json
import logging

import pytest
from django.utils.html import escape
from twilio.http.response import Response

from hotline.calls import conference
from hotline.crisis.escalations import escalation_raise
from hotline.models import AuditLog, Call, CallAttempt, CallJoin, RingRotation
from tests.hotline.calls.test_transfer import A, leg, live_call, star, supervisor_answers
from tests.support.twilio import HOTLINE_NUMBER, fixture


def escalated(scene, tw, clock):
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    escalation = escalation_raise(call=call, by=v.user, reason="risk", now=clock.now)
    return call, attempt, escalation


def join_page(client, escalation, mode):
    r = client.post(f"/crisis/escalations/{escalation.pk}/join/", {"mode": mode}, follow=True)
    return r.content.decode()


def error_shown(page, words):
    """The page shows exactly these words as an error message."""
    return f'<li class="error">{escape(words)}</li>' in page


def join_leg(tw, join, status=None):
    """The supervisor's join leg: answered (status None), or its status callback."""
    data = {
        **fixture("voice-screen-answer"),
        "CallSid": join.leg_sid,
        "To": join.volunteer.phone_number,
    }
    if status is None:
        return tw(f"/twilio/voice/join?join={join.pk}", data).content.decode()
    return tw(f"/twilio/voice/join?join={join.pk}&status=1", {**data, "CallStatus": status})


# --- what a refused join shows --------------------------------------------------------------


def test_a_join_in_no_known_mode_is_refused_in_words(scene, tw, fake_twilio, client, clock):
    """Kills call_join 3–7 (the message: None, _(None), XX…, lower case, upper case)."""
    sup = scene.on_shift("supervisor")
    _call, _attempt, escalation = escalated(scene, tw, clock)
    client.force_login(sup.user)
    dialled = len(fake_twilio.dialled())
    page = join_page(client, escalation, "shout")
    assert error_shown(page, "Choose to listen or to speak.")
    assert len(fake_twilio.dialled()) == dialled and not CallJoin.objects.exists()


def test_a_join_on_an_ended_call_says_so_in_full(scene, tw, fake_twilio, client, clock):
    """Kills call_join 11, 12 (the old test matched "not live any more" only)."""
    sup = scene.on_shift("supervisor")
    _call, _attempt, escalation = escalated(scene, tw, clock)
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": A})
    client.force_login(sup.user)
    assert error_shown(join_page(client, escalation, "listen"), "This call is not live any more.")


def test_asking_with_no_supervisor_on_shift_says_nobody_is_free(scene, tw, fake_twilio, client):
    """Kills call_join 17."""
    v = scene.on_shift("counsellor")
    call, _attempt = live_call(tw, v)
    client.force_login(v.user)
    r = client.post(f"/calls/{call.pk}/supervisor/", follow=True)
    assert error_shown(r.content.decode(), "No supervisor on shift is free to join.")
    assert not CallJoin.objects.exists()


def test_a_supervisor_whose_number_cannot_be_dialled_is_not_called(scene, tw, fake_twilio, client):
    """Kills call_join 21–25."""
    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    type(sup).objects.filter(pk=sup.pk).update(phone_number="12345")
    call, _attempt = live_call(tw, v)
    client.force_login(v.user)
    dialled = len(fake_twilio.dialled())
    r = client.post(f"/calls/{call.pk}/supervisor/", follow=True)
    assert error_shown(r.content.decode(), "The supervisor's phone number cannot be dialled.")
    assert len(fake_twilio.dialled()) == dialled and not CallJoin.objects.exists()


def test_a_dial_twilio_refuses_ends_the_join_with_its_error_and_a_warning(
    scene, tw, fake_twilio, client, clock, caplog
):
    """The supervisor sees why, the join is ended at once with Twilio's answer, the log says
    which call and which supervisor. Kills call_join 89–94, 96–110."""
    sup = scene.on_shift("supervisor")
    call, _attempt, escalation = escalated(scene, tw, clock)
    fake_twilio.fail[sup.phone_number] = 500
    client.force_login(sup.user)
    with caplog.at_level(logging.WARNING, logger="hotline.calls.conference"):
        page = join_page(client, escalation, "speak")
    assert error_shown(page, "The supervisor's phone could not be dialled.")
    join = CallJoin.objects.get()
    assert (join.volunteer, join.ended_at, join.leg_sid) == (sup, clock.now, "")
    assert join.error == "Twilio 500 13223: Unable to create record: refused"
    assert caplog.messages == [
        f"call {call.pk}: dialling supervisor {sup.pk} failed: Twilio 500 13223: Unable to create record: refused"
    ]


def test_a_long_dial_error_is_kept_to_500_characters(scene, tw, fake_twilio, clock):
    """Kills call_join 95 (`[:501]`; SQLite does not enforce max_length, so the cut is ours)."""
    sup = scene.on_shift("supervisor")
    call, attempt, _escalation = escalated(scene, tw, clock)
    answer = fake_twilio.request

    def refuse_long(method, uri, params=None, data=None, **kw):
        if uri.endswith("/Calls.json"):
            body = {"code": 13223, "message": "x" * 600, "status": 500}
            return Response(500, json.dumps(body))
        return answer(method, uri, params=params, data=data, **kw)

    fake_twilio.request = refuse_long
    try:
        conference.call_join(
            call=call, volunteer=sup, mode="speak", by=sup.user, now=clock.now, why="escalation"
        )
    except conference.JoinRefused:
        pass
    join = CallJoin.objects.get()
    assert len(join.error) == 500 and join.error.startswith(
        "Twilio 500 13223: Unable to create record: xxx"
    )


# --- what Twilio is asked and what is logged ------------------------------------------------


def test_the_supervisors_phone_is_dialled_from_the_hotline_with_its_status_callback(
    scene, tw, fake_twilio, clock
):
    """The dial's caller ID is the hotline's, it rings for the hotline's ring time, and its
    status callbacks come back to this join's `status=1` URL; the audit entry is about the
    call, at the time of the request, with what was asked. Kills call_join 41, 43, 46, 48,
    51–54, 61, 63, 64, 80, 81, 84, 85, 88."""
    scene.hotline.ring_timeout = 25
    scene.hotline.save()
    sup = scene.on_shift("supervisor")
    call, _attempt, _escalation = escalated(scene, tw, clock)
    asked = clock.now - dt.timedelta(seconds=7)  # not the frozen now the audit would default to
    join = conference.call_join(
        call=call, volunteer=sup, mode="listen", by=sup.user, now=asked, why="escalation"
    )
    dial = [d for m, u, d in fake_twilio.requests if u.endswith("/Calls.json")][-1]
    assert dial["To"] == sup.phone_number and dial["From"] == HOTLINE_NUMBER
    assert dial["Url"].endswith(f"/twilio/voice/join?join={join.pk}")
    assert dial["StatusCallback"].endswith(f"/twilio/voice/join?join={join.pk}&status=1")
    assert dial["Timeout"] == 25
    entry = AuditLog.objects.get(action="call.join")
    assert (entry.object_type, entry.object_id, entry.at, entry.actor) == (
        "call",
        call.pk,
        asked,
        sup.user,
    )
    assert entry.detail == {
        "join": join.pk,
        "volunteer": sup.pk,
        "mode": "listen",
        "why": "escalation",
    }


# --- the join leg's answer and status callbacks ---------------------------------------------


def two_listeners(scene, tw, clock):
    """A live call, two supervisors' phones dialled to listen in."""
    call, _attempt, _escalation = escalated(scene, tw, clock)
    first, second = scene.on_shift("supervisor"), scene.on_shift("supervisor")
    joins = [
        conference.call_join(
            call=call, volunteer=sup, mode="listen", by=sup.user, now=clock.now, why="escalation"
        )
        for sup in (first, second)
    ]
    return call, joins


def test_a_join_answered_twice_keeps_its_first_time_and_joins_nobody_else(
    scene, tw, fake_twilio, clock
):
    """Kills join_answered 4 (every unanswered join of the line marked joined) and 5 (a
    repeated answer moving the time)."""
    _call, (first, second) = two_listeners(scene, tw, clock)
    answered = clock.now
    assert "<Conference" in join_leg(tw, first)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.joined_at, second.joined_at) == (answered, None)
    clock.advance(seconds=40)
    join_leg(tw, first)  # Twilio asks again (a retry)
    first.refresh_from_db()
    assert first.joined_at == answered


@pytest.mark.parametrize("status", ["busy", "failed", "canceled"])
def test_a_supervisor_who_never_answered_ends_their_join_only_once(
    scene, tw, fake_twilio, clock, status
):
    """The unanswered listener's leg ends busy / failed / canceled: that join ends then,
    with the status as its error, and stays so when a later callback repeats; the other
    supervisor listening is not touched. Kills join_leg_status 4, 5, 8–11 (a status not
    recognised), 25–33."""
    _call, (first, second) = two_listeners(scene, tw, clock)
    join_leg(tw, first)  # the first listens in
    ended = clock.now
    join_leg(tw, second, status)
    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.ended_at, second.error) == (ended, status)
    assert (first.ended_at, first.error) == (None, "")
    clock.advance(seconds=30)
    join_leg(tw, second, "completed")
    second.refresh_from_db()
    assert (second.ended_at, second.error) == (ended, status)


def test_a_listener_who_hangs_up_ends_their_join_only_once(scene, tw, fake_twilio, clock):
    """Kills join_leg_status 37 (every joined supervisor's join ended) and 38 (a repeated
    callback moving the end)."""
    _call, (first, second) = two_listeners(scene, tw, clock)
    join_leg(tw, first)
    join_leg(tw, second)
    clock.advance(minutes=2)
    left = clock.now
    join_leg(tw, first, "completed")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.ended_at, second.ended_at) == (left, None)
    clock.advance(seconds=30)
    join_leg(tw, first, "completed")
    first.refresh_from_db()
    assert first.ended_at == left


# --- who "the supervisor on shift" is -------------------------------------------------------


def rotation(volunteer, when):
    RingRotation.objects.update_or_create(volunteer=volunteer, defaults={"last_offered_at": when})


def on_another_call(call, volunteer, *, ended_at=None):
    """`volunteer` accepted a call of their own (another caller), ended or not."""
    other = Call.objects.get(pk=call.pk)
    other.pk = None
    other.call_sid = "CA" + str(volunteer.pk).rjust(32, "9")
    other.save()
    CallAttempt.objects.create(
        call=other,
        volunteer=volunteer,
        tier=call.attempts.first().tier,
        batch=1,
        result=CallAttempt.Result.ACCEPTED,
        offered_at=ended_at or call.created_at,
        ended_at=ended_at,
    )


def ask_for_supervisor(client, attempt, call):
    client.force_login(attempt.volunteer.user)
    client.post(f"/calls/{call.pk}/supervisor/")
    return CallJoin.objects.get().volunteer


def test_the_supervisor_brought_in_is_a_free_one_on_shift_as_supervisor(
    scene, tw, fake_twilio, client, clock
):
    """A counsellor free longer and a supervisor busy on another caller are passed over
    for the free supervisor. Kills supervisor_for 2, 3, 11 (the busy one chosen), 20, 23
    (any role on shift)."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    counsellor = scene.on_shift("counsellor")
    busy = scene.on_shift("supervisor")
    free = scene.on_shift("supervisor")
    on_another_call(call, busy)
    rotation(counsellor, clock.now - dt.timedelta(hours=5))
    rotation(busy, clock.now - dt.timedelta(hours=3))
    rotation(free, clock.now - dt.timedelta(hours=1))
    assert ask_for_supervisor(client, attempt, call) == free
    assert fake_twilio.dialled()[-1] == free.phone_number


def test_the_supervisor_free_longest_is_brought_in_even_after_an_earlier_call(
    scene, tw, fake_twilio, client, clock
):
    """The one whose phone was offered a call longest ago comes first (not the first
    created), a call they took earlier and ended does not count. Kills supervisor_for 7, 11
    (an ended call counted), 14 (by id only)."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    recent = scene.on_shift("supervisor")
    longest = scene.on_shift("supervisor")
    on_another_call(call, longest, ended_at=clock.now - dt.timedelta(hours=2))
    rotation(recent, clock.now - dt.timedelta(hours=1))
    rotation(longest, clock.now - dt.timedelta(hours=3))
    assert ask_for_supervisor(client, attempt, call) == longest


# --- the conference participant -------------------------------------------------------------


def test_the_callers_hold_goes_to_the_calls_own_conference(scene, tw, fake_twilio, clock):
    """The Participant update names the conference Twilio listed under the call's name.
    Kills _participant 7 (`participant_update(None, …)`)."""
    v = scene.on_shift("counsellor")
    call, attempt = live_call(tw, v)
    star(tw, attempt)
    listed = f"CF{call.queue_name.encode().hex()[:32].ljust(32, '0')}"
    holds = [u for m, u, d in fake_twilio.requests if "/Participants/" in u]
    assert holds and all(u.endswith(f"/Conferences/{listed}/Participants/{A}.json") for u in holds)


def test_no_participant_change_is_asked_when_the_conference_is_not_found(
    scene, tw, fake_twilio, clock
):
    """Twilio lists no conference under the call's name (it ended, or Twilio is behind):
    nothing is asked of a conference. Kills _participant 3 (`or` → `and`)."""
    v = scene.on_shift("counsellor")
    _call, attempt = live_call(tw, v)
    answer = fake_twilio.request

    def no_conference(method, uri, params=None, data=None, **kw):
        if uri.endswith("/Conferences.json"):
            return Response(200, json.dumps({"conferences": [], "next_page_uri": None}))
        return answer(method, uri, params=params, data=data, **kw)

    fake_twilio.request = no_conference
    menu = star(tw, attempt)
    assert "<Gather" in menu
    assert fake_twilio.participants() == []


# --- who is "the volunteer on the call" -----------------------------------------------------


def test_a_key_from_a_volunteer_who_handed_over_changes_nothing(scene, tw, fake_twilio, clock):
    """After the hand-over the caller is with the supervisor; a late or repeated key press
    from the volunteer who left must not take the caller off or on hold again. Kills
    on_the_call 1 (`… and ended_at is None or call live`)."""
    v = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    _call, attempt = live_call(tw, v)
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="9")
    supervisor_answers(tw, CallJoin.objects.get())
    star(tw, attempt)
    leg(tw, attempt, "transfer-key", Digits="1")
    assert CallJoin.objects.get().handed_over_at is not None
    fake_twilio.requests.clear()
    leg(tw, attempt, "transfer-key", Digits="0")
    assert fake_twilio.participants() == []
