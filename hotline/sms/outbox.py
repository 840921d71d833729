"""The outbox: every outgoing message is a Message row, sent by a background task.

Callers use `sms_send(to=..., body=..., dedupe_key=..., recipient=..., params=...)` only.
The same key never makes a second message, so a service may call it again after a crash or
a replayed webhook. With a `recipient` the message goes over their channels in order (SMS,
voice call, WeCom; hotline/sms/channels.py): a channel that fails, refuses, is over the
person's hourly limit for the kind, or (a call) is not answered, hands the message to the
next one, and each step is recorded on the message (`channel_log`).

Delivery: `message_deliver` claims a queued message with a conditional UPDATE (only one
worker wins), sends it through the configured backend and records the result. Failures are
retried with backoff by the `outbox_flush` schedule; after SMS_MAX_ATTEMPTS the message is
`failed` and shows in the coordinators' list of failed messages.

Backends (setting SMS_BACKEND) are in hotline/sms/backends.py.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from hotline.models import Message
from hotline.sms import backends, channels

log = logging.getLogger(__name__)

# --- the outbox -------------------------------------------------------------------------


def sms_send(
    *,
    to: str,
    body: str,
    dedupe_key: str,
    purpose: str = "",
    from_number: str = "",
    recipient=None,
    params: dict | None = None,
    used_before: str = "",
) -> Message:
    """Queue one message under `dedupe_key` and schedule its delivery after the transaction
    commits. Calling again with the same key returns the existing message unchanged.

    `recipient` (a Volunteer): deliver over their channels (`channels.plan`); `params`: what
    the kind's other texts are made of (hotline/sms/texts.py); `used_before`: the channel the
    previous round of the same alert went out on (tried last this time)."""
    existing = Message.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    order = channels.plan(recipient, purpose, used_before=used_before) if recipient else []
    try:
        with transaction.atomic():
            message = Message.objects.create(
                dedupe_key=dedupe_key,
                to=to,
                body=body,
                purpose=purpose,
                from_number=from_number or settings.TWILIO_SMS_FROM,
                next_attempt_at=timezone.now(),
                recipient=recipient,
                channels=order,
                channel=order[0] if order else channels.SMS,
                params=params or {},
                language=getattr(recipient, "language", "") or "",
            )
    except IntegrityError:
        return Message.objects.get(dedupe_key=dedupe_key)
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message


def _enqueue(message_id: int) -> None:
    from django_q.tasks import async_task

    try:
        async_task("hotline.tasks.sms_deliver", message_id, task_name=f"sms-{message_id}")
    except Exception:
        log.exception("could not enqueue SMS %s; the outbox flush will send it", message_id)


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min, 4 min, … capped at 30 min."""
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 1800))


def _log_entry(message: Message, now: dt.datetime, outcome: str) -> list[dict]:
    return [
        *(message.channel_log or []),
        {"channel": message.channel, "at": now.isoformat(), "outcome": outcome[:300]},
    ]


def _fall_back(message: Message, *, now: dt.datetime, outcome: str, from_status: str) -> bool:
    """Hand `message` (in `from_status`) to its next channel, recording why the current one
    did not reach the person. False when there is no next channel or it was cancelled."""
    following = channels.next_channel(message)
    if following is None or message.cancelled_at is not None:
        return False
    moved = Message.objects.filter(
        pk=message.pk, status=from_status, channel=message.channel, cancelled_at__isnull=True
    ).update(
        status=Message.Status.QUEUED,
        channel=following,
        channel_log=_log_entry(message, now, outcome),
        attempts=0,
        last_error=outcome[:1000],
        next_attempt_at=now,
        claimed_at=None,
        updated_at=now,
    )
    if moved:
        log.info("message %s: %s → %s (%s)", message.pk, message.channel, following, outcome)
        transaction.on_commit(lambda: _enqueue(message.pk))
    return bool(moved)


