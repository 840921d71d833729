"""Incoming SMS and SMS delivery reports: Twilio messaging webhooks.

With the database busy past the webhook's budget, both go to the durable inbox
(hotline/telephony/inbox.py) and Twilio gets an empty answer at once; a replayed `ACK` or
`TAKE` is handled then, and its reply is sent through the outbox instead of the webhook's
answer (nobody is waiting for that any more).
"""

from __future__ import annotations

import logging

from hotline.sms import inbound, outbox, voice
from hotline.telephony.twiml import empty_messaging_response, messaging_response, twiml
from hotline.telephony.webhooks import (
    Malformed,
    int_query,
    is_replay,
    received_at,
    sid,
    twilio_webhook,
)

log = logging.getLogger(__name__)


@twilio_webhook(fallback=None, inbox_keeps=("MessageSid", "From", "Body"))
def sms_incoming(request):
    message_sid = sid(request, "MessageSid")
    from_number = request.POST.get("From", "")
    if not from_number:
        raise Malformed("From missing")
    reply = inbound.sms_dispatch(
        from_number=from_number,
        body=request.POST.get("Body", ""),
        message_sid=message_sid,
        now=received_at(request),
    )
    if reply and is_replay(request):
        outbox.sms_send(
            to=from_number, body=reply, dedupe_key=f"sms-reply:{message_sid}", purpose="sms-reply"
        )
        return empty_messaging_response()
    if reply:
        return messaging_response(reply)
    return empty_messaging_response()


@twilio_webhook(
    fallback=None, inbox_keeps=("MessageSid", "MessageStatus", "SmsStatus", "ErrorCode")
)
def sms_status(request):
    message_sid = sid(request, "MessageSid")
    status = request.POST.get("MessageStatus") or request.POST.get("SmsStatus", "")
    if not status:
        raise Malformed("MessageStatus missing")
    outbox.message_status_update(
        twilio_sid=message_sid,
        status=status,
        error_code=request.POST.get("ErrorCode", "")[:10],
        now=received_at(request),
    )
    return empty_messaging_response()


# --- the voice channel's alert calls (hotline/sms/voice.py) ---------------------------------


@twilio_webhook(fallback=None)
def voice_alert(request):
    """Twilio asks what the alert call says (the call was answered)."""
    return twiml(
        voice.alert_answered(
            message_id=int_query(request, "m"),
            call_sid=sid(request),
            answered_by=request.POST.get("AnsweredBy", "")[:20],
            now=received_at(request),
        )
    )


@twilio_webhook(fallback=None)
def voice_alert_key(request):
    """A key pressed on the alert call (the `<Gather>`'s action)."""
    return twiml(
        voice.alert_key(
            message_id=int_query(request, "m"),
            call_sid=sid(request),
            digits=request.POST.get("Digits", "")[:4],
            now=received_at(request),
        )
    )


@twilio_webhook(fallback=None, inbox_keeps=("CallSid", "CallStatus", "AnsweredBy"))
def voice_alert_status(request):
    """How the alert call ended: without a key press the message goes to its next channel."""
    call_status = request.POST.get("CallStatus", "")
    if not call_status:
        raise Malformed("CallStatus missing")
    voice.alert_ended(
        message_id=int_query(request, "m"),
        call_sid=sid(request),
        call_status=call_status[:20],
        answered_by=request.POST.get("AnsweredBy", "")[:20],
        now=received_at(request),
    )
    return twiml(None)
