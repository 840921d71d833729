"""Escalation alerts over each person's channels: a voice call acknowledged by pressing 1
(end to end through the signed webhooks and the fake Twilio transport), no answer or a
machine moving on to SMS, WeCom cards with a signed take link, and repeated rounds arriving
another way."""

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import signing

from hotline.crisis.escalations import escalation_raise, escalations_advance_due
from hotline.models import Escalation, Message
from hotline.sms import backends
from tests.support import factories as f
from tests.support.crisis import answered_call
from tests.support.twilio import NOW

US = "+14155550101"  # a number Twilio can call (mainland numbers are skipped for voice)


@pytest.fixture
def people(scene):
    class People:
        counsellor = scene.on_shift("counsellor", display_name="Li Na")
        sup = scene.on_shift("supervisor", role="supervisor", display_name="Zhao", phone_number=US)

    return People()


def raise_alert(scene, people, capture):
    call = answered_call(scene.hotline, people.counsellor, at=NOW, shift=scene.shift)
    with capture(execute=True):
        return escalation_raise(
            call=call, by=people.counsellor.user, reason="plan and means", now=NOW
        )


def alert_message(e: Escalation) -> Message:
    return Message.objects.get(dedupe_key__startswith=f"esc:{e.pk}:t{e.tier}:r{e.round}:")


def calls_placed(fake_twilio) -> list[dict]:
    return [d for m, u, d in fake_twilio.requests if u.endswith("/Calls.json")]


def test_escalation_acknowledged_by_key_press_end_to_end(
    scene, people, tw, fake_twilio, django_capture_on_commit_callbacks
):
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)

    # the supervisor is called (voice before SMS for escalations), not texted
    (placed,) = calls_placed(fake_twilio)
    assert placed["To"] == US and placed["MachineDetection"] == "Enable"
    assert placed["From"] == scene.hotline.phone_number  # the hotline's number as caller ID
    assert backends.outbox == []
    message = alert_message(e)
    assert (message.channel, message.status, message.channels) == (
        "voice",
        "sent",
        ["voice", "sms"],
    )
    url = urlparse(placed["Url"])
    assert url.path == "/twilio/voice/alert" and parse_qs(url.query) == {"m": [str(message.pk)]}

    # answered by a person: the alert is spoken, in their language, and waits for a key
    answer = {"CallSid": message.twilio_sid, "CallStatus": "in-progress", "AnsweredBy": "human"}
    r = tw(f"/twilio/voice/alert?m={message.pk}", answer)
    spoken = r.content.decode()
    assert r.status_code == 200 and "<Gather" in spoken
    assert f"/twilio/voice/alert-key?m={message.pk}" in spoken
    assert "Press 1 to take it" in spoken and scene.hotline.name in spoken
    assert "4321" not in spoken  # no caller details

    # a forged key press changes nothing
    press = {"CallSid": message.twilio_sid, "Digits": "1"}
    r = tw(f"/twilio/voice/alert-key?m={message.pk}", press, signature="forged")
    assert r.status_code == 403
    e.refresh_from_db()
    assert e.status == "open"

    # pressing 1 takes it, recorded with channel `voice`
    r = tw(f"/twilio/voice/alert-key?m={message.pk}", press)
    assert r.status_code == 200 and "The escalation is yours" in r.content.decode()
    e.refresh_from_db()
    assert (e.status, e.acknowledged_by, e.ack_channel) == (
        "acknowledged",
        people.sup.user,
        "voice",
    )

    # the call ends: the message was delivered, nothing moves on to SMS
    done = {"CallSid": message.twilio_sid, "CallStatus": "completed", "AnsweredBy": "human"}
    with django_capture_on_commit_callbacks(execute=True):
        assert tw(f"/twilio/voice/alert-status?m={message.pk}", done).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered" and backends.outbox == []