def message_deliver(message_id: int, *, now: dt.datetime | None = None) -> str:
    """Send one message if it is due and nobody else is sending it. Returns its status."""
    now = now or timezone.now()
    claimed = Message.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=message_id,
        status=Message.Status.QUEUED,
        cancelled_at__isnull=True,
    ).update(status=Message.Status.SENDING, claimed_at=now, updated_at=now)
    if not claimed:
        return Message.objects.filter(pk=message_id).values_list("status", flat=True).first() or ""
    message = Message.objects.select_related("recipient").get(pk=message_id)
    max_attempts = settings.SMS_MAX_ATTEMPTS
    attempts = message.attempts + 1
    if channels.over_limit(message, message.channel, now):
        limit = channels.hourly_limit(message.purpose)
        outcome = f"not sent: over the hourly limit of {limit} for this kind on {message.channel}"
        if _fall_back(message, now=now, outcome=outcome, from_status=Message.Status.SENDING):
            return Message.Status.QUEUED
        Message.objects.filter(pk=message_id).update(
            status=Message.Status.FAILED,
            last_error=outcome,
            channel_log=_log_entry(message, now, outcome),
            next_attempt_at=None,
            updated_at=now,
        )
        return Message.Status.FAILED
    try:
        sid = channels.send(message)
    except Exception as exc:  # noqa: BLE001 - any transport failure is recorded and retried
        permanent = isinstance(exc, backends.SendError) and exc.permanent
        error = str(exc)[:1000] or exc.__class__.__name__
        # A failing channel hands over at once when there is another: an alert must not
        # wait for a provider's backoff.
        if _fall_back(message, now=now, outcome=error, from_status=Message.Status.SENDING):
            log.warning("message %s on %s failed: %s", message_id, message.channel, exc)
            return Message.Status.QUEUED
        # A message cancelled meanwhile (its escalation was taken) is not queued again:
        # nothing would ever send it, and it would stay "queued" for good.
        final = permanent or attempts >= max_attempts
        if not final:
            final = not Message.objects.filter(pk=message_id, cancelled_at__isnull=True).update(
                status=Message.Status.QUEUED,
                attempts=attempts,
                last_error=error,
                next_attempt_at=now + backoff(attempts),
                updated_at=now,
            )
        if final:
            Message.objects.filter(pk=message_id).update(
                status=Message.Status.FAILED,
                attempts=attempts,
                last_error=error,
                channel_log=_log_entry(message, now, error),
                next_attempt_at=None,
                updated_at=now,
            )
        log.warning("SMS %s attempt %s failed: %s", message_id, attempts, exc)
        return Message.Status.FAILED if final else Message.Status.QUEUED
    Message.objects.filter(pk=message_id).update(
        status=Message.Status.SENT,
        attempts=attempts,
        twilio_sid=sid,
        sent_at=now,
        last_error="",
        next_attempt_at=None,
        updated_at=now,
    )
    return Message.Status.SENT


def message_channel_failed(
    *, message_id: int, outcome: str, now: dt.datetime | None = None
) -> bool:
    """A channel that reported later did not reach the person (an alert call nobody
    answered, or a machine did): the next channel takes the message. False when there is
    none (the message is then failed) or it had already moved on or been taken care of."""
    now = now or timezone.now()
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != Message.Status.SENT:
            return False
        if _fall_back(message, now=now, outcome=outcome, from_status=Message.Status.SENT):
            return True
        if message.cancelled_at is None:
            Message.objects.filter(pk=message_id, status=Message.Status.SENT).update(
                status=Message.Status.UNDELIVERED,
                last_error=outcome[:1000],
                channel_log=_log_entry(message, now, outcome),
                updated_at=now,
            )
        return False


def message_reached(*, message_id: int, now: dt.datetime | None = None) -> bool:
    """The person confirmed the message (pressed a key on the alert call): delivered, and no
    further channel. False when it was already recorded."""
    now = now or timezone.now()
    return bool(
        Message.objects.filter(
            pk=message_id, status__in=[Message.Status.SENT, Message.Status.SENDING]
        ).update(status=Message.Status.DELIVERED, updated_at=now)
    )


def messages_cancel(*, dedupe_prefix: str, reason: str, now: dt.datetime) -> int:
    """No message under `dedupe_prefix` goes further: queued ones are failed with `reason`,
    sent ones (a call ringing) hand over to no further channel. Returns how many queued
    messages were stopped."""
    Message.objects.filter(dedupe_key__startswith=dedupe_prefix, cancelled_at__isnull=True).update(
        cancelled_at=now
    )
    return Message.objects.filter(
        dedupe_key__startswith=dedupe_prefix, status=Message.Status.QUEUED
    ).update(
        status=Message.Status.FAILED,
        last_error=reason,
        next_attempt_at=None,
        updated_at=now,
    )


