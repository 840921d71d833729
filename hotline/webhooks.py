"""Twilio webhooks. Every one: POST only, signature checked first (403 and nothing
changes when it fails), malformed input → 400, and never a 500 — an unexpected error is
logged and the caller hears an apology instead of silence.

Caller numbers are never logged: the services store a keyed hash and the last four digits.
"""

from __future__ import annotations

import functools
import logging
import re

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from hotline import calls, inbound, voice
from hotline import sms as sms_outbox
from hotline import twilio as twilio_api

log = logging.getLogger(__name__)

SID = re.compile(r"^[A-Z]{2}[0-9a-zA-Z]{32}$")
E164 = re.compile(r"^\+[1-9]\d{5,14}$")


class Malformed(Exception):
    pass


def _sid(request: HttpRequest, name: str = "CallSid") -> str:
    value = request.POST.get(name, "")
    if not SID.match(value):
        raise Malformed(f"{name} missing or malformed")
    return value


def _int_query(request: HttpRequest, name: str) -> int:
    value = request.GET.get(name, "")
    if not value.isdigit() or len(value) > 18:
        raise Malformed(f"{name} missing or malformed")
    return int(value)


def _int_field(request: HttpRequest, name: str) -> int | None:
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _caller_number(request: HttpRequest) -> str:
    value = request.POST.get("From", "")
    return value if E164.match(value) else ""


def twilio_webhook(fallback=voice.sorry):
    def decorator(view):
        @csrf_exempt
        @require_POST
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not twilio_api.signature_valid(request):
                log.warning("refused a Twilio webhook with a bad signature: %s", request.path)
                return HttpResponseForbidden("invalid signature")
            try:
                return view(request, *args, **kwargs)
            except Malformed as exc:
                log.warning("malformed Twilio webhook %s: %s", request.path, exc)
                return HttpResponse(str(exc), status=400, content_type="text/plain")
            except Exception:  # noqa: BLE001 - Twilio must never get a 500
                log.exception("Twilio webhook %s failed", request.path)
                return twilio_api.twiml(fallback() if fallback else None)

        return wrapper

    return decorator


# --- the caller's call --------------------------------------------------------------------------


@twilio_webhook()
def voice_incoming(request):
    call_sid = _sid(request)
    to_number = request.POST.get("To", "")
    if not E164.match(to_number):
        raise Malformed("To missing or malformed")
    call = calls.call_arrive(
        to_number=to_number,
        call_sid=call_sid,
        from_number=_caller_number(request),
        base_url=request.build_absolute_uri("/"),
        now=timezone.now(),
    )
    if call is None:
        log.warning("incoming call %s to %s: no such hotline", call_sid, to_number)
        return twilio_api.twiml(voice.not_in_service())
    return twilio_api.twiml(_caller_step(call))


def _caller_step(call):
    if call.state == call.State.MENU:
        return voice.menu(call)
    if call.state == call.State.VOICEMAIL:
        return voice.voicemail(call)
    if call.state in (call.State.RINGING, call.State.CONNECTED):
        return voice.queue(call)
    return voice.hangup()


@twilio_webhook()
def voice_menu(request):
    call = calls.call_choose(
        call_sid=_sid(request), digits=request.POST.get("Digits", ""), now=timezone.now()
    )
    if call is None:
        return twilio_api.twiml(voice.hangup())
    return twilio_api.twiml(_caller_step(call))


@twilio_webhook()
def voice_hold(request):
    call = calls.call_for_voicemail(call_id=_int_query(request, "call"))
    if call is None:
        return twilio_api.twiml(voice.hangup())
    if calls.call_tick(call=call, now=timezone.now()):
        call = calls.call_for_voicemail(call_id=call.pk)  # with its hotline, unlike a refresh
    return twilio_api.twiml(voice.hold(call))


@twilio_webhook()
def voice_queue_done(request):
    call = calls.call_for_voicemail(call_id=_int_query(request, "call"))
    if call is None or request.POST.get("QueueResult") in ("bridged", "hangup"):
        return twilio_api.twiml(voice.hangup())
    if call.state == call.State.VOICEMAIL:
        return twilio_api.twiml(voice.voicemail(call))
    return twilio_api.twiml(voice.goodbye(call.hotline))


@twilio_webhook()
def voice_voicemail(request):
    call = calls.call_for_voicemail(call_id=_int_query(request, "call"))
    if call is None:
        return twilio_api.twiml(voice.hangup())
    return twilio_api.twiml(voice.voicemail(call))


