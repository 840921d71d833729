"""What every Twilio webhook guarantees, in one decorator: POST only, the signature checked
first (403, and nothing changes, when it fails), malformed input → 400, and never a 500 —
an unexpected error is logged and answered with the view's fallback TwiML (for a caller:
an apology, not silence).

Also the parsers of Twilio's fields that the webhooks share. Caller numbers are never
logged: the services store a keyed hash and the last four digits.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

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


def twilio_webhook(fallback: Callable | None = None):
    """Wrap a webhook view. `fallback()` returns the TwiML answered when the view fails
    unexpectedly (None: an empty response)."""

    def decorator(view):
        @csrf_exempt
        @require_POST
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not signature_valid(request):
                log.warning("refused a Twilio webhook with a bad signature: %s", request.path)
                return HttpResponseForbidden("invalid signature")
            try:
                return view(request, *args, **kwargs)
            except Malformed as exc:
                log.warning("malformed Twilio webhook %s: %s", request.path, exc)
                return HttpResponse(str(exc), status=400, content_type="text/plain")
            except Exception:
                log.exception("Twilio webhook %s failed", request.path)
                return twiml(fallback() if fallback else None)

        return wrapper

    return decorator
