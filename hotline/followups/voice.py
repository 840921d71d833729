"""The words and TwiML of a call-back through the hotline, in the hotline's language."""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import VoiceResponse

from hotline.models import CallBackAttempt
from hotline.telephony.twiml import UI_LANGUAGE, say

WHISPER_TIMEOUT_SECONDS = 10
CALLER_RING_SECONDS = 30


def _u(name: str, attempt: CallBackAttempt) -> str:
    return f"{reverse(name)}?attempt={attempt.pk}"


def _speaking(attempt: CallBackAttempt):
    return translation.override(UI_LANGUAGE.get(attempt.follow_up.hotline.language, "zh-hans"))


def hangup() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response


def whisper(attempt: CallBackAttempt) -> VoiceResponse:
    """What the volunteer hears on answering: press 1 to call the caller."""
    response = VoiceResponse()
    language = attempt.follow_up.hotline.language
    with _speaking(attempt):
        gather = response.gather(
            num_digits=1,
            timeout=WHISPER_TIMEOUT_SECONDS,
            action=_u("twilio:followup-connect", attempt),
            method="POST",
        )
        say(
            gather,
            _(
                "Hotline call-back for follow-up %(id)s. Press 1 to call the caller now; "
                "they will see the hotline's number."
            )
            % {"id": attempt.follow_up_id},
            language,
        )
        say(response, _("No key pressed. Goodbye."), language)
    response.hangup()
    return response


def connect(attempt: CallBackAttempt, number: str) -> VoiceResponse:
    """Bridge the volunteer to the caller; the caller sees the hotline's number."""
    response = VoiceResponse()
    hotline = attempt.follow_up.hotline
    with _speaking(attempt):
        if not number:
            say(response, _("This call-back cannot be placed. Goodbye."), hotline.language)
            response.hangup()
            return response
        say(response, _("Calling the caller now."), hotline.language)
    dial = response.dial(
        caller_id=hotline.phone_number,
        timeout=CALLER_RING_SECONDS,
        action=_u("twilio:followup-dial-done", attempt),
        method="POST",
    )
    dial.number(number)
    return response


def dial_done(attempt: CallBackAttempt | None) -> VoiceResponse:
    response = VoiceResponse()
    if attempt is not None and attempt.result == CallBackAttempt.Result.CALLER_NO_ANSWER:
        with _speaking(attempt):
            say(
                response,
                _("The caller did not answer. Record the attempt on the follow-up."),
                attempt.follow_up.hotline.language,
            )
    response.hangup()
    return response
