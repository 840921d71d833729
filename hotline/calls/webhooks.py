"""The caller's call and the volunteers' legs: Twilio voice webhooks.

Each view parses the request, calls one service in hotline/calls/services.py and answers
with the TwiML of hotline/calls/voice.py. See hotline/telephony/webhooks.py for what
every webhook guarantees.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from hotline.calls import services as calls
from hotline.calls import voice
from hotline.telephony.twiml import twiml
from hotline.telephony.webhooks import (
    E164,
    SID,
    Malformed,
    caller_number,
    int_field,
    int_query,
    sid,
    twilio_webhook,
)

log = logging.getLogger(__name__)


# --- the caller's call --------------------------------------------------------------------------


@twilio_webhook(fallback=voice.sorry)
def voice_incoming(request):
    call_sid = sid(request)
    to_number = request.POST.get("To", "")
    if not E164.match(to_number):
        raise Malformed("To missing or malformed")
    call = calls.call_arrive(
        to_number=to_number,
        call_sid=call_sid,
        from_number=caller_number(request),
        base_url=request.build_absolute_uri("/"),
        now=timezone.now(),
    )
    if call is None:
        log.warning("incoming call %s to %s: no such hotline", call_sid, to_number)
        return twiml(voice.not_in_service())
    return twiml(_caller_step(call))


def _caller_step(call):
    if call.state == call.State.MENU:
        return voice.menu(call)
    if call.state == call.State.VOICEMAIL:
        return voice.voicemail(call)
    if call.state in (call.State.RINGING, call.State.CONNECTED):
        return voice.queue(call)
    return voice.hangup()


@twilio_webhook(fallback=voice.sorry)
def voice_menu(request):
    call = calls.call_choose(
        call_sid=sid(request), digits=request.POST.get("Digits", ""), now=timezone.now()
    )
    if call is None:
        return twiml(voice.hangup())
    return twiml(_caller_step(call))


@twilio_webhook(fallback=voice.sorry)
def voice_hold(request):
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return twiml(voice.hangup())
    if calls.call_tick(call=call, now=timezone.now()):
        call = calls.call_for_voicemail(call_id=call.pk)  # with its hotline, unlike a refresh
    return twiml(voice.hold(call))


@twilio_webhook(fallback=voice.sorry)
def voice_queue_done(request):
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None or request.POST.get("QueueResult") in ("bridged", "hangup"):
        return twiml(voice.hangup())
    if call.state == call.State.VOICEMAIL:
        return twiml(voice.voicemail(call))
    return twiml(voice.goodbye(call.hotline))


@twilio_webhook(fallback=voice.sorry)
def voice_voicemail(request):
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return twiml(voice.hangup())
    return twiml(voice.voicemail(call))


@twilio_webhook(fallback=voice.sorry)
def voice_callback(request):
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return twiml(voice.hangup())
    wanted = request.POST.get("Digits", "").strip()[:1] == "1"
    requested = False
    if wanted:
        number = caller_number(request)
        requested = bool(
            number and calls.callback_request_create(call=call, number=number, now=timezone.now())
        )
    return twiml(voice.record(call, callback_requested=requested))


@twilio_webhook(fallback=voice.sorry)
def voice_record(request):
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return twiml(voice.hangup())
    return twiml(voice.record(call))


@twilio_webhook(fallback=voice.sorry)
def voice_recorded(request):
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return twiml(voice.hangup())
    recording_sid = request.POST.get("RecordingSid", "")
    if recording_sid:
        if not SID.match(recording_sid):
            raise Malformed("RecordingSid malformed")
        calls.voicemail_record(
            call=call,
            recording_sid=recording_sid,
            duration=int_field(request, "RecordingDuration"),
            now=timezone.now(),
        )
    return twiml(voice.goodbye(call.hotline))


@twilio_webhook(fallback=None)
def voice_status(request):
    status = request.POST.get("CallStatus", "")
    if status not in calls.STATUS_RANK:
        raise Malformed("CallStatus missing or unknown")
    calls.call_status_update(
        call_sid=sid(request),
        status=status,
        duration=int_field(request, "CallDuration"),
        now=timezone.now(),
    )
    return twiml()


# --- the volunteer's leg ----------------------------------------------------------------------


@twilio_webhook(fallback=voice.hangup)
def voice_offer(request):
    attempt_id = int_query(request, "attempt")
    sid(request)
    attempt = calls.attempt_for_offer(attempt_id=attempt_id)
    if attempt is None:
        return twiml(voice.hangup())
    return twiml(voice.offer(attempt.call, attempt.pk))


@twilio_webhook(fallback=voice.hangup)
def voice_accept(request):
    attempt_id = int_query(request, "attempt")
    sid(request)
    result = calls.call_accept(
        attempt_id=attempt_id, digits=request.POST.get("Digits", ""), now=timezone.now()
    )
    if result.won:
        return twiml(voice.accepted(result.attempt.call, result.attempt.pk))
    call = result.attempt.call if result.attempt else None
    return twiml(voice.not_accepted(call, result.reason))


@twilio_webhook(fallback=voice.hangup)
def voice_dial_done(request):
    attempt_id = int_query(request, "attempt")
    sid(request)
    attempt = calls.attempt_for_offer(attempt_id=attempt_id)
    return twiml(
        voice.dial_done(attempt.call if attempt else None, request.POST.get("DialCallStatus", ""))
    )


@twilio_webhook(fallback=None)
def voice_leg_status(request):
    attempt_id = int_query(request, "attempt")
    status = request.POST.get("CallStatus", "")
    if status not in calls.STATUS_RANK:
        raise Malformed("CallStatus missing or unknown")
    sid(request)
    calls.leg_status_update(attempt_id=attempt_id, status=status, now=timezone.now())
    return twiml()