def message_recover(message_id: int, *, now: dt.datetime | None = None) -> str:
    """Settle a message left in `sending` by a worker that died mid-delivery.

    Asks the provider whether it got the message (so it is never sent twice); if it did,
    records the SID; if not, queues it again (so it is never lost). If the provider cannot
    be asked, the message stays in `sending` and the next flush asks again.
    """
    now = now or timezone.now()
    message = (
        Message.objects.select_related("recipient")
        .filter(pk=message_id, status=Message.Status.SENDING)
        .first()
    )
    if message is None:
        return ""
    try:
        sid = channels.lookup(message)
    except Exception:  # noqa: BLE001 - unknown is not "not sent": ask again next time
        log.warning("could not ask the provider about SMS %s; will retry", message_id)
        return Message.Status.SENDING
    stale = Q(pk=message_id, status=Message.Status.SENDING, claimed_at=message.claimed_at)
    if sid == backends.UNKNOWN:
        # The provider cannot be asked: the next channel, never this one twice.
        outcome = "worker stopped while sending; unknown whether it arrived"
        if _fall_back(message, now=now, outcome=outcome, from_status=Message.Status.SENDING):
            return Message.Status.QUEUED
        Message.objects.filter(stale).update(
            status=Message.Status.FAILED, last_error=outcome, next_attempt_at=None, updated_at=now
        )
        return Message.Status.FAILED
    if sid:
        Message.objects.filter(stale).update(
            status=Message.Status.SENT,
            attempts=message.attempts + 1,
            twilio_sid=sid,
            sent_at=message.claimed_at,
            next_attempt_at=None,
            updated_at=now,
        )
        return Message.Status.SENT
    outcome = "worker stopped while sending; the provider has no such message"
    if Message.objects.filter(stale, cancelled_at__isnull=True).update(
        status=Message.Status.QUEUED,
        attempts=message.attempts + 1,
        last_error=outcome,
        next_attempt_at=now,
        updated_at=now,
    ):
        return Message.Status.QUEUED
    # Cancelled meanwhile (its escalation was taken): not sent after all, and not queued.
    Message.objects.filter(stale).update(
        status=Message.Status.FAILED,
        attempts=message.attempts + 1,
        last_error=outcome,
        channel_log=_log_entry(message, now, outcome),
        next_attempt_at=None,
        updated_at=now,
    )
    return Message.Status.FAILED


def outbox_flush(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Send every due message (retries, and any whose enqueue was lost), and settle those a
    dead worker left in `sending`. Run each minute."""
    now = now or timezone.now()
    stale_after = dt.timedelta(seconds=settings.SMS_SENDING_STALE_SECONDS)
    stuck = list(
        Message.objects.filter(status=Message.Status.SENDING, claimed_at__lt=now - stale_after)
        .order_by("claimed_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in stuck:
        message_recover(message_id, now=now)
    due = list(
        Message.objects.filter(status=Message.Status.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in due:
        message_deliver(message_id, now=now)
    return len(due)


# --- delivery reports -------------------------------------------------------------------

# Twilio's message statuses that we record, in the order a message moves through them;
# `accepted`/`queued`/`sending` say nothing new once we have handed the message over.
STATUS_FROM_TWILIO = {
    "sent": Message.Status.SENT,
    "delivered": Message.Status.DELIVERED,
    "undelivered": Message.Status.UNDELIVERED,
    "failed": Message.Status.FAILED,
}
STATUS_RANK = {
    Message.Status.QUEUED: 0,
    Message.Status.SENDING: 1,
    Message.Status.SENT: 2,
    Message.Status.DELIVERED: 3,
    Message.Status.UNDELIVERED: 3,
    Message.Status.FAILED: 3,
}


def message_status_update(
    *, twilio_sid: str, status: str, error_code: str = "", now: dt.datetime | None = None
) -> Message | None:
    """Twilio's status callback for an SMS. A status never goes backwards (a late `sent`
    leaves `delivered` alone) and a replay changes nothing. Unknown SIDs are ignored."""
    new = STATUS_FROM_TWILIO.get(status)
    if new is None:
        return None
    now = now or timezone.now()
    lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[new]]
    fields = {"status": new, "updated_at": now}
    if new in (Message.Status.UNDELIVERED, Message.Status.FAILED):
        fields["last_error"] = f"Twilio reported {status}" + (
            f" (error {error_code})" if error_code else ""
        )
    updated = Message.objects.filter(twilio_sid=twilio_sid, status__in=lower).update(**fields)
    if not updated and not Message.objects.filter(twilio_sid=twilio_sid).exists():
        log.info("status %s for unknown SMS %s ignored", status, twilio_sid)
        return None
    message = Message.objects.filter(twilio_sid=twilio_sid).first()
    if updated and new in (Message.Status.UNDELIVERED, Message.Status.FAILED):
        # The carrier dropped it (a link, a template, a repeat): the next channel, if any.
        if _fall_back(message, now=now, outcome=fields["last_error"], from_status=new):
            message.refresh_from_db()
    return message
