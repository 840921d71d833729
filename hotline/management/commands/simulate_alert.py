"""Play an escalation's alert chain through the real outbox, channels and webhooks, without any
provider account: SMS go to the console, calls to Twilio's console transport (the alert
call's webhooks are signed and posted as Twilio would), WeCom cards to a console transport.

Each step shows who was alerted, on which channel, and what happened; the chain moves on by
the hotline's acknowledgement window (a simulated clock: nobody waits) until someone takes
it (`--press-by`) or the rounds run out.
"""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test import Client, override_settings
from django.utils import timezone

from hotline.access import volunteer_of
from hotline.crisis.escalations import escalation_advance, escalation_raise
from hotline.models import Call, Escalation, Hotline, Message
from hotline.sms import outbox
from hotline.telephony import client as twilio_api
from hotline.telephony import signatures
from hotline.wecom import client as wecom


class ConsoleWeCom:
    """Answers WeCom's API locally: every member exists except those named unknown."""

    def __init__(self, out, unknown: set[str]):
        self.out, self.unknown = out, unknown

    def __call__(self, method, url, *, params=None, json=None, timeout=None):
        if url.endswith("/gettoken"):
            return 200, {"errcode": 0, "access_token": "console", "expires_in": 7200}
        user = (json or {}).get("touser", "")
        if user in self.unknown:
            return 200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
        card = (json or {}).get("textcard", {})
        self.out(f"    [WeCom card to {user}] {card.get('title')} — {card.get('description')}")
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": uuid.uuid4().hex}


