"""Calling back through the hotline, through Twilio's client with the fake transport: the
volunteer's phone rings first, the caller is dialled with the hotline's number as caller ID,
the volunteer's number never reaches the caller, every attempt is logged, and a caller who
said it is not safe to call is never dialled."""

import pytest

from hotline.models import CallBackAttempt
from tests.support import factories as f
from tests.support.followups import follow_up_for
from tests.support.twilio import HOTLINE_NUMBER, NOW, fixture

CALLER = "+8613900139000"


def leg_data(attempt, **kw):
    data = fixture("voice-screen-answer")
    data["CallSid"] = attempt.leg_sid or "CA99999999999999999999999999999999"
    data["To"] = attempt.volunteer.phone_number
    data["From"] = HOTLINE_NUMBER
    data.update(kw)
    return data


@pytest.fixture
def fu(scene, volunteer, clock):
    return follow_up_for(scene.hotline, volunteer, now=NOW, number=CALLER)


def test_call_back_rings_the_volunteer_first_then_dials_the_caller_as_the_hotline(
    fu, volunteer, client, tw, fake_twilio
):
    client.force_login(volunteer.user)
    r = client.post(f"/follow-ups/{fu.pk}/call-back/")
    assert r.status_code == 302
    # The REST call: the volunteer's phone, from the hotline's number. Nobody else yet.
    calls = [d for m, u, d in fake_twilio.requests if u.endswith("/Calls.json")]
    assert [(d["To"], d["From"]) for d in calls] == [(volunteer.phone_number, HOTLINE_NUMBER)]
    attempt = CallBackAttempt.objects.get()
    assert calls[0]["Url"].endswith(f"/twilio/voice/followup-answer?attempt={attempt.pk}")
    assert attempt.leg_sid and attempt.result == ""

    whisper = tw(f"/twilio/voice/followup-answer?attempt={attempt.pk}", leg_data(attempt))
    assert "<Gather" in whisper.content.decode() and "Press 1" in whisper.content.decode()

    r = tw(f"/twilio/voice/followup-connect?attempt={attempt.pk}", leg_data(attempt, Digits="1"))
    twiml = r.content.decode()
    assert f'<Dial action="/twilio/voice/followup-dial-done?attempt={attempt.pk}"' in twiml
    assert f'callerId="{HOTLINE_NUMBER}"' in twiml
    assert f"<Number>{CALLER}</Number>" in twiml
    assert volunteer.phone_number not in twiml  # never shown to the caller

    done = leg_data(attempt, DialCallStatus="completed", DialCallDuration="95")
    tw(f"/twilio/voice/followup-dial-done?attempt={attempt.pk}", done)
    tw(f"/twilio/voice/followup-leg-status?attempt={attempt.pk}", leg_data(attempt))  # completed
    attempt.refresh_from_db()
    assert (attempt.result, attempt.duration) == ("connected", 95)

    page = client.get(f"/follow-ups/{fu.pk}/").content.decode()
    assert "connected to the caller" in page


def test_not_safe_to_call_is_refused_with_the_reason_and_nobody_is_dialled(
    scene, volunteer, client, fake_twilio, clock
):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, safe_to_call=False)
    client.force_login(volunteer.user)
    page = client.get(f"/follow-ups/{fu.pk}/").content.decode()
    assert "not safe to call them back" in page and "disabled" in page
    r = client.post(f"/follow-ups/{fu.pk}/call-back/", follow=True)
    assert "not safe to call them back" in r.content.decode()
    assert fake_twilio.dialled() == [] and not CallBackAttempt.objects.exists()


def test_api_call_back_not_safe_is_409(scene, volunteer, fake_twilio, clock):
    from rest_framework.test import APIClient

    fu = follow_up_for(scene.hotline, volunteer, now=NOW, safe_to_call=False)
    api = APIClient()
    api.force_authenticate(volunteer.user)
    r = api.post(f"/api/v1/follow-ups/{fu.pk}/call-back/")
    assert r.status_code == 409 and r.json()["code"] == "not_callable"
    assert "not safe" in r.json()["detail"] and fake_twilio.dialled() == []


