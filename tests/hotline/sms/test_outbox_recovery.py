"""A worker that dies between handing an SMS over and recording it: never lost, never doubled."""

import datetime as dt

import pytest

from hotline.models import Message
from hotline.sms import backends
from hotline.sms import outbox as sms

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clean_outbox():
    backends.outbox.clear()
    yield
    backends.outbox.clear()


def _stuck(*, handed_over: bool) -> Message:
    message = Message.objects.create(
        dedupe_key="k1", to="+8613800000001", body="Shift tomorrow 08:00", next_attempt_at=NOW
    )
    if handed_over:
        backends._send_locmem(message)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING, claimed_at=NOW)
    return message


@pytest.mark.django_db
def test_stuck_message_the_provider_has_is_recorded_not_resent():
    message = _stuck(handed_over=True)
    sms.outbox_flush(now=NOW + dt.timedelta(minutes=10))
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.twilio_sid == backends.outbox[0]["sid"]
    assert len(backends.outbox) == 1


@pytest.mark.django_db
def test_stuck_message_the_provider_never_got_is_sent_once():
    message = _stuck(handed_over=False)
    later = NOW + dt.timedelta(minutes=10)
    sms.outbox_flush(now=later)
    sms.outbox_flush(now=later + dt.timedelta(minutes=1))
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert [m["body"] for m in backends.outbox] == ["Shift tomorrow 08:00"]


@pytest.mark.django_db
def test_message_still_being_sent_is_left_alone():
    message = _stuck(handed_over=False)
    sms.outbox_flush(now=NOW + dt.timedelta(seconds=30))
    message.refresh_from_db()
    assert message.status == Message.Status.SENDING
    assert backends.outbox == []


@pytest.mark.django_db
def test_provider_unreachable_keeps_message_for_next_flush(monkeypatch):
    message = _stuck(handed_over=False)

    def down(message):
        raise OSError("timeout")

    monkeypatch.setitem(backends.LOOKUPS, "locmem", down)
    sms.outbox_flush(now=NOW + dt.timedelta(minutes=10))
    message.refresh_from_db()
    assert message.status == Message.Status.SENDING
    assert backends.outbox == []


# --- a message cancelled while it was being sent (its escalation taken meanwhile) ------------


@pytest.mark.django_db
def test_a_cancelled_message_the_provider_never_got_is_failed_not_queued_again():
    """The worker died mid-send and the message was cancelled since: it is not sent, and it
    does not stay "queued" for good (nothing sends a cancelled message; every flush would
    pick it up again)."""
    message = _stuck(handed_over=False)
    Message.objects.filter(pk=message.pk).update(cancelled_at=NOW + dt.timedelta(seconds=5))
    later = NOW + dt.timedelta(minutes=10)
    sms.outbox_flush(now=later)
    sms.outbox_flush(now=later + dt.timedelta(minutes=1))
    message.refresh_from_db()
    assert (message.status, message.next_attempt_at) == (Message.Status.FAILED, None)
    assert backends.outbox == []


@pytest.mark.django_db
def test_a_message_cancelled_while_its_send_fails_is_failed_not_queued_again(monkeypatch):
    """The provider refuses for now (a retry would follow) while the message is cancelled:
    failed, never retried."""
    message = Message.objects.create(
        dedupe_key="esc:1:t1:r1:v1", to="+8613800000001", body="Alert", next_attempt_at=NOW
    )

    def cancelled_then_refused(message):
        sms.messages_cancel(dedupe_prefix="esc:1:", reason="taken", now=NOW)
        raise backends.SendError("busy")

    monkeypatch.setitem(backends.SENDERS, "locmem", cancelled_then_refused)
    assert sms.message_deliver(message.pk, now=NOW) == Message.Status.FAILED
    message.refresh_from_db()
    assert (message.status, message.next_attempt_at) == (Message.Status.FAILED, None)
    monkeypatch.undo()
    sms.outbox_flush(now=NOW + dt.timedelta(hours=1))
    assert backends.outbox == []