@twilio_webhook()
def voice_callback(request):
    call = calls.call_for_voicemail(call_id=_int_query(request, "call"))
    if call is None:
        return twilio_api.twiml(voice.hangup())
    wanted = request.POST.get("Digits", "").strip()[:1] == "1"
    requested = False
    if wanted:
        number = _caller_number(request)
        requested = bool(
            number and calls.callback_request_create(call=call, number=number, now=timezone.now())
        )
    return twilio_api.twiml(voice.record(call, callback_requested=requested))


@twilio_webhook()
def voice_record(request):
    call = calls.call_for_voicemail(call_id=_int_query(request, "call"))
    if call is None:
        return twilio_api.twiml(voice.hangup())
    return twilio_api.twiml(voice.record(call))


@twilio_webhook()
def voice_recorded(request):
    call = calls.call_for_voicemail(call_id=_int_query(request, "call"))
    if call is None:
        return twilio_api.twiml(voice.hangup())
    recording_sid = request.POST.get("RecordingSid", "")
    if recording_sid:
        if not SID.match(recording_sid):
            raise Malformed("RecordingSid malformed")
        calls.voicemail_record(
            call=call,
            recording_sid=recording_sid,
            recording_url=request.POST.get("RecordingUrl", "")[:500],
            duration=_int_field(request, "RecordingDuration"),
            now=timezone.now(),
        )
    return twilio_api.twiml(voice.goodbye(call.hotline))


@twilio_webhook(fallback=None)
def voice_status(request):
    status = request.POST.get("CallStatus", "")
    if status not in calls.STATUS_RANK:
        raise Malformed("CallStatus missing or unknown")
    calls.call_status_update(
        call_sid=_sid(request),
        status=status,
        duration=_int_field(request, "CallDuration"),
        now=timezone.now(),
    )
    return twilio_api.twiml()


# --- the volunteer's leg ----------------------------------------------------------------------


@twilio_webhook(fallback=voice.hangup)
def voice_offer(request):
    attempt_id = _int_query(request, "attempt")
    _sid(request)
    attempt = calls.attempt_for_offer(attempt_id=attempt_id)
    if attempt is None:
        return twilio_api.twiml(voice.hangup())
    return twilio_api.twiml(voice.offer(attempt.call, attempt.pk))


@twilio_webhook(fallback=voice.hangup)
def voice_accept(request):
    attempt_id = _int_query(request, "attempt")
    _sid(request)
    result = calls.call_accept(
        attempt_id=attempt_id, digits=request.POST.get("Digits", ""), now=timezone.now()
    )
    if result.won:
        return twilio_api.twiml(voice.accepted(result.attempt.call, result.attempt.pk))
    call = result.attempt.call if result.attempt else None
    return twilio_api.twiml(voice.not_accepted(call, result.reason))


@twilio_webhook(fallback=voice.hangup)
def voice_dial_done(request):
    attempt_id = _int_query(request, "attempt")
    _sid(request)
    attempt = calls.attempt_for_offer(attempt_id=attempt_id)
    return twilio_api.twiml(
        voice.dial_done(attempt.call if attempt else None, request.POST.get("DialCallStatus", ""))
    )


@twilio_webhook(fallback=None)
def voice_leg_status(request):
    attempt_id = _int_query(request, "attempt")
    status = request.POST.get("CallStatus", "")
    if status not in calls.STATUS_RANK:
        raise Malformed("CallStatus missing or unknown")
    _sid(request)
    calls.leg_status_update(attempt_id=attempt_id, status=status, now=timezone.now())
    return twilio_api.twiml()


# --- SMS ----------------------------------------------------------------------------------------


@twilio_webhook(fallback=None)
def sms_incoming(request):
    message_sid = _sid(request, "MessageSid")
    from_number = request.POST.get("From", "")
    if not from_number:
        raise Malformed("From missing")
    reply = inbound.sms_dispatch(
        from_number=from_number, body=request.POST.get("Body", ""), message_sid=message_sid
    )
    if reply:
        return twilio_api.messaging_response(reply)
    return twilio_api.empty_messaging_response()


@twilio_webhook(fallback=None)
def sms_status(request):
    message_sid = _sid(request, "MessageSid")
    status = request.POST.get("MessageStatus") or request.POST.get("SmsStatus", "")
    if not status:
        raise Malformed("MessageStatus missing")
    sms_outbox.message_status_update(
        twilio_sid=message_sid,
        status=status,
        error_code=request.POST.get("ErrorCode", "")[:10],
        now=timezone.now(),
    )
    return twilio_api.empty_messaging_response()
