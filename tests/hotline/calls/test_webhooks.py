"""The webhook contract: signatures, bad input, replays and out-of-order callbacks."""

import pytest
from django.test import override_settings

from hotline.models import Call, CallAttempt, InboundSms, Message
from hotline.sms.inbound import sms_dispatch
from tests.support.twilio import FIXTURES, call_data, fixture, signed_post

# Each fixture and the webhook Twilio would POST it to (`{call}`/`{attempt}` filled in).
ROUTES = {
    "voice-incoming": "/twilio/voice/incoming",
    "voice-gather-digits": "/twilio/voice/menu",
    "voice-gather-timeout": "/twilio/voice/menu",
    "voice-screen-answer": "/twilio/voice/offer?attempt={attempt}",
    "voice-dial-no-answer": "/twilio/voice/dial-done?attempt={attempt}",
    "voice-dial-completed": "/twilio/voice/dial-done?attempt={attempt}",
    "voice-record-done": "/twilio/voice/recorded?call={call}",
    "voice-status-completed": "/twilio/voice/status",
    "voice-status-ringing-late": "/twilio/voice/status",
    "voice-conference-leave": "/twilio/voice/conference-status?call={call}",
    "voice-conference-end": "/twilio/voice/conference-status?call={call}",
    "sms-incoming-ack": "/twilio/sms/incoming",
    "sms-status-failed": "/twilio/sms/status",
}


def test_every_fixture_has_a_route():
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(ROUTES)


@pytest.fixture
def routed(scene, tw):
    scene.on_shift("counsellor")
    tw("/twilio/voice/incoming", call_data())
    tw("/twilio/voice/menu", {**fixture("voice-gather-digits")})
    call = Call.objects.get()
    attempt = CallAttempt.objects.get()
    return {"call": call.pk, "attempt": attempt.pk}


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_fixture_accepted_when_signed(routed, client, name):
    r = signed_post(client, ROUTES[name].format(**routed), fixture(name))
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("text/xml")


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_fixture_refused_unsigned_or_forged(routed, client, name):
    before = (
        list(Call.objects.values()),
        list(CallAttempt.objects.values()),
        InboundSms.objects.count(),
    )
    path = ROUTES[name].format(**routed)
    assert signed_post(client, path, fixture(name), sign=False).status_code == 403
    assert signed_post(client, path, fixture(name), signature="Zm9yZ2Vk").status_code == 403
    # signed for other values than the ones sent
    tampered = {**fixture(name), "Digits": "2", "CallStatus": "busy"}
    from twilio.request_validator import RequestValidator

    sig = RequestValidator("test-auth-token").compute_signature(
        "http://testserver" + path, fixture(name)
    )
    assert signed_post(client, path, tampered, signature=sig).status_code == 403
    after = (
        list(Call.objects.values()),
        list(CallAttempt.objects.values()),
        InboundSms.objects.count(),
    )
    assert before == after


@override_settings(DEBUG=True)
def test_no_exemption_in_debug(scene, client):
    assert signed_post(client, "/twilio/voice/incoming", call_data(), sign=False).status_code == 403


@override_settings(TWILIO_AUTH_TOKEN="")
def test_no_token_refuses_everything(scene, client):
    assert signed_post(client, "/twilio/voice/incoming", call_data()).status_code == 403


def test_get_is_refused(scene, client):
    assert client.get("/twilio/voice/incoming").status_code == 405


@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    USE_X_FORWARDED_HOST=True,
    ALLOWED_HOSTS=["hotline.example.org"],
)
def test_signature_checked_against_url_twilio_used_behind_proxy(scene, client):
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    data = call_data()
    sig = RequestValidator("test-auth-token").compute_signature(
        "https://hotline.example.org/twilio/voice/incoming", data
    )
    r = client.post(
        "/twilio/voice/incoming",
        urlencode(data),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=sig,
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_HOST="hotline.example.org",
    )
    assert r.status_code == 200


def test_to_not_a_hotline_says_not_in_service(scene, tw, caplog):
    r = tw("/twilio/voice/incoming", call_data(To="+8610000000000"))
    assert r.status_code == 200 and "not in service" in r.content.decode()
    assert "no such hotline" in caplog.text
    assert "13800138000" not in caplog.text  # never the caller's number
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("/twilio/voice/incoming", {"CallSid": ""}),
        ("/twilio/voice/incoming", {"To": "not-a-number"}),
        ("/twilio/voice/status", {"CallStatus": "exploded"}),
        ("/twilio/voice/menu", {"CallSid": "x"}),
        ("/twilio/voice/hold?call=abc", {}),
        ("/twilio/voice/offer", {}),
        ("/twilio/voice/leg-status?attempt=1", {"CallStatus": ""}),
        ("/twilio/sms/status", {"MessageSid": "nope"}),
    ],
)
def test_malformed_is_400(scene, tw, path, change):
    r = tw(
        path, {**call_data(), "CallStatus": "completed", "MessageSid": "SM" + "1" * 32, **change}
    )
    assert r.status_code == 400


def test_unexpected_error_answers_safe_twiml_not_500(scene, tw, monkeypatch):
    from hotline.calls import services as calls

    def boom(**kw):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(calls, "call_arrive", boom)
    r = tw("/twilio/voice/incoming", call_data())
    assert r.status_code == 200 and "technical problem" in r.content.decode()


