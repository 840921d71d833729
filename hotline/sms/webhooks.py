"""Incoming SMS and SMS delivery reports: Twilio messaging webhooks."""

from __future__ import annotations

import logging

from django.utils import timezone

from hotline.sms import inbound, outbox
from hotline.telephony.twiml import empty_messaging_response, messaging_response
from hotline.telephony.webhooks import Malformed, sid, twilio_webhook

log = logging.getLogger(__name__)


@twilio_webhook(fallback=None)
def sms_incoming(request):
    message_sid = sid(request, "MessageSid")
    from_number = request.POST.get("From", "")
    if not from_number:
        raise Malformed("From missing")
    reply = inbound.sms_dispatch(
        from_number=from_number, body=request.POST.get("Body", ""), message_sid=message_sid
    )
    if reply:
        return messaging_response(reply)
    return empty_messaging_response()


@twilio_webhook(fallback=None)
def sms_status(request):
    message_sid = sid(request, "MessageSid")
    status = request.POST.get("MessageStatus") or request.POST.get("SmsStatus", "")
    if not status:
        raise Malformed("MessageStatus missing")
    outbox.message_status_update(
        twilio_sid=message_sid,
        status=status,
        error_code=request.POST.get("ErrorCode", "")[:10],
        now=timezone.now(),
    )
    return empty_messaging_response()
