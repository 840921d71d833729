"""Help on the line: caller and volunteer meet in a conference; the volunteer brings in
the supervisor on shift from the calls page; a supervisor joins an escalated live call
from the escalation page, muted or speaking. Through the fake transport: the REST calls
and the TwiML Twilio would receive."""

from hotline.crisis.escalations import escalation_raise
from hotline.models import AuditLog, Call, CallAttempt, CallJoin
from tests.support.twilio import call_data, fixture

A = "CA" + "1" * 32


def live_call(scene, tw, volunteer):
    tw("/twilio/voice/incoming", call_data(A))
    tw("/twilio/voice/menu", {**fixture("voice-gather-digits"), "CallSid": A, "Digits": "1"})
    attempt = CallAttempt.objects.get(call__call_sid=A, volunteer=volunteer)
    data = {**fixture("voice-screen-answer"), "CallSid": attempt.leg_sid, "Digits": "1"}
    body = tw(f"/twilio/voice/accept?attempt={attempt.pk}", data).content.decode()
    return Call.objects.get(call_sid=A), body


def test_caller_and_volunteer_meet_in_the_calls_conference(scene, tw, fake_twilio):
    v = scene.on_shift("counsellor")
    call, body = live_call(scene, tw, v)
    # The volunteer's leaving does not end the conference by itself (hangupOnStar takes them
    # to the key sequence); the caller's does.
    assert 'hangupOnStar="true"' in body and 'endConferenceOnExit="false"' in body
    assert f">call-{call.pk}</Conference>" in body
    redirect = [d for m, u, d in fake_twilio.requests if u.endswith(f"/Calls/{A}.json")]
    assert redirect and redirect[-1]["Url"].endswith(f"/twilio/voice/conference?call={call.pk}")
    caller = tw(f"/twilio/voice/conference?call={call.pk}", call_data(A)).content.decode()
    assert f">call-{call.pk}</Conference>" in caller and "<Dial" in caller
    assert 'endConferenceOnExit="true"' in caller
    # the queue's action, if Twilio asks it, answers the same
    done = tw(
        f"/twilio/voice/queue-done?call={call.pk}", {**call_data(A), "QueueResult": "redirected"}
    ).content.decode()
    assert f">call-{call.pk}</Conference>" in done


def test_volunteer_brings_in_the_supervisor_on_shift(scene, tw, fake_twilio, client):
    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    call, _ = live_call(scene, tw, v)
    client.force_login(v.user)
    page = client.get("/calls/").content.decode()
    assert f"/calls/{call.pk}/supervisor/" in page
    r = client.post(f"/calls/{call.pk}/supervisor/")
    assert r.status_code == 302
    join = CallJoin.objects.get()
    assert (join.call, join.volunteer, join.mode, join.requested_by) == (call, sup, "speak", v.user)
    assert fake_twilio.dialled()[-1] == sup.phone_number
    dial = [d for m, u, d in fake_twilio.requests if u.endswith("/Calls.json")][-1]
    assert dial["Url"].endswith(f"/twilio/voice/join?join={join.pk}")
    body = tw(
        f"/twilio/voice/join?join={join.pk}",
        {**fixture("voice-screen-answer"), "CallSid": join.leg_sid, "To": sup.phone_number},
    ).content.decode()
    assert f">call-{call.pk}</Conference>" in body and 'muted="true"' not in body
    assert 'endConferenceOnExit="false"' in body
    join.refresh_from_db()
    assert join.joined_at is not None
    entry = AuditLog.objects.get(action="call.join")
    assert entry.detail["mode"] == "speak" and entry.detail["why"] == "volunteer_asked"


def test_only_the_volunteer_on_the_call_may_bring_in_the_supervisor(scene, tw, client):
    v = scene.on_shift("counsellor")
    other = scene.on_shift("counsellor")
    scene.on_shift("supervisor")
    call, _ = live_call(scene, tw, v)
    client.force_login(other.user)
    assert client.post(f"/calls/{call.pk}/supervisor/").status_code in (403, 404)
    assert not CallJoin.objects.exists()


def test_supervisor_listens_in_muted_from_the_escalation_page(scene, tw, fake_twilio, client):
    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    call, _ = live_call(scene, tw, v)
    from django.utils import timezone

    escalation = escalation_raise(call=call, by=v.user, reason="risk", now=timezone.now())
    client.force_login(sup.user)
    page = client.get(f"/crisis/escalations/{escalation.pk}/").content.decode()
    assert "Listen in (muted)" in page and "Join and speak" in page
    r = client.post(f"/crisis/escalations/{escalation.pk}/join/", {"mode": "listen"})
    assert r.status_code == 302
    join = CallJoin.objects.get()
    assert (join.volunteer, join.mode) == (sup, "listen")
    assert fake_twilio.dialled()[-1] == sup.phone_number
    body = tw(
        f"/twilio/voice/join?join={join.pk}",
        {**fixture("voice-screen-answer"), "CallSid": join.leg_sid, "To": sup.phone_number},
    ).content.decode()
    assert 'muted="true"' in body and f">call-{call.pk}</Conference>" in body
    assert AuditLog.objects.filter(action="call.join", actor=sup.user).exists()


def test_no_join_once_the_call_has_ended(scene, tw, fake_twilio, client):
    v = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor")
    call, _ = live_call(scene, tw, v)
    from django.utils import timezone

    escalation = escalation_raise(call=call, by=v.user, reason="risk", now=timezone.now())
    tw("/twilio/voice/status", {**fixture("voice-status-completed"), "CallSid": A})
    client.force_login(sup.user)
    dialled = len(fake_twilio.dialled())
    r = client.post(f"/crisis/escalations/{escalation.pk}/join/", {"mode": "speak"}, follow=True)
    assert "not live any more" in r.content.decode()
    assert len(fake_twilio.dialled()) == dialled and not CallJoin.objects.exists()