class Command(BaseCommand):
    help = "Play an escalation's alert chain over every channel, without provider accounts."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--escalation", type=int, help="an open escalation's id")
        which.add_argument(
            "--hotline",
            help="a hotline's number: raise an escalation on its latest answered call",
        )
        parser.add_argument(
            "--press-by", help="username of the person who presses 1 when their alert rings"
        )
        parser.add_argument(
            "--machine", action="store_true", help="alert calls reach an answering machine"
        )
        parser.add_argument(
            "--wecom",
            action="store_true",
            help="pretend WeCom is set up (cards to people with a WeCom user id)",
        )
        parser.add_argument(
            "--wecom-unknown",
            default="",
            help="comma-separated WeCom user ids WeCom does not know (to see the fallback)",
        )
        parser.add_argument("--steps", type=int, default=4, help="tiers/rounds to play at most")

    def handle(self, *args, **opts):
        pressing = None
        if opts["press_by"]:
            user = get_user_model().objects.filter(username=opts["press_by"]).first()
            pressing = volunteer_of(user)
            if pressing is None:
                raise CommandError(f"No volunteer with username {opts['press_by']!r}.")
        token = settings.TWILIO_AUTH_TOKEN or uuid.uuid4().hex
        host = next(
            (h.lstrip(".") for h in settings.ALLOWED_HOSTS if h and "*" not in h), "localhost"
        )
        overrides = {
            "TWILIO_VOICE_BACKEND": "console",
            "TWILIO_AUTH_TOKEN": token,
            "SMS_BACKEND": "console",
        }
        if opts["wecom"]:
            overrides.update(WECOM_CORP_ID="console", WECOM_AGENT_ID="1", WECOM_SECRET="console")  # noqa: S106 - no account
        unknown = {u.strip() for u in opts["wecom_unknown"].split(",") if u.strip()}
        previous = twilio_api.http_client, wecom.transport
        twilio_api.http_client = None
        wecom.transport = ConsoleWeCom(self.stdout.write, unknown)
        try:
            with override_settings(**overrides):
                self.client = Client(HTTP_HOST=host)
                self.base, self.token = f"https://{host}", token
                self._play(opts, pressing)
        finally:
            twilio_api.http_client, wecom.transport = previous

    # --- the chain -----------------------------------------------------------------------------

    def _escalation(self, opts, now) -> Escalation:
        if opts["escalation"]:
            escalation = Escalation.objects.filter(pk=opts["escalation"]).first()
            if escalation is None or escalation.status != Escalation.Status.OPEN:
                raise CommandError(f"No open escalation {opts['escalation']}.")
            return escalation
        hotline = Hotline.objects.filter(phone_number=opts["hotline"]).first()
        if hotline is None:
            raise CommandError(f"{opts['hotline']} is no hotline.")
        call = (
            Call.objects.filter(hotline=hotline, answered_by__isnull=False)
            .select_related("answered_by__user", "hotline")
            .order_by("-arrived_at", "-id")
            .first()
        )
        if call is None:
            raise CommandError("That hotline has no answered call yet (try simulate_call).")
        return escalation_raise(
            call=call,
            by=call.answered_by.user,
            reason="simulated alert",
            now=now,
            source=Escalation.Source.MANUAL,
        )

    def _play(self, opts, pressing):
        now = timezone.now()
        escalation = self._escalation(opts, now)
        self.stdout.write(
            self.style.MIGRATE_HEADING(
                f"Escalation {escalation.pk} (code {escalation.code}) on {escalation.hotline}"
            )
        )
        for _step in range(opts["steps"]):
            escalation.refresh_from_db()
            self.stdout.write(
                self.style.MIGRATE_LABEL(f"\nTier {escalation.tier}, round {escalation.round}:")
            )
            self._deliver(escalation, now, pressing, opts["machine"])
            escalation.refresh_from_db()
            if escalation.status != Escalation.Status.OPEN:
                who = volunteer_of(escalation.acknowledged_by)
                self.stdout.write(
                    self.style.SUCCESS(
                        f"\nAcknowledged by {who or escalation.acknowledged_by} "
                        f"through {escalation.ack_channel}."
                    )
                )
                return
            now += dt.timedelta(minutes=escalation.hotline.ack_window_minutes, seconds=1)
            self.stdout.write(f"  … nobody took it; {now:%H:%M:%S} the window has passed")
            escalation_advance(escalation_id=escalation.pk, now=now)
        self.stdout.write(self.style.WARNING("\nStill open after the steps played."))

    def _round_messages(self, escalation):
        prefix = f"esc:{escalation.pk}:t{escalation.tier}:r{escalation.round}:"
        return Message.objects.filter(dedupe_key__startswith=prefix).select_related(
            "recipient__user"
        )

    def _deliver(self, escalation, now, pressing, machine):
        for _turn in range(10):  # each channel at most once per message
            queued = list(self._round_messages(escalation).filter(status=Message.Status.QUEUED))
            ringing = list(
                self._round_messages(escalation).filter(status=Message.Status.SENT, channel="voice")
            )
            if not queued and not ringing:
                break
            for message in queued:
                channel = message.channel
                status = outbox.message_deliver(message.pk, now=now)
                message.refresh_from_db()
                who = message.recipient or message.to
                if message.channel != channel:
                    self.stdout.write(
                        f"  {who} — {channel}: failed ({message.channel_log[-1]['outcome']}),"
                        f" next: {message.channel}"
                    )
                else:
                    self.stdout.write(f"  {who} — {channel}: {status}")
            for message in ringing:
                self._ring(message, pressing, machine)
        for message in self._round_messages(escalation):
            steps = " → ".join(f"{s['channel']} ({s['outcome']})" for s in message.channel_log)
            if steps:
                self.stdout.write(f"  {message.recipient}: {steps} → {message.channel}")

    def _ring(self, message, pressing, machine):
        sid = message.twilio_sid or "CA" + uuid.uuid4().hex
        who = message.recipient
        path = f"/twilio/voice/alert?m={message.pk}"
        if machine:
            self._post(
                path, {"CallSid": sid, "CallStatus": "in-progress", "AnsweredBy": "machine_start"}
            )
            self.stdout.write(f"  {who}: the call reached an answering machine")
        elif pressing is not None and who is not None and who.pk == pressing.pk:
            self._post(path, {"CallSid": sid, "CallStatus": "in-progress", "AnsweredBy": "human"})
            answer = self._post(
                f"/twilio/voice/alert-key?m={message.pk}", {"CallSid": sid, "Digits": "1"}
            )
            self.stdout.write(f"  {who} answered and pressed 1: {_said(answer)}")
            self._post(
                f"/twilio/voice/alert-status?m={message.pk}",
                {"CallSid": sid, "CallStatus": "completed", "AnsweredBy": "human"},
            )
            return
        else:
            self.stdout.write(f"  {who}: the call was not answered")
        self._post(
            f"/twilio/voice/alert-status?m={message.pk}",
            {
                "CallSid": sid,
                "CallStatus": "no-answer" if not machine else "completed",
                "AnsweredBy": "machine_start" if machine else "",
            },
        )

    def _post(self, path, data):
        signature = signatures.sign(self.base + path, data, self.token)
        response = self.client.post(
            path,
            urlencode(data),
            content_type="application/x-www-form-urlencoded",
            secure=True,
            HTTP_X_TWILIO_SIGNATURE=signature,
        )
        if response.status_code != 200:
            raise CommandError(f"{path} answered {response.status_code}")
        return response


def _said(response) -> str:
    import re

    return " ".join(re.findall(r"<Say[^>]*>([^<]*)</Say>", response.content.decode()))
