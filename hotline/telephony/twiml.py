"""TwiML: the XML answers Twilio's webhooks get, and spoken text in the hotline's voice."""

from __future__ import annotations

import logging

from django.http import HttpResponse
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

log = logging.getLogger(__name__)


# --- TwiML ----------------------------------------------------------------------------------

VOICES = {
    # Hotline.language → (voice, language) for <Say>
    "zh-CN": ("Polly.Zhiyu", "cmn-CN"),
    "en": ("Polly.Joanna", "en-US"),
}
UI_LANGUAGE = {"zh-CN": "zh-hans", "en": "en"}


def say(node, text: str, hotline_language: str, **kw) -> None:
    voice, language = VOICES.get(hotline_language, VOICES["zh-CN"])
    node.say(text, voice=voice, language=language, **kw)


def twiml(response: VoiceResponse | str | None = None, *, status: int = 200) -> HttpResponse:
    body = str(response if response is not None else VoiceResponse())
    return HttpResponse(body, content_type="text/xml; charset=utf-8", status=status)


def messaging_response(reply: str) -> HttpResponse:
    """An incoming SMS's reply, as TwiML."""
    response = MessagingResponse()
    response.message(reply)
    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")


def empty_messaging_response() -> HttpResponse:
    return HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?><Response/>',
        content_type="text/xml; charset=utf-8",
    )