def test_replayed_incoming_is_one_call(scene, tw):
    scene.on_shift("counsellor")
    tw("/twilio/voice/incoming", call_data())
    tw("/twilio/voice/incoming", call_data())
    assert Call.objects.count() == 1


def test_status_callbacks_replayed_and_out_of_order(scene, tw):
    scene.on_shift("counsellor")
    tw("/twilio/voice/incoming", call_data())
    tw("/twilio/voice/menu", fixture("voice-gather-digits"))
    tw("/twilio/voice/status", fixture("voice-status-completed"))
    call = Call.objects.get()
    snapshot = Call.objects.values().get()
    assert call.twilio_status == "completed" and call.duration == 812 and call.state == "ended"
    tw("/twilio/voice/status", fixture("voice-status-completed"))  # replay
    tw("/twilio/voice/status", fixture("voice-status-ringing-late"))  # late ringing
    assert Call.objects.values().get() == snapshot


def test_leg_status_late_ringing_after_completed(scene, tw):
    scene.on_shift("counsellor")
    tw("/twilio/voice/incoming", call_data())
    tw("/twilio/voice/menu", fixture("voice-gather-digits"))
    attempt = CallAttempt.objects.get()
    data = {**fixture("voice-screen-answer"), "CallSid": attempt.leg_sid}
    tw(f"/twilio/voice/leg-status?attempt={attempt.pk}", {**data, "CallStatus": "no-answer"})
    tw(f"/twilio/voice/leg-status?attempt={attempt.pk}", {**data, "CallStatus": "ringing"})
    tw(f"/twilio/voice/leg-status?attempt={attempt.pk}", {**data, "CallStatus": "no-answer"})
    attempt.refresh_from_db()
    assert attempt.leg_status == "no-answer" and attempt.result == "no-answer"
    assert Call.objects.get().ring_batch == 1  # advanced once (to voicemail), not twice


def test_sms_status_updates_message_and_never_goes_backwards(db, tw):
    m = Message.objects.create(
        dedupe_key="k1",
        to="+8613700137000",
        body="x",
        status="sent",
        twilio_sid="SM55555555555555555555555555555555",
    )
    tw("/twilio/sms/status", fixture("sms-status-failed"))
    m.refresh_from_db()
    assert m.status == "undelivered" and "30003" in m.last_error
    late = {**fixture("sms-status-failed"), "MessageStatus": "sent", "SmsStatus": "sent"}
    tw("/twilio/sms/status", late)
    m.refresh_from_db()
    assert m.status == "undelivered"


def test_sms_status_delivered_not_overwritten_by_late_sent(db, tw):
    m = Message.objects.create(
        dedupe_key="k2", to="+8613700137000", body="x", status="sent", twilio_sid="SM" + "6" * 32
    )
    data = {**fixture("sms-status-failed"), "MessageSid": m.twilio_sid, "ErrorCode": ""}
    tw("/twilio/sms/status", {**data, "MessageStatus": "delivered"})
    tw("/twilio/sms/status", {**data, "MessageStatus": "sent"})
    m.refresh_from_db()
    assert m.status == "delivered" and m.last_error == ""


def test_sms_status_for_unknown_message_is_ignored(db, tw):
    assert tw("/twilio/sms/status", fixture("sms-status-failed")).status_code == 200


def test_incoming_sms_dispatched_once_and_stores_nothing_sensitive(db, tw, monkeypatch):
    from hotline.sms import inbound

    seen, received = [], []

    def handler(now, **kw):  # `now`: when Twilio sent it (later, for an inbox replay)
        received.append(now)
        seen.append(kw)

    monkeypatch.setattr(inbound, "sms_received", handler)
    r = tw("/twilio/sms/incoming", fixture("sms-incoming-ack"))
    assert r.status_code == 200 and "<Response" in r.content.decode()
    tw("/twilio/sms/incoming", fixture("sms-incoming-ack"))
    assert seen == [
        {
            "from_number": "+8613700137000",
            "body": "ACK 4821",
            "message_sid": "SM44444444444444444444444444444444",
        }
    ]
    assert len(received) == 1 and received[0].tzinfo is not None
    assert list(InboundSms.objects.values_list("message_sid", flat=True)) == [
        "SM44444444444444444444444444444444"
    ]


def test_incoming_sms_reply_is_sent_as_twiml(db, tw, monkeypatch):
    from hotline.sms import inbound

    monkeypatch.setattr(inbound, "sms_received", lambda **kw: "Acknowledged")
    r = tw("/twilio/sms/incoming", fixture("sms-incoming-ack"))
    assert "<Message>Acknowledged</Message>" in r.content.decode()


def test_sms_handler_error_forgets_the_sid_so_a_retry_is_handled(db, monkeypatch):
    from hotline.sms import inbound

    def boom(**kw):
        raise RuntimeError("x")

    monkeypatch.setattr(inbound, "sms_received", boom)
    with pytest.raises(RuntimeError):
        sms_dispatch(from_number="+8613700137000", body="ACK 1", message_sid="SM" + "7" * 32)
    assert not InboundSms.objects.exists()