@pytest.mark.parametrize(
    ("status", "answered_by", "outcome"),
    [
        ("no-answer", "", "call no-answer"),
        ("busy", "", "call busy"),
        ("completed", "human", "answered, no key pressed"),
        ("completed", "machine_end_beep", "answered by a machine"),
    ],
)
def test_unanswered_alert_call_moves_on_to_sms(
    scene, people, tw, status, answered_by, outcome, django_capture_on_commit_callbacks
):
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    message = alert_message(e)
    ended = {"CallSid": message.twilio_sid, "CallStatus": status, "AnsweredBy": answered_by}
    with django_capture_on_commit_callbacks(execute=True):
        assert tw(f"/twilio/voice/alert-status?m={message.pk}", ended).status_code == 200
    assert [m["to"] for m in backends.outbox] == [US]
    assert f"ACK {e.code}" in backends.outbox[0]["body"]
    message.refresh_from_db()
    assert (message.channel, message.status) == ("sms", "sent")
    assert [(x["channel"], x["outcome"]) for x in message.channel_log] == [("voice", outcome)]
    # a replayed callback changes nothing: still one SMS
    with django_capture_on_commit_callbacks(execute=True):
        tw(f"/twilio/voice/alert-status?m={message.pk}", ended)
    assert len(backends.outbox) == 1


def test_answering_machine_is_hung_up_on_and_sms_follows(
    scene, people, tw, django_capture_on_commit_callbacks
):
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    message = alert_message(e)
    machine = {
        "CallSid": message.twilio_sid,
        "CallStatus": "in-progress",
        "AnsweredBy": "machine_start",
    }
    with django_capture_on_commit_callbacks(execute=True):
        r = tw(f"/twilio/voice/alert?m={message.pk}", machine)
    assert "<Hangup" in r.content.decode() and "<Say" not in r.content.decode()
    assert [m["to"] for m in backends.outbox] == [US]


def test_twilio_refusing_the_call_falls_back_to_sms_at_once(
    scene, people, fake_twilio, django_capture_on_commit_callbacks
):
    fake_twilio.fail[US] = 400
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    message = alert_message(e)
    assert (message.channel, message.status) == ("sms", "sent")
    assert "Twilio 400" in message.channel_log[0]["outcome"]
    assert [m["to"] for m in backends.outbox] == [US]


def test_ack_by_sms_while_the_call_rings_stops_the_fallback(
    scene, people, tw, django_capture_on_commit_callbacks
):
    from hotline.crisis.escalations import escalation_acknowledge

    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    message = alert_message(e)
    escalation_acknowledge(escalation=e, by=people.sup.user, now=NOW + dt.timedelta(seconds=20))
    ended = {"CallSid": message.twilio_sid, "CallStatus": "no-answer"}
    with django_capture_on_commit_callbacks(execute=True):
        tw(f"/twilio/voice/alert-status?m={message.pk}", ended)
    assert backends.outbox == []


def test_mainland_numbers_are_never_called(
    scene, people, fake_twilio, django_capture_on_commit_callbacks
):
    people.sup.phone_number = "+8613912340077"
    people.sup.save()
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    assert calls_placed(fake_twilio) == []
    assert alert_message(e).channels == ["sms"]
    assert [m["to"] for m in backends.outbox] == ["+8613912340077"]


