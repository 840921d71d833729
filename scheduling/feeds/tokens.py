"""Calendar-feed tokens: made on first use, rotated on request (the old URL stops at once).

A token is found by its keyed hash (`token_hash`); the token itself is stored encrypted so
the volunteer's own pages can show their link again. Feed paths are kept out of the logs by
config/logfilters.py.
"""

from __future__ import annotations

import secrets

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from hotline import crypto
from hotline.links import site_url
from scheduling.models import CalendarToken

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
# Also named by scheduling/migrations/0006_calendar_tokens_hashed.py: never change it, or
# every feed URL handed out stops working.
TOKEN_HASH_PURPOSE = "calendar-feed-token"  # noqa: S105 - a label, not a secret


def token_hash(token: str) -> str:
    return crypto.keyed_hash(token, purpose=TOKEN_HASH_PURPOSE)


# --- services -----------------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def calendar_token_get(*, user, kind: str = CalendarToken.Kind.SHIFTS) -> CalendarToken:
    """The user's feed token of that kind, made on first use (a concurrent first request's
    token wins: get_or_create reads it back)."""
    new = _new_token()
    token, _created = CalendarToken.objects.get_or_create(
        user=user, kind=kind, defaults={"token": new, "token_hash": token_hash(new)}
    )
    return token


@transaction.atomic
def calendar_token_rotate(*, user, kind: str = CalendarToken.Kind.SHIFTS) -> CalendarToken:
    """Replace the token; the old URL stops working as this commits."""
    token = calendar_token_get(user=user, kind=kind)
    token = CalendarToken.objects.select_for_update().get(pk=token.pk)
    token.token = _new_token()
    token.token_hash = token_hash(token.token)
    token.rotated_at = timezone.now()
    token.save(update_fields=["token", "token_hash", "rotated_at"])
    return token


def feed_urls(request, token: CalendarToken) -> dict[str, str]:
    """`url` (from SITE_URL, or the address of this request) and `webcal_url` of a feed."""
    name = (
        "scheduling:calendar-open-feed"
        if token.kind == CalendarToken.Kind.OPEN
        else "scheduling:calendar-feed"
    )
    path = reverse(name, kwargs={"token": token.token})
    url = site_url(path, request=request)
    return {"url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}
