"""The voice channel's calls: what an alert call says, what its key press does, and how its
end moves the message on.

Twilio asks for the TwiML when the person (or a machine) answers; we speak the message in
the person's language inside a `<Gather>`. A key press is handed to the kind's handler
(VOICE_KEY_HANDLERS: `1` on an escalation's alert takes it). When the call ends without a
key press — no answer, busy, an answering machine, or the person hung up — the message goes
to its next channel, like an SMS that never arrived.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import VoiceResponse

from hotline.models import Message
from hotline.sms import outbox, texts
from hotline.telephony.twiml import say

log = logging.getLogger(__name__)

# The kinds whose key press does something besides "heard it":
# `handler(*, message, digits, now) -> str` (the words spoken back).
VOICE_KEY_HANDLERS = {"escalation": "hotline.tasks.voice_key_ack"}

# Hotline.language codes of hotline.telephony.twiml.VOICES, by a person's page language.
SPOKEN_LANGUAGE = {"zh-hans": "zh-CN", "en": "en"}
ENDED_UNANSWERED = {"busy", "no-answer", "failed", "canceled"}


def _voice_language(message: Message) -> str:
    return SPOKEN_LANGUAGE.get(message.language or settings.LANGUAGE_CODE, "zh-CN")


def _message(message_id: int, call_sid: str) -> Message | None:
    message = (
        Message.objects.select_related("recipient__user")
        .filter(pk=message_id, channel="voice")
        .first()
    )
    if message is None or (message.twilio_sid and message.twilio_sid != call_sid):
        return None
    return message


def alert_answered(
    *, message_id: int, call_sid: str, answered_by: str, now: dt.datetime
) -> VoiceResponse:
    """The alert call was answered: speak it and wait for a key, or hang up on a machine."""
    response = VoiceResponse()
    message = _message(message_id, call_sid)
    if message is None:
        response.hangup()
        return response
    if answered_by.startswith("machine") or answered_by == "fax":
        # Voicemail swallows nothing: the next channel takes the message.
        outbox.message_channel_failed(
            message_id=message.pk, outcome="answered by a machine", now=now
        )
        response.hangup()
        return response
    language = _voice_language(message)
    text = texts.spoken_text(message)
    gather = response.gather(
        num_digits=1,
        timeout=8,
        action=f"{reverse('twilio:voice-alert-key')}?m={message.pk}",
        method="POST",
    )
    say(gather, text, language)
    say(gather, text, language)
    with translation.override(message.language or settings.LANGUAGE_CODE):
        say(response, _("No key was pressed. Goodbye."), language)
    response.hangup()
    return response


def alert_key(*, message_id: int, call_sid: str, digits: str, now: dt.datetime) -> VoiceResponse:
    """A key pressed on the alert call."""
    response = VoiceResponse()
    message = _message(message_id, call_sid)
    if message is None:
        response.hangup()
        return response
    language = _voice_language(message)
    handler = VOICE_KEY_HANDLERS.get(message.purpose)
    if handler:
        words = import_string(handler)(message=message, digits=digits, now=now)
        if digits == "1":
            outbox.message_reached(message_id=message.pk, now=now)
    else:
        outbox.message_reached(message_id=message.pk, now=now)
        with translation.override(message.language or settings.LANGUAGE_CODE):
            words = _("Thank you.")
    say(response, words, language)
    response.hangup()
    return response


def alert_ended(
    *, message_id: int, call_sid: str, call_status: str, answered_by: str, now: dt.datetime
) -> bool:
    """The alert call's status callback. Without a key press the message moves on; a replayed
    or late callback changes nothing. True when the message moved to its next channel."""
    message = _message(message_id, call_sid)
    if message is None or message.status != Message.Status.SENT:
        return False
    if call_status in ENDED_UNANSWERED:
        outcome = f"call {call_status}"
    elif call_status == "completed":
        outcome = (
            "answered by a machine"
            if answered_by.startswith("machine")
            else "answered, no key pressed"
        )
    else:
        return False
    return outbox.message_channel_failed(message_id=message.pk, outcome=outcome, now=now)
