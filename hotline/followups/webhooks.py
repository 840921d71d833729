"""The call-back webhooks (listed in hotline/telephony/urls.py): every one goes through
`twilio_webhook`, so Twilio's signature is checked first. One service call each."""

from __future__ import annotations

from hotline.followups import callbacks, voice
from hotline.telephony.twiml import twiml
from hotline.telephony.webhooks import (
    Malformed,
    int_field,
    int_query,
    received_at,
    sid,
    twilio_webhook,
)

LEG_STATUSES = {"queued", "initiated", "ringing", "in-progress", "answered"} | set(
    callbacks.LEG_RESULT
)


def _hangup(request):
    return voice.hangup()


@twilio_webhook(fallback=_hangup)
def followup_answer(request):
    """The volunteer picked up: the whisper."""
    sid(request)
    attempt = callbacks.attempt_for_webhook(attempt_id=int_query(request, "attempt"))
    if attempt is None or attempt.result:
        return twiml(voice.hangup())
    return twiml(voice.whisper(attempt))


@twilio_webhook(fallback=_hangup)
def followup_connect(request):
    """The volunteer pressed a key: dial the caller with the hotline's number as caller ID."""
    sid(request)
    attempt, number = callbacks.callback_connect(
        attempt_id=int_query(request, "attempt"),
        digits=request.POST.get("Digits", "").strip()[:1],
        now=received_at(request),
    )
    if attempt is None:
        return twiml(voice.hangup())
    return twiml(voice.connect(attempt, number))


@twilio_webhook(fallback=_hangup, inbox_keeps=("CallSid", "DialCallStatus", "DialCallDuration"))
def followup_dial_done(request):
    sid(request)
    attempt = callbacks.callback_dial_done(
        attempt_id=int_query(request, "attempt"),
        dial_status=request.POST.get("DialCallStatus", ""),
        duration=int_field(request, "DialCallDuration"),
        now=received_at(request),
    )
    return twiml(voice.dial_done(attempt))


@twilio_webhook(fallback=None, inbox_keeps=("CallSid", "CallStatus"))
def followup_leg_status(request):
    status = request.POST.get("CallStatus", "")
    if status not in LEG_STATUSES:
        raise Malformed("CallStatus missing or unknown")
    sid(request)
    callbacks.callback_leg_status(
        attempt_id=int_query(request, "attempt"), status=status, now=received_at(request)
    )
    return twiml()