def test_a_repeated_round_arrives_another_way(
    scene, people, clock, fake_twilio, django_capture_on_commit_callbacks
):
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    assert alert_message(e).channel == "voice"
    clock.advance(minutes=5, seconds=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert escalations_advance_due(now=clock.now) == 1
    e.refresh_from_db()
    second = alert_message(e)
    assert e.tier == 2 and second.recipient == people.sup
    # voice carried the first alert: this one goes by SMS first, voice last
    assert second.channels == ["sms", "voice"] and second.channel == "sms"
    assert len(calls_placed(fake_twilio)) == 1
    assert backends.outbox[0]["body"].startswith("(alert 2)")


# --- WeCom ----------------------------------------------------------------------------------


def test_wecom_card_first_with_a_signed_take_link(
    scene, people, fake_wecom, fake_twilio, client, django_capture_on_commit_callbacks
):
    people.sup.wecom_user_id = "zhao"
    people.sup.save()
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    message = alert_message(e)
    assert message.channels == ["wecom", "voice", "sms"]
    assert (message.channel, message.status) == ("wecom", "sent")
    (card,) = fake_wecom.accepted
    assert card["touser"] == "zhao"
    assert scene.hotline.name in card["textcard"]["title"]
    assert e.code in card["textcard"]["description"]
    assert calls_placed(fake_twilio) == [] and backends.outbox == []

    link = urlparse(card["textcard"]["url"]).path
    assert link.startswith("/crisis/take/")
    # before login: the login page; someone else's login: refused, nothing changed
    assert client.get(link).status_code == 302
    other = f.volunteer(roles=("supervisor",))
    client.force_login(other.user)
    assert client.post(link).status_code == 403
    e.refresh_from_db()
    assert e.status == "open"
    # the person it was sent to: a GET only shows the button (chat apps preview links)
    client.force_login(people.sup.user)
    r = client.get(link)
    assert r.status_code == 200 and "Take it" in r.content.decode()
    e.refresh_from_db()
    assert e.status == "open"
    r = client.post(link)
    assert r.status_code == 302
    e.refresh_from_db()
    assert (e.status, e.acknowledged_by, e.ack_channel) == (
        "acknowledged",
        people.sup.user,
        "wecom",
    )


def test_forged_or_expired_take_link_is_refused(
    scene, people, fake_wecom, client, monkeypatch, settings, django_capture_on_commit_callbacks
):
    people.sup.wecom_user_id = "zhao"
    people.sup.save()
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    link = urlparse(fake_wecom.accepted[0]["textcard"]["url"]).path
    client.force_login(people.sup.user)
    forged = link[:-6] + ("A" if link[-6] != "A" else "B") + link[-5:]
    r = client.post(forged)
    assert r.status_code == 403 and "not valid or has expired" in r.content.decode()
    real_time = signing.time.time
    monkeypatch.setattr(
        signing.time, "time", lambda: real_time() + settings.ACTION_LINK_MAX_AGE_MINUTES * 60 + 5
    )
    assert client.post(link).status_code == 403
    e.refresh_from_db()
    assert e.status == "open"


def test_unknown_wecom_user_falls_back_and_shows_the_coordinator(
    scene, people, fake_wecom, fake_twilio, client, django_capture_on_commit_callbacks
):
    people.sup.wecom_user_id = "nobody"
    people.sup.save()
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    message = alert_message(e)
    assert message.channel == "voice" and len(calls_placed(fake_twilio)) == 1
    assert "no member with the user id 'nobody'" in message.channel_log[0]["outcome"]
    coordinator = f.coordinator_user()
    client.force_login(coordinator)
    page = client.get("/calls/sms-failed/").content.decode()
    assert "no member with the user id" in page and "Zhao" in page


def test_wecom_down_falls_back_to_voice(
    scene, people, fake_wecom, fake_twilio, django_capture_on_commit_callbacks
):
    people.sup.wecom_user_id = "zhao"
    people.sup.save()
    fake_wecom.down = True
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    assert alert_message(e).channel == "voice"
    assert [d["To"] for d in calls_placed(fake_twilio)] == [US]


def test_alert_is_spoken_in_the_supervisors_language(
    scene, people, tw, django_capture_on_commit_callbacks
):
    people.sup.language = "zh-hans"
    people.sup.save()
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    message = alert_message(e)
    answer = {"CallSid": message.twilio_sid, "CallStatus": "in-progress", "AnsweredBy": "human"}
    spoken = tw(f"/twilio/voice/alert?m={message.pk}", answer).content.decode()
    assert 'voice="Polly.Zhiyu"' in spoken and 'language="cmn-CN"' in spoken
    assert "接手请按 1" in spoken
    r = tw(
        f"/twilio/voice/alert-key?m={message.pk}", {"CallSid": message.twilio_sid, "Digits": "1"}
    )
    assert "由您接手" in r.content.decode()


def test_alert_webhook_for_another_call_changes_nothing(
    scene, people, tw, django_capture_on_commit_callbacks
):
    e = raise_alert(scene, people, django_capture_on_commit_callbacks)
    message = alert_message(e)
    other = {"CallSid": "CA" + "9" * 32, "Digits": "1"}
    r = tw(f"/twilio/voice/alert-key?m={message.pk}", other)
    assert r.status_code == 200 and "<Hangup" in r.content.decode()
    e.refresh_from_db()
    assert e.status == "open"
