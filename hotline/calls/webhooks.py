"""The caller's call and the volunteers' legs: Twilio voice webhooks.

Each view parses the request, calls one service in hotline/calls/services.py and answers
with the TwiML of hotline/calls/voice.py. See hotline/telephony/webhooks.py for what
every webhook guarantees.

When the database stays busy past the webhook's budget (docs/security-imports-webhooks.md):
the caller's steps (arrival, menu) and the volunteer's key press keep the person on the line
— the hotline's hold words, a pause, and Twilio asks for the same step again, the key
pressed carried in the URL — for up to WEBHOOK_BUSY_HOLD_SECONDS, then the caller hears the
hotline's apology with its emergency numbers. Records (status callbacks, a recording, a
callback request) go to the durable inbox and are written when the database is free. Every
answer needs only reads, which a held write lock does not block.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from hotline.calls import conference, queue, selectors, voice
from hotline.calls import services as calls
from hotline.models import Hotline
from hotline.telephony.twiml import twiml
from hotline.telephony.webhooks import (
    E164,
    SID,
    Malformed,
    caller_number,
    int_field,
    int_query,
    received_at,
    sid,
    twilio_webhook,
)

log = logging.getLogger(__name__)


# --- answers that need no database write ------------------------------------------------------

# The words of each hotline a caller may need when the database cannot help (language and
# emergency numbers), by number: kept from each call that arrived, and from each read.
_WORDS: dict[str, tuple[str, str]] = {}


def _remember(hotline: Hotline) -> None:
    if len(_WORDS) < 1000:
        _WORDS[hotline.phone_number] = (hotline.language, hotline.emergency_numbers)


def _hotline_of(request) -> Hotline | None:
    """The hotline the caller dialled (`To`), for its words: a read, else what we remember."""
    number = request.POST.get("To", "") if request is not None else ""
    if not E164.match(number):
        return None
    try:
        hotline = selectors.hotline_for_number(number)
    except Exception:
        log.warning("could not read the hotline for its words", exc_info=True)
        hotline = None
    if hotline is not None:
        _remember(hotline)
        return hotline
    remembered = _WORDS.get(number)
    if remembered is None:
        return None
    return Hotline(phone_number=number, language=remembered[0], emergency_numbers=remembered[1])


def _sorry(request):
    """The caller's fallback: the hotline's apology and emergency numbers."""
    return voice.sorry(_hotline_of(request))


def _hangup(request):
    return voice.hangup()


def _retry(request, name: str, **carry) -> tuple[str, bool, bool]:
    """(URL asking Twilio for the same step again, whether to say the hold words, whether
    the caller has waited WEBHOOK_BUSY_HOLD_SECONDS already)."""
    busy = request.GET.get("busy", "")
    tries = int(busy) if busy.isdigit() and len(busy) < 5 else 0
    now = int(received_at(request).timestamp())
    since = request.GET.get("since", "")
    since = int(since) if since.isdigit() and len(since) < 12 else now
    query = {k: v for k, v in request.GET.items() if k not in ("busy", "since")}
    query.update(carry)
    query.update({"busy": tries + 1, "since": since})
    url = reverse(name) + "?" + urlencode(query)
    return url, tries % 3 == 0, now - since >= settings.WEBHOOK_BUSY_HOLD_SECONDS


def _digits(request) -> str:
    """The key pressed: from Twilio's <Gather>, or carried in the URL of a busy retry."""
    return request.POST.get("Digits") or request.GET.get("digits", "")


def _caller_busy(name: str):
    def answer(request):
        url, speak, waited = _retry(request, name, digits=_digits(request))
        hotline = _hotline_of(request)
        if waited:
            log.error(
                "database busy for %ss: caller given the apology",
                settings.WEBHOOK_BUSY_HOLD_SECONDS,
            )
            return voice.sorry(hotline)
        return voice.busy_hold(hotline, retry_url=url, speak=speak)

    return answer


