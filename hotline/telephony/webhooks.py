"""What every Twilio webhook guarantees, in one decorator: POST only, the signature checked
first (403, and nothing changes, when it fails), malformed input → 400, and never a 500 —
an unexpected error is logged and answered with the view's fallback TwiML (for a caller:
the hotline's apology with its emergency numbers, not silence nor Twilio's error).

And what happens when the database stays busy past the webhook's budget
(WEBHOOK_DB_LOCK_WAIT_MS, set by hotline.busy.DatabaseBusyMiddleware): a view that records
something (`inbox=` the fields to keep) has its request kept in the durable inbox
(hotline/telephony/inbox.py) and replayed when the database is free; a view that holds a
conversation answers `on_busy(request)` — words that keep the person on the line and ask
Twilio for the same step again. Either way Twilio hears from us within its 15 seconds.

Also the parsers of Twilio's fields that the webhooks share. Caller numbers are never
logged: the services store a keyed hash and the last four digits.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from hotline.busy import is_busy
from hotline.telephony import inbox
from hotline.telephony.signatures import signature_valid
from hotline.telephony.twiml import twiml

log = logging.getLogger(__name__)

SID = re.compile(r"^[A-Z]{2}[0-9a-zA-Z]{32}$")
E164 = re.compile(r"^\+[1-9]\d{5,14}$")


class Malformed(Exception):
    pass


def sid(request: HttpRequest, name: str = "CallSid") -> str:
    value = request.POST.get(name, "")
    if not SID.match(value):
        raise Malformed(f"{name} missing or malformed")
    return value


def int_query(request: HttpRequest, name: str) -> int:
    value = request.GET.get(name, "")
    if not value.isdigit() or len(value) > 18:
        raise Malformed(f"{name} missing or malformed")
    return int(value)


def int_field(request: HttpRequest, name: str) -> int | None:
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def caller_number(request: HttpRequest) -> str:
    value = request.POST.get("From", "")
    return value if E164.match(value) else ""


def received_at(request: HttpRequest) -> dt.datetime:
    """When Twilio sent this request: now, or when it came in for a replayed inbox entry."""
    value = getattr(request, "twilio_received_at", None)
    if value is None:
        value = request.twilio_received_at = timezone.now()
    return value


def is_replay(request: HttpRequest) -> bool:
    """True when the request is an inbox entry replayed after a busy database: nobody is
    waiting for the answer any more (an SMS reply must be sent, not answered)."""
    return getattr(request, "twilio_replay", False)


def twilio_webhook(
    fallback: Callable | None = None,
    *,
    inbox_keeps: tuple[str, ...] = (),
    on_busy: Callable | None = None,
):
    """Wrap a webhook view. `fallback(request)` returns the TwiML answered when the view fails
    unexpectedly (None: an empty response). When the database stays busy: with
    `inbox_keeps` (the POST fields the view reads) the request goes to the inbox; then
    `on_busy(request)` (default: `fallback`) is the answer."""

    def answer_busy(request: HttpRequest) -> HttpResponse:
        if inbox_keeps:
            try:
                inbox.inbox_put(request, keep=inbox_keeps)
            except OSError:
                # Nowhere to keep it: an error, so that Twilio's fallback URL (if set) gets it.
                log.exception("webhook inbox unwritable; %s answered 503", request.path)
                return HttpResponse("busy", status=503, content_type="text/plain")
        answer = on_busy or fallback
        try:
            return twiml(answer(request) if answer else None)
        except Exception:
            log.exception("Twilio webhook %s: the busy answer failed", request.path)
            return twiml(fallback(None) if fallback else None)

    def decorator(view):
        @csrf_exempt
        @require_POST
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not signature_valid(request):
                log.warning("refused a Twilio webhook with a bad signature: %s", request.path)
                return HttpResponseForbidden("invalid signature")
            received_at(request)
            try:
                return view(request, *args, **kwargs)
            except Malformed as exc:
                log.warning("malformed Twilio webhook %s: %s", request.path, exc)
                return HttpResponse(str(exc), status=400, content_type="text/plain")
            except Exception as exc:
                if is_busy(exc):
                    log.warning("Twilio webhook %s: database busy", request.path)
                    return answer_busy(request)
                log.exception("Twilio webhook %s failed", request.path)
                try:
                    return twiml(fallback(request) if fallback else None)
                except Exception:
                    log.exception("Twilio webhook %s: the fallback failed", request.path)
                    return twiml(fallback(None) if fallback else None)

        def replay(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            """An inbox entry, without the signature check (done when it came in); raises."""
            try:
                return view(request, *args, **kwargs)
            except Malformed as exc:
                log.warning("replayed Twilio webhook %s malformed: %s", request.path, exc)
                return HttpResponse(str(exc), status=400, content_type="text/plain")

        # Read by DatabaseBusyMiddleware (the webhook budget) and by the inbox (replays);
        # functools.wraps in csrf_exempt/require_POST copies them onto the outer view.
        wrapper.twilio_webhook = True
        wrapper.twilio_replay = replay
        return wrapper

    return decorator
