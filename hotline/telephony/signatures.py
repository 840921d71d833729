"""Twilio's webhook signatures (X-Twilio-Signature): checking them, and making them for
simulate_call and tests."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)


def signature_valid(request: HttpRequest) -> bool:
    """True when X-Twilio-Signature matches the URL Twilio requested and the POST fields.

    The URL is rebuilt with `build_absolute_uri()`, which honours SECURE_PROXY_SSL_HEADER
    and USE_X_FORWARDED_HOST (setting BEHIND_PROXY). Without an auth token nothing is valid.
    """
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.META.get("HTTP_X_TWILIO_SIGNATURE", "")  # cheaper than .headers
    if not token or not signature:
        return False
    try:
        validator = RequestValidator(token)
        url = request.build_absolute_uri()
        # The URL as we rebuilt it is what Twilio signed, almost always: check it alone
        # first (one HMAC on the hot path); the validator also tries with/without the port.
        if hmac.compare_digest(validator.compute_signature(url, request.POST), signature):
            return True
        return validator.validate(url, request.POST, signature)
    except Exception:
        log.warning("could not check a Twilio signature", exc_info=True)
        return False


def sign(url: str, params: dict, token: str | None = None) -> str:
    """The signature Twilio would send for `url` and `params` (for simulate_call and tests)."""
    return RequestValidator(token or settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