def test_voicemail_follow_up_calls_the_number_the_caller_left(scene, tw, fake_twilio, clock):
    from hotline.followups import callbacks
    from hotline.models import Call, FollowUp

    tw("/twilio/voice/incoming", fixture("voice-incoming"))
    call = Call.objects.get()
    tw(f"/twilio/voice/callback?call={call.pk}", {**fixture("voice-gather-digits"), "Digits": "1"})
    fu = FollowUp.objects.get()
    supervisor = f.volunteer(roles=("supervisor",))
    attempt = callbacks.callback_start(follow_up=fu, by=supervisor.user, now=NOW)
    r = tw(f"/twilio/voice/followup-connect?attempt={attempt.pk}", leg_data(attempt, Digits="1"))
    assert "<Number>+8613800138000</Number>" in r.content.decode()


def test_volunteer_not_pressing_1_dials_nobody_and_is_logged(fu, volunteer, tw, fake_twilio):
    from hotline.followups import callbacks

    attempt = callbacks.callback_start(follow_up=fu, by=volunteer.user, now=NOW)
    r = tw(f"/twilio/voice/followup-connect?attempt={attempt.pk}", leg_data(attempt, Digits=""))
    assert "<Dial" not in r.content.decode()
    attempt.refresh_from_db()
    assert attempt.result == "declined"


def test_volunteer_leg_unanswered_and_caller_unanswered_are_logged(fu, volunteer, tw, fake_twilio):
    from hotline.followups import callbacks

    first = callbacks.callback_start(follow_up=fu, by=volunteer.user, now=NOW)
    tw(
        f"/twilio/voice/followup-leg-status?attempt={first.pk}",
        leg_data(first, CallStatus="no-answer"),
    )
    second = callbacks.callback_start(follow_up=fu, by=volunteer.user, now=NOW)
    tw(f"/twilio/voice/followup-connect?attempt={second.pk}", leg_data(second, Digits="1"))
    r = tw(
        f"/twilio/voice/followup-dial-done?attempt={second.pk}",
        leg_data(second, DialCallStatus="no-answer"),
    )
    assert "did not answer" in r.content.decode()
    results = list(CallBackAttempt.objects.order_by("id").values_list("result", flat=True))
    assert results == ["volunteer_no_answer", "caller_no_answer"]


def test_refused_dial_is_logged_as_failed(fu, volunteer, fake_twilio):
    from hotline.followups import callbacks

    fake_twilio.fail[volunteer.phone_number] = 400
    attempt = callbacks.callback_start(follow_up=fu, by=volunteer.user, now=NOW)
    assert attempt.result == "failed" and "400" in attempt.error


def test_unsigned_call_back_webhooks_are_refused(fu, volunteer, tw, fake_twilio):
    from hotline.followups import callbacks

    attempt = callbacks.callback_start(follow_up=fu, by=volunteer.user, now=NOW)
    for path in ("followup-answer", "followup-connect", "followup-dial-done"):
        r = tw(
            f"/twilio/voice/{path}?attempt={attempt.pk}",
            leg_data(attempt, Digits="1"),
            sign=False,
        )
        assert r.status_code == 403
    r = tw(
        f"/twilio/voice/followup-connect?attempt={attempt.pk}",
        leg_data(attempt, Digits="1"),
        signature="forged",
    )
    assert r.status_code == 403
    attempt.refresh_from_db()
    assert attempt.result == ""


def test_other_volunteer_cannot_call_back(fu, client, fake_twilio):
    other = f.volunteer()
    client.force_login(other.user)
    assert client.post(f"/follow-ups/{fu.pk}/call-back/").status_code == 404
    assert fake_twilio.dialled() == []
