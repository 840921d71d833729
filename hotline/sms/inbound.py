"""Incoming SMS, after the webhook has checked Twilio's signature.

`sms_dispatch` makes replays harmless (one MessageSid is handled once) and calls
`sms_received`, which the escalation work fills in (`ACK <code>` replies). Nothing about the
message is stored except its SID.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from hotline.models import InboundSms

log = logging.getLogger(__name__)


def sms_dispatch(
    *, from_number: str, body: str, message_sid: str, now: dt.datetime | None = None
) -> str | None:
    """Handle one incoming SMS once. Returns the reply text, or None for no reply. `now`:
    when it was received (a webhook kept in the inbox is handled later)."""
    try:
        with transaction.atomic():
            InboundSms.objects.create(message_sid=message_sid)
            return sms_received(
                from_number=from_number, body=body, message_sid=message_sid, now=now
            )
    except IntegrityError:
        log.info("incoming SMS %s already handled", message_sid)
        return None


def sms_received(
    *, from_number: str, body: str, message_sid: str, now: dt.datetime | None = None
) -> str | None:
    """An SMS reached one of our numbers. Returns the reply text, or None for no reply.

    Runs inside the transaction that records `message_sid`: raise to have it forgotten.
    Each handler in SMS_HANDLERS returns a reply, or None when the message is not for it;
    the first reply wins.
    """
    now = now or timezone.now()
    for path in SMS_HANDLERS:
        reply = import_string(path)(from_number=from_number, body=body, now=now)
        if reply is not None:
            return reply
    return None


# Handlers of incoming SMS, tried in order: `handler(*, from_number, body, now) -> str | None`.
SMS_HANDLERS = [
    "hotline.tasks.sms_reply_ack",  # `ACK 4821`: a supervisor takes an escalation
    "scheduling.tasks.sms_reply_take",  # `TAKE 17`: a volunteer takes a dropped shift
]
