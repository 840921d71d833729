"""Play one call through the real webhooks, as Twilio would, without a Twilio account.

Every request is signed like Twilio signs it and goes through the URL routing, the signature
check and the views; outbound legs go to the console transport (nothing is dialled).
"""

import uuid
from urllib.parse import urlencode
from xml.dom import minidom

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test import Client, override_settings
from django.utils import timezone

from hotline.access import volunteer_of
from hotline.calls.services import call_advance
from hotline.models import Call, CallAttempt, Hotline, Message
from hotline.telephony import client as twilio_api
from hotline.telephony import signatures

MAX_ROUNDS = 50


class Command(BaseCommand):
    help = (
        "Simulate a call to a hotline through the real Twilio webhooks (no Twilio account needed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, help="the hotline's number, E.164")
        parser.add_argument(
            "--from", dest="from_number", default="+8613800138000", help="caller's number"
        )
        parser.add_argument(
            "--press", default="1", help="menu key: 1, 2, 3 (anything else: no choice)"
        )
        who = parser.add_mutually_exclusive_group()
        who.add_argument(
            "--answered-by", help="username of the volunteer who accepts (default: the first rung)"
        )
        who.add_argument(
            "--nobody-answers", action="store_true", help="no leg is answered: voicemail"
        )
        parser.add_argument(
            "--no-callback", action="store_true", help="in voicemail, do not press 1 for a callback"
        )
        parser.add_argument("--quiet", action="store_true", help="do not print the TwiML")

    def handle(self, *args, **opts):
        if not Hotline.objects.filter(phone_number=opts["to"]).exists():
            self.stderr.write(
                self.style.WARNING(f"{opts['to']} is no hotline: expect “not in service”.")
            )
        answerer = None
        if opts["answered_by"]:
            user = get_user_model().objects.filter(username=opts["answered_by"]).first()
            answerer = volunteer_of(user)
            if answerer is None:
                raise CommandError(f"No volunteer with username {opts['answered_by']!r}.")
        token = settings.TWILIO_AUTH_TOKEN or uuid.uuid4().hex
        host = next(
            (h.lstrip(".") for h in settings.ALLOWED_HOSTS if h and "*" not in h), "localhost"
        )
        previous_client = twilio_api.http_client
        twilio_api.http_client = None
        try:
            with override_settings(TWILIO_VOICE_BACKEND="console", TWILIO_AUTH_TOKEN=token):
                self._run(opts, answerer, token, host)
        finally:
            twilio_api.http_client = previous_client

    # --- one simulated call ------------------------------------------------------------------

    def _run(self, opts, answerer, token, host):
        self.client = Client(HTTP_HOST=host)
        self.base = f"https://{host}"
        self.token = token
        self.quiet = opts["quiet"]
        sid = "CA" + uuid.uuid4().hex
        caller = {
            "AccountSid": settings.TWILIO_ACCOUNT_SID or twilio_api.CONSOLE_ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": sid,
            "From": opts["from_number"],
            "Caller": opts["from_number"],
            "To": opts["to"],
            "Called": opts["to"],
            "Direction": "inbound",
            "CallStatus": "ringing",
        }
        self._post("caller dials the hotline", "/twilio/voice/incoming", caller)
        call = Call.objects.filter(call_sid=sid).select_related("hotline").first()
        if call is None:
            return
        if call.state == Call.State.MENU:
            self._post(
                f"caller presses {opts['press']}",
                "/twilio/voice/menu",
                {**caller, "CallStatus": "in-progress", "Digits": opts["press"]},
            )
            call.refresh_from_db()
            if call.state == Call.State.MENU:  # a wrong key: the menu once more, then no key
                self._post(
                    "caller presses nothing",
                    "/twilio/voice/menu",
                    {**caller, "CallStatus": "in-progress"},
                )
                call.refresh_from_db()
        live = {**caller, "CallStatus": "in-progress"}
        rounds = 0
        while call.state == Call.State.RINGING and rounds < MAX_ROUNDS:
            rounds += 1
            pending = list(
                CallAttempt.objects.filter(call=call, batch=call.ring_batch, result="")
                .exclude(leg_sid=None)
                .select_related("volunteer__user")
            )
            chosen = None
            if not opts["nobody_answers"]:
                chosen = next(
                    (a for a in pending if answerer is None or a.volunteer_id == answerer.pk), None
                )
            if chosen is not None:
                leg = self._leg(call, chosen)
                self._post(
                    f"{chosen.volunteer.user.username} answers: the whisper",
                    f"/twilio/voice/offer?attempt={chosen.pk}",
                    leg,
                )
                self._post(
                    f"{chosen.volunteer.user.username} presses 1",
                    f"/twilio/voice/accept?attempt={chosen.pk}",
                    {**leg, "Digits": "1"},
                )
                break
            for attempt in pending:
                self._post(
                    f"{attempt.volunteer.user.username}'s phone: no answer",
                    f"/twilio/voice/leg-status?attempt={attempt.pk}",
                    {**self._leg(call, attempt), "CallStatus": "no-answer"},
                )
            if not pending:  # nothing left in flight: let the safety net move on
                call_advance(call_id=call.pk, from_batch=call.ring_batch, now=timezone.now())
            call.refresh_from_db()
        call.refresh_from_db()
        if answerer is not None and call.answered_by_id != answerer.pk:
            self.stdout.write(
                self.style.WARNING(
                    f"\n{opts['answered_by']} was not rung: not on shift now in this category, or busy."
                )
            )
        if call.state == Call.State.VOICEMAIL:
            if call.ring_batch:
                self._post("hold music loop", f"/twilio/voice/hold?call={call.pk}", live)
                self._post(
                    "caller leaves the queue",
                    f"/twilio/voice/queue-done?call={call.pk}",
                    {**live, "QueueResult": "leave"},
                )
            if not opts["no_callback"]:
                self._post(
                    "caller presses 1: call me back",
                    f"/twilio/voice/callback?call={call.pk}",
                    {**live, "Digits": "1"},
                )
                for question, key, label in (
                    ("call", "1", "safe to call back: 1 (yes)"),
                    ("message", "2", "safe to leave a message: 2 (no)"),
                    ("time", "3", "best time: 3 (evening)"),
                ):
                    query = f"call={call.pk}&q={question}" + (
                        "&c=1" if question == "message" else ""
                    )
                    self._post(
                        f"caller answers {label}",
                        f"/twilio/voice/callback-safety?{query}",
                        {**live, "Digits": key},
                    )
            else:
                self._post("caller presses nothing", f"/twilio/voice/record?call={call.pk}", live)
            rec = "RE" + uuid.uuid4().hex
            self._post(
                "caller leaves a 30 s message",
                f"/twilio/voice/recorded?call={call.pk}",
                {
                    **live,
                    "RecordingSid": rec,
                    "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{caller['AccountSid']}/Recordings/{rec}",
                    "RecordingDuration": "30",
                },
            )
        if call.state == Call.State.CONNECTED:
            accepted = CallAttempt.objects.filter(call=call, result="accepted").first()
            if accepted:
                self._post(
                    "volunteer's leg ends",
                    f"/twilio/voice/leg-status?attempt={accepted.pk}",
                    {**self._leg(call, accepted), "CallStatus": "completed", "CallDuration": "300"},
                )
        self._post(
            "caller hangs up",
            "/twilio/voice/status",
            {**caller, "CallStatus": "completed", "CallDuration": "312"},
        )
        self._summary(
            Call.objects.select_related("hotline", "answered_by", "shift").get(pk=call.pk)
        )

    def _leg(self, call, attempt):
        return {
            "AccountSid": settings.TWILIO_ACCOUNT_SID or twilio_api.CONSOLE_ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "CallSid": attempt.leg_sid,
            "ParentCallSid": "",
            "From": call.hotline.phone_number,
            "To": attempt.volunteer.phone_number,
            "Direction": "outbound-api",
            "CallStatus": "in-progress",
        }

    def _post(self, label, path, data):
        signature = signatures.sign(self.base + path, data, self.token)
        response = self.client.post(
            path,
            urlencode(data),
            content_type="application/x-www-form-urlencoded",
            secure=True,
            HTTP_X_TWILIO_SIGNATURE=signature,
        )
        self.stdout.write(
            self.style.MIGRATE_HEADING(f"\n▶ {label}: POST {path} → {response.status_code}")
        )
        if response.status_code != 200:
            raise CommandError(
                f"{path} answered {response.status_code}: {response.content[:200]!r}"
            )
        if not self.quiet:
            body = response.content.decode()
            try:
                body = minidom.parseString(body).toprettyxml(indent="  ").split("\n", 1)[1].strip()  # noqa: S318 - our own TwiML
            except Exception:  # noqa: BLE001, S110 - print it raw then
                pass
            self.stdout.write(body)
        return response

    def _summary(self, call):
        self.stdout.write(self.style.SUCCESS("\nThe call:"))
        rows = [
            ("call_sid", call.call_sid),
            ("hotline", f"{call.hotline.name} ({call.hotline.phone_number})"),
            ("category", call.get_category_display() or "—"),
            ("outcome", call.get_outcome_display() or call.get_state_display()),
            (
                "answered by",
                f"{call.answered_by} ({call.answered_by.user.username})"
                if call.answered_by
                else "—",
            ),
            ("shift", str(call.shift) if call.shift else "—"),
            ("waited", f"{call.wait_seconds} s" if call.wait_seconds is not None else "—"),
            ("duration", f"{call.duration} s" if call.duration is not None else "—"),
            ("caller", f"…{call.caller_last4} (hash {call.caller_hash[:12]}…)"),
            ("voicemail", call.recording_sid or "—"),
            ("callback requested", "yes" if hasattr(call, "callback") else "no"),
        ]
        if hasattr(call, "callback"):
            cb = call.callback
            answer = {True: "yes", False: "no", None: "not answered"}
            rows.append(
                (
                    "caller's answers",
                    f"call back {answer[cb.safe_to_call]}, message "
                    f"{answer[cb.safe_to_leave_message]}, best time {cb.best_time or '—'}",
                )
            )
        for key, value in rows:
            self.stdout.write(f"  {key:<19} {value}")
        self.stdout.write("  attempts:")
        for a in call.attempts.select_related("volunteer__user").order_by("id"):
            self.stdout.write(
                f"    batch {a.batch} {a.tier:<11} {a.volunteer.user.username:<14} {a.result or 'ringing':<10} {a.error}"
            )
        notified = Message.objects.filter(dedupe_key__startswith=f"voicemail:{call.pk}:").count()
        if notified:
            self.stdout.write(
                f"  voicemail SMS queued: {notified} (sent by the worker through SMS_BACKEND)"
            )