def _volunteer_busy(request):
    url, _speak, waited = _retry(request, "twilio:voice-accept", digits=_digits(request))
    attempt = calls.attempt_for_offer(attempt_id=int_query(request, "attempt"))
    hotline = attempt.call.hotline if attempt else None
    if waited:
        return voice.not_accepted(attempt.call if attempt else None, "unknown")
    return voice.busy_volunteer(hotline, retry_url=url)


# --- the caller's call --------------------------------------------------------------------------


@twilio_webhook(fallback=_sorry, on_busy=_caller_busy("twilio:voice-incoming"))
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
        now=received_at(request),
    )
    if call is None:
        log.warning("incoming call %s to %s: no such hotline", call_sid, to_number)
        return twiml(voice.not_in_service())
    _remember(call.hotline)
    return twiml(_caller_step(call))


def _caller_step(call):
    if call.state == call.State.MENU:
        if call.category:
            return voice.preference_menu(call)
        return voice.menu(call)
    if call.state == call.State.VOICEMAIL:
        return voice.voicemail(call)
    if call.state in (call.State.RINGING, call.State.CONNECTED):
        return voice.queue(call)
    return voice.hangup()


@twilio_webhook(fallback=_sorry, on_busy=_caller_busy("twilio:voice-menu"))
def voice_menu(request):
    call = calls.call_choose(
        call_sid=sid(request), digits=_digits(request), now=received_at(request)
    )
    if call is None:
        return twiml(voice.hangup())
    return twiml(_caller_step(call))


def _hold_busy(request):
    # The hold loop comes back by itself within seconds: this round only skips the tick.
    call = selectors.call_for_hold(int_query(request, "call"))
    if call is None:
        return voice.hangup()
    return voice.hold(call, ahead=call.ahead, ringing=call.being_offered, now=received_at(request))


@twilio_webhook(fallback=_sorry, on_busy=_hold_busy)
def voice_hold(request):
    now = received_at(request)
    call = selectors.call_for_hold(int_query(request, "call"))
    if call is None:
        return twiml(voice.hangup())
    if calls.call_tick(call=call, now=now):
        call = selectors.call_for_hold(call.pk)
    words, pause = queue.hold_round(call=call, now=now)
    return twiml(
        voice.hold(
            call,
            ahead=call.ahead,
            ringing=call.being_offered,
            now=now,
            words=words,
            pause=pause,
        )
    )


@twilio_webhook(fallback=_sorry)
def voice_hold_key(request):
    calls.call_leave_queue(call_id=int_query(request, "call"), now=received_at(request))
    return twiml(voice.left_queue())


@twilio_webhook(fallback=_sorry)
def voice_queue_done(request):
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None or request.POST.get("QueueResult") in ("bridged", "hangup"):
        return twiml(voice.hangup())
    if call.state == call.State.VOICEMAIL:
        return twiml(voice.voicemail(call))
    if call.state == call.State.CONNECTED:  # redirected to the conference
        return twiml(voice.caller_conference(call))
    return twiml(voice.goodbye(call.hotline))


def _callers_twiml(request, build):
    """The caller's call named by `?call=`, answered with `build(call)`; hung up if unknown."""
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    return twiml(voice.hangup() if call is None else build(call))


@twilio_webhook(fallback=_sorry)
def voice_conference(request):
    return _callers_twiml(request, voice.caller_conference)


@twilio_webhook(fallback=_sorry)
def voice_volunteer_gone(request):
    """The caller found alone on the call (conference.call_live_check): the volunteer's
    leg ended, seen by the conference's leave event, the leg's status or the sweep."""
    return _callers_twiml(request, voice.volunteer_gone)


@twilio_webhook(
    fallback=None,
    inbox_keeps=("CallSid", "ConferenceSid", "StatusCallbackEvent", "ParticipantCallStatus"),
)
def voice_conference_status(request):
    """The conference's status callbacks (`leave`, `end`: voice.CONFERENCE_EVENTS)."""
    call_id = int_query(request, "call")
    sid(request, "ConferenceSid")
    event = request.POST.get("StatusCallbackEvent", "")
    now = received_at(request)
    if event == "participant-leave":
        conference.participant_left(
            call_id=call_id,
            leg_sid=sid(request),
            leg_status=request.POST.get("ParticipantCallStatus", ""),
            now=now,
        )
    elif event == "conference-end":
        conference.conference_ended(call_id=call_id, now=now)
    return twiml()


