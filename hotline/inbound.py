"""Incoming SMS, after the webhook has checked Twilio's signature.

`sms_dispatch` makes replays harmless (one MessageSid is handled once) and calls
`sms_received`, which the escalation work fills in (`ACK <code>` replies). Nothing about the
message is stored except its SID.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from hotline.models import InboundSms

log = logging.getLogger(__name__)


def sms_dispatch(*, from_number: str, body: str, message_sid: str) -> str | None:
    """Handle one incoming SMS once. Returns the reply text, or None for no reply."""
    try:
        with transaction.atomic():
            InboundSms.objects.create(message_sid=message_sid)
            return sms_received(from_number=from_number, body=body, message_sid=message_sid)
    except IntegrityError:
        log.info("incoming SMS %s already handled", message_sid)
        return None


def sms_received(*, from_number: str, body: str, message_sid: str) -> str | None:
    """An SMS reached one of our numbers. Returns the reply text, or None for no reply.

    Runs inside the transaction that records `message_sid`: raise to have it forgotten.
    """
    return None
