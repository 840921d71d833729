"""Channels: how one outbox message reaches a person. One interface, three channels.

- `sms`: the SMS backend (setting SMS_BACKEND: twilio, aliyun, console, locmem);
- `voice`: an automated call (Twilio REST + TwiML) that speaks the message and takes a key
  press; the call's outcome arrives later (hotline/sms/webhooks.py), and no answer or an
  answering machine moves the message on to the next channel;
- `wecom`: a WeCom app message (a text card whose button opens a signed link).

A message to a person (`Message.recipient`) carries its channel order, fixed when it is
queued (`plan`): the person's own order (Volunteer.channels), else the kind's default
(MESSAGE_CHANNELS), keeping only the channels that can reach them (a WeCom user id and
WeCom configured; a number the voice provider can call). Each channel is tried once, in
order: so the same message never reaches a person twice on one channel. Messages without a
recipient (a reply to an SMS) are plain SMS, as before.

Each channel answers `send(message) -> provider id` (raising SendError, `permanent` when
retrying is useless) and `lookup(message)` (did the provider already get it? for a message
whose worker died mid-delivery; None when the channel cannot tell).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from hotline.models import Message, MessageChannel
from hotline.sms import backends, texts
from hotline.sms.backends import SendError
from hotline.telephony import client as telephony
from hotline.wecom import client as wecom

if TYPE_CHECKING:
    from hotline.models import Volunteer

SMS, VOICE, WECOM = MessageChannel.SMS, MessageChannel.VOICE, MessageChannel.WECOM
ALL = [SMS, VOICE, WECOM]


# --- which channels, in which order --------------------------------------------------------


def voice_reachable(number: str) -> bool:
    """The voice provider can call `number` (Twilio cannot call mainland China)."""
    if not number:
        return False
    return not any(number.startswith(p) for p in settings.VOICE_UNREACHABLE_PREFIXES)


def reachable(volunteer: Volunteer, channel: str) -> bool:
    if channel == SMS:
        return bool(volunteer.phone_number)
    if channel == VOICE:
        return voice_reachable(volunteer.phone_number)
    if channel == WECOM:
        return bool(volunteer.wecom_user_id) and wecom.configured()
    return False


def preferred(volunteer: Volunteer, kind: str) -> list[str]:
    """The person's own order, else the kind's default, else the default's."""
    defaults = settings.MESSAGE_CHANNELS
    order = volunteer.channels or defaults.get(kind) or defaults.get("default") or [SMS]
    seen: list[str] = []
    for channel in order:
        if channel in ALL and channel not in seen:
            seen.append(channel)
    return seen


def plan(volunteer: Volunteer, kind: str, *, used_before: str = "") -> list[str]:
    """The channels to try for a message of `kind` to `volunteer`, in order. `used_before`:
    the channel that carried the previous round of the same alert — it goes last, so a
    repeated round arrives another way instead of as the same SMS again. Never empty for
    someone with a phone number (SMS is the last resort)."""
    order = [c for c in preferred(volunteer, kind) if reachable(volunteer, c)]
    if used_before in order and len(order) > 1:
        order.remove(used_before)
        order.append(used_before)
    if not order and volunteer.phone_number:
        order = [SMS]
    return order


def hourly_limit(kind: str) -> int:
    return settings.MESSAGE_HOURLY_LIMITS.get(kind, settings.MESSAGE_HOURLY_LIMIT)


def over_limit(message: Message, channel: str, now: dt.datetime) -> bool:
    """The person already got their hourly share of this kind of message on this channel
    (MESSAGE_HOURLY_LIMIT[S]). One query."""
    if message.recipient_id is None:
        return False
    sent = (
        Message.objects.filter(
            recipient_id=message.recipient_id,
            purpose=message.purpose,
            channel=channel,
            sent_at__gt=now - dt.timedelta(hours=1),
        )
        .exclude(pk=message.pk)
        .count()
    )
    return sent >= hourly_limit(message.purpose)


# --- the channels ----------------------------------------------------------------------------


@dataclass
class SmsChannel:
    name: str = SMS

    def send(self, message: Message) -> str:
        return backends.send(message)

    def lookup(self, message: Message) -> str | None:
        return backends.lookup(message)


def voice_urls(message: Message) -> tuple[str, str]:
    """The alert call's TwiML URL and status callback, absolute (TWILIO_WEBHOOK_BASE_URL)."""
    from hotline.links import site_url

    base = settings.TWILIO_WEBHOOK_BASE_URL.rstrip("/")

    def absolute(name: str) -> str:
        path = f"{reverse(name)}?m={message.pk}"
        return base + path if base else site_url(path)

    return absolute("twilio:voice-alert"), absolute("twilio:voice-alert-status")


@dataclass
class VoiceChannel:
    name: str = VOICE

    def send(self, message: Message) -> str:
        to = message.recipient.phone_number if message.recipient else message.to
        if not voice_reachable(to):
            raise SendError("the voice provider cannot call this number", permanent=True)
        # Caller ID: the hotline's own number for its alerts, else the SMS sender when it is
        # a number (a Messaging Service SID cannot place calls).
        caller_id = (message.params or {}).get("caller_id") or message.from_number
        if not caller_id or caller_id.startswith("MG"):
            raise SendError("no number to call from", permanent=True)
        url, status_callback = voice_urls(message)
        try:
            return telephony.alert_call_create(
                to=to,
                from_=caller_id,
                url=url,
                status_callback=status_callback,
                timeout=settings.VOICE_ALERT_RING_SECONDS,
            )
        except telephony.DialError as exc:
            # 4xx: the number or the account is refused for good
            raise SendError(str(exc), permanent=str(exc).startswith("Twilio 4")) from exc

    def lookup(self, message: Message) -> str | None:
        if telephony.voice_backend() == "console":
            return None
        to = message.recipient.phone_number if message.recipient else message.to
        return telephony.find_call(to=to, since=message.claimed_at)


@dataclass
class WeComChannel:
    name: str = WECOM

    def send(self, message: Message) -> str:
        recipient = message.recipient
        if recipient is None or not recipient.wecom_user_id:
            raise SendError("no WeCom user id", permanent=True)
        card = texts.card(message)
        try:
            return (
                wecom.card_send(
                    user_id=recipient.wecom_user_id,
                    title=card.title,
                    description=card.description,
                    url=card.url,
                    button=card.button,
                )
                or f"wecom-{message.pk}"
            )
        except wecom.WeComError as exc:
            raise SendError(str(exc), permanent=exc.permanent) from exc

    def lookup(self, message: Message) -> str | None:
        # WeCom cannot be asked; it drops a repeat of the same card within half an hour
        # (enable_duplicate_check), but the outbox moves on to the next channel rather than
        # count on that.
        return backends.UNKNOWN


CHANNELS = {SMS: SmsChannel(), VOICE: VoiceChannel(), WECOM: WeComChannel()}


def send(message: Message) -> str:
    """Hand `message` to its current channel; returns the provider's id."""
    return CHANNELS[message.channel or SMS].send(message)


def lookup(message: Message) -> str | None:
    return CHANNELS[message.channel or SMS].lookup(message)


def next_channel(message: Message) -> str | None:
    """The channel after the current one in the message's order, or None."""
    order = list(message.channels or [])
    if message.channel not in order:
        return None
    index = order.index(message.channel)
    return order[index + 1] if index + 1 < len(order) else None