@twilio_webhook(fallback=_hangup)
def voice_join(request):
    """A supervisor's join leg: its answer (TwiML) and its status callbacks (`status=1`)."""
    join_id = int_query(request, "join")
    sid(request)
    if request.GET.get("status"):
        conference.join_leg_status(
            join_id=join_id, status=request.POST.get("CallStatus", ""), now=received_at(request)
        )
        return twiml()
    join_row = conference.join_answered(join_id=join_id, now=received_at(request))
    if join_row is None:
        return twiml(voice.hangup())
    return twiml(voice.join(join_row))


@twilio_webhook(fallback=_sorry)
def voice_voicemail(request):
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return twiml(voice.hangup())
    return twiml(voice.voicemail(call))


def _callback_busy(request):
    # Kept in the inbox: the request is made when the database is free.
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return voice.hangup()
    wanted = request.POST.get("Digits", "").strip()[:1] == "1"
    if wanted and caller_number(request):
        return voice.callback_question(call, "call")
    return voice.record(call)


@twilio_webhook(fallback=_sorry, inbox_keeps=("Digits", "From"), on_busy=_callback_busy)
def voice_callback(request):
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return twiml(voice.hangup())
    wanted = request.POST.get("Digits", "").strip()[:1] == "1"
    requested = False
    if wanted:
        number = caller_number(request)
        requested = bool(
            number
            and calls.callback_request_create(call=call, number=number, now=received_at(request))
        )
    if requested:
        return twiml(voice.callback_question(call, "call"))
    return twiml(voice.record(call))


def _safety_question(request) -> str:
    question = request.GET.get("q", "")
    if question not in calls.SAFETY_QUESTIONS:
        raise Malformed("q missing or unknown")
    return question


def _safety_next(request, call):
    return voice.callback_next(
        call,
        _safety_question(request),
        digits=request.POST.get("Digits", "").strip(),
        earlier=request.GET.get("c", ""),
    )


def _callback_safety_busy(request):
    # The answer is kept in the inbox (after the request it answers): the caller goes on.
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return voice.hangup()
    return _safety_next(request, call)


def _callback_safety_fallback(request):
    # The answer could not be kept: the caller still goes on to leave their message.
    if request is None:
        return voice.sorry(None)
    try:
        return _callback_safety_busy(request)
    except Exception:
        log.exception("callback safety: the next step failed too")
        return _sorry(request)


@twilio_webhook(
    fallback=_callback_safety_fallback,
    inbox_keeps=("Digits", "From"),
    on_busy=_callback_safety_busy,
)
def voice_callback_safety(request):
    """A key pressed (or none) for one safety question after the callback request: kept on
    the request and its follow-up, then the next question or the recording."""
    question = _safety_question(request)
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return twiml(voice.hangup())
    calls.callback_safety_answer(
        call=call,
        number=caller_number(request),
        question=question,
        digits=request.POST.get("Digits", "").strip(),
        now=received_at(request),
    )
    return twiml(_safety_next(request, call))


@twilio_webhook(fallback=_sorry)
def voice_record(request):
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return twiml(voice.hangup())
    return twiml(voice.record(call))


def _recorded_busy(request):
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    return voice.goodbye(call.hotline) if call is not None else voice.hangup()


@twilio_webhook(
    fallback=_sorry,
    inbox_keeps=("RecordingSid", "RecordingUrl", "RecordingDuration"),
    on_busy=_recorded_busy,
)
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
            now=received_at(request),
        )
    return twiml(voice.goodbye(call.hotline))


@twilio_webhook(
    fallback=None, inbox_keeps=("CallSid", "CallStatus", "CallDuration", "To", "Direction")
)
def voice_status(request):
    status = request.POST.get("CallStatus", "")
    if status not in calls.STATUS_RANK:
        raise Malformed("CallStatus missing or unknown")
    to_number = request.POST.get("To", "")
    calls.call_status_update(
        call_sid=sid(request),
        status=status,
        duration=int_field(request, "CallDuration"),
        now=received_at(request),
        to_number=to_number if E164.match(to_number) else "",
        from_number=caller_number(request),
        inbound=request.POST.get("Direction", "inbound") == "inbound",
    )
    return twiml()


