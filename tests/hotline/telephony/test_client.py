"""hotline/telephony/client.py: the SMS backend and dialling through a fake http_client."""

import pytest
from django.test import override_settings

from hotline.models import Message
from hotline.sms import outbox as sms
from hotline.telephony import client as twilio


@pytest.fixture
def twilio_sms(settings):
    settings.SMS_BACKEND = "twilio"


def _queue(key="k"):
    return Message.objects.create(
        dedupe_key=key, to="+8613700137000", from_number="+8637520000000", body="hello"
    )


def test_send_sms_2xx_records_sid(db, twilio_sms, fake_twilio):
    m = _queue()
    assert sms.message_deliver(m.pk) == "sent"
    m.refresh_from_db()
    assert m.twilio_sid.startswith("SM") and m.attempts == 1
    method, uri, data = fake_twilio.requests[-1]
    assert (
        uri.endswith("/Messages.json")
        and data["To"] == "+8613700137000"
        and data["Body"] == "hello"
    )


def test_send_sms_4xx_is_permanent(db, twilio_sms, fake_twilio):
    fake_twilio.sms_status = 400
    m = _queue()
    assert sms.message_deliver(m.pk) == "failed"
    m.refresh_from_db()
    assert m.status == "failed" and m.attempts == 1 and "400" in m.last_error


def test_send_sms_5xx_is_retried(db, twilio_sms, fake_twilio):
    fake_twilio.sms_status = 503
    m = _queue()
    assert sms.message_deliver(m.pk) == "queued"
    m.refresh_from_db()
    assert m.status == "queued" and m.next_attempt_at is not None and "503" in m.last_error


def test_send_sms_429_is_retried(db, twilio_sms, fake_twilio):
    fake_twilio.sms_status = 429
    m = _queue()
    assert sms.message_deliver(m.pk) == "queued"


def test_send_sms_messaging_service_sender(db, fake_twilio):
    twilio.send_sms(to="+8613700137000", from_="MG" + "0" * 32, body="x")
    assert fake_twilio.requests[-1][2]["MessagingServiceSid"] == "MG" + "0" * 32


def test_call_create_refused_raises_dial_error(db, fake_twilio):
    fake_twilio.fail["+8613700137000"] = 400
    with pytest.raises(twilio.DialError):
        twilio.call_create(
            to="+8613700137000",
            from_="+8637520000000",
            url="https://x/",
            status_callback="https://x/s",
            timeout=20,
        )


def test_console_backend_needs_no_account(db, monkeypatch):
    monkeypatch.setattr(twilio, "http_client", None)
    with override_settings(
        TWILIO_VOICE_BACKEND="console", TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN=""
    ):
        sid = twilio.call_create(
            to="+8613700137000",
            from_="+8637520000000",
            url="https://x/",
            status_callback="https://x/s",
            timeout=20,
        )
        assert sid.startswith("CA")
        twilio.call_stop(sid)
        assert twilio.call_redirect(sid, "https://x/v")


def test_caller_hash_is_keyed(settings):
    from hotline.calls.services import caller_hash

    one = caller_hash("+8613800138000")
    settings.CALLER_HASH_SECRET = "another"
    assert caller_hash("+8613800138000") != one


def test_transient_failures_back_off_then_fail_after_max_attempts(
    db, twilio_sms, fake_twilio, settings
):
    """A message Twilio keeps refusing with 503 is retried 30 s, 1, 2 min … later, is not
    sent before it is due, and is marked failed (visible to coordinators) at the last try."""
    import datetime as dt

    from tests.support import factories as f

    settings.SMS_MAX_ATTEMPTS = 4
    fake_twilio.sms_status = 503
    m = _queue()
    now = f.at(2026, 3, 2, 10)
    waits = []
    for attempt in range(1, 5):
        status = sms.message_deliver(m.pk, now=now)
        m.refresh_from_db()
        assert m.attempts == attempt
        if attempt < 4:
            assert status == "queued"
            waits.append(m.next_attempt_at - now)
            # Not due yet: a second worker (or the flush) leaves it alone.
            assert sms.message_deliver(m.pk, now=now + waits[-1] / 2) == "queued"
            assert Message.objects.get(pk=m.pk).attempts == attempt
            now = m.next_attempt_at
        else:
            assert status == "failed" and m.status == "failed" and m.next_attempt_at is None
    assert waits == [dt.timedelta(seconds=s) for s in (30, 60, 120)]
    assert len([r for r in fake_twilio.requests if r[1].endswith("/Messages.json")]) == 4
