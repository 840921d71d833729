"""How the outbox hands an SMS to a provider (setting SMS_BACKEND).

`console` (default without Twilio credentials: logs the text), `locmem` (tests: appends to
`outbox`), `twilio` (the REST API), `aliyun` (Alibaba Cloud SMS: registered templates, no
links, no replies; hotline/sms/aliyun.py). The text is the message's own, or its plain
version without links and replies (SMS_PLAIN_TEXT; always for `aliyun`). Each backend sends one Message and returns the
provider's id for it, or raises SendError; each has a lookup that answers "did this message
already reach the provider?" for a message whose worker died mid-delivery.
"""

from __future__ import annotations

import logging

from django.conf import settings

from hotline.models import Message
from hotline.sms import texts
from hotline.telephony import client as telephony

log = logging.getLogger(__name__)

# The locmem backend's sent messages, for tests: list of dicts (to, from, body, sid).
outbox: list[dict] = []


class SendError(Exception):
    """The backend could not hand the message over; `permanent` means retrying is useless."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def plain_text() -> bool:
    """SMS go out without links and reply codes (the backend or the route forbids them)."""
    return settings.SMS_PLAIN_TEXT or backend_name() == "aliyun"


def text(message: Message) -> str:
    """What this backend sends for `message`."""
    return texts.sms_text(message, plain=plain_text())


def _send_console(message: Message) -> str:
    # Logged once (the root logger's console handler shows it); never also printed.
    log.info("SMS to %s: %s", message.to, text(message))
    return f"console-{message.pk}"


def _send_locmem(message: Message) -> str:
    sid = f"SMlocmem{message.pk:024d}"
    outbox.append(
        {"to": message.to, "from": message.from_number, "body": text(message), "sid": sid}
    )
    return sid


def _send_twilio(message: Message) -> str:
    try:
        return telephony.send_sms(to=message.to, from_=message.from_number, body=text(message))
    except telephony.SmsError as exc:
        raise SendError(str(exc), permanent=exc.permanent) from exc


def _send_aliyun(message: Message) -> str:
    from hotline.sms import aliyun

    try:
        return aliyun.send(message)
    except aliyun.AliyunError as exc:
        raise SendError(str(exc), permanent=exc.permanent) from exc


SENDERS = {
    "console": _send_console,
    "locmem": _send_locmem,
    "twilio": _send_twilio,
    "aliyun": _send_aliyun,
}


def _lookup_locmem(message: Message) -> str | None:
    for sent in reversed(outbox):
        if sent["to"] == message.to and sent["body"] == text(message):
            return sent["sid"]
    return None


def _lookup_twilio(message: Message) -> str | None:
    return telephony.find_sms(to=message.to, body=text(message), since=message.claimed_at)


LOOKUPS = {
    "console": lambda message: None,
    "locmem": _lookup_locmem,
    "twilio": _lookup_twilio,
    # Alibaba Cloud can be asked (QuerySendDetails) only by BizId, which a dead worker never
    # saw: unknown, so the outbox moves on to the next channel instead of sending twice.
    "aliyun": lambda message: UNKNOWN,
}
# A lookup's answer when the provider cannot be asked at all.
UNKNOWN = "?"


def backend_name() -> str:
    return settings.SMS_BACKEND


def send(message: Message) -> str:
    """Hand `message` to the configured backend; returns the provider's id for it."""
    return SENDERS[backend_name()](message)


def lookup(message: Message) -> str | None:
    """The provider's id of `message` if the provider already has it, else None."""
    return LOOKUPS[backend_name()](message)