# --- the volunteer's leg ----------------------------------------------------------------------


def _offered_attempt(request):
    """The volunteer's leg named by `?attempt=` (a signed request from Twilio), or None."""
    attempt_id = int_query(request, "attempt")
    sid(request)
    return calls.attempt_for_offer(attempt_id=attempt_id)


@twilio_webhook(fallback=_hangup)
def voice_offer(request):
    attempt = _offered_attempt(request)
    if attempt is None:
        return twiml(voice.hangup())
    calls.leg_answered(attempt=attempt)
    if (
        attempt.result == attempt.Result.CANCELLED
        or attempt.call.state != attempt.call.State.RINGING
    ):
        # This caller was taken (or left) as the volunteer answered: the next one, if any.
        reoffer = calls.leg_reoffer(attempt=attempt, now=received_at(request))
        if reoffer is not None:
            return twiml(voice.offer(reoffer.call, reoffer.pk, taken=True))
        return twiml(voice.taken(attempt.call))
    return twiml(voice.offer(attempt.call, attempt.pk))


@twilio_webhook(fallback=_hangup, on_busy=_volunteer_busy)
def voice_accept(request):
    attempt_id = int_query(request, "attempt")
    sid(request)
    result = calls.call_accept(
        attempt_id=attempt_id, digits=_digits(request), now=received_at(request)
    )
    if result.won:
        return twiml(voice.accepted(result.attempt.call, result.attempt.pk))
    call = result.attempt.call if result.attempt else None
    return twiml(voice.not_accepted(call, result.reason))


@twilio_webhook(fallback=_hangup)
def voice_dial_done(request):
    attempt = _offered_attempt(request)
    if attempt is not None:
        now = received_at(request)
        if not calls.leg_conference_over(attempt=attempt, now=now):
            # The call is live: the volunteer pressed * (hangupOnStar).
            transfer = conference.volunteer_star(attempt=attempt, now=now)
            if transfer is not False:
                return twiml(voice.transfer_menu(attempt.call, attempt.pk, transfer))
    return twiml(
        voice.dial_done(attempt.call if attempt else None, request.POST.get("DialCallStatus", ""))
    )


@twilio_webhook(fallback=_hangup)
def voice_transfer_key(request):
    """The volunteer's key after *: 9 the supervisor, 1 hand over, 0 (or none) back."""
    attempt = _offered_attempt(request)
    if attempt is None:
        return twiml(voice.hangup())
    what, detail = conference.transfer_key(
        attempt=attempt, digits=_digits(request), now=received_at(request)
    )
    return twiml(voice.transfer_after_key(attempt.call, attempt.pk, what, detail))


@twilio_webhook(fallback=_hangup)
def voice_transfer_hold(request):
    """The caller's hold words while on hold in the conference; gives up a transfer whose
    supervisor never answered (the caller comes back to the volunteer)."""
    call = calls.call_for_voicemail(call_id=int_query(request, "call"))
    if call is None:
        return twiml(voice.hangup())
    conference.transfer_overdue(call=call, now=received_at(request))
    return twiml(voice.transfer_hold(call))


@twilio_webhook(fallback=_hangup)
def voice_transfer_news(request):
    join_row = conference.join_for(join_id=int_query(request, "join"))
    if join_row is None:
        return twiml()
    return twiml(voice.transfer_news(join_row.call))


@twilio_webhook(fallback=None, inbox_keeps=("CallSid", "CallStatus"))
def voice_leg_status(request):
    attempt_id = int_query(request, "attempt")
    status = request.POST.get("CallStatus", "")
    if status not in calls.STATUS_RANK:
        raise Malformed("CallStatus missing or unknown")
    sid(request)
    calls.leg_status_update(attempt_id=attempt_id, status=status, now=received_at(request))
    return twiml()
