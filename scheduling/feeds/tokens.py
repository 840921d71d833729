"""Calendar-feed tokens: made on first use, rotated on request (the old URL stops at once)."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from hotline.links import site_url
from scheduling.models import CalendarToken

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits


# --- services -----------------------------------------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def calendar_token_get(*, user, kind: str = CalendarToken.Kind.SHIFTS) -> CalendarToken:
    """The user's feed token of that kind, made on first use (a concurrent first request's
    token wins: get_or_create reads it back)."""
    token, _created = CalendarToken.objects.get_or_create(
        user=user, kind=kind, defaults={"token": _new_token}
    )
    return token


@transaction.atomic
def calendar_token_rotate(*, user, kind: str = CalendarToken.Kind.SHIFTS) -> CalendarToken:
    """Replace the token; the old URL stops working as this commits."""
    token = calendar_token_get(user=user, kind=kind)
    token = CalendarToken.objects.select_for_update().get(pk=token.pk)
    token.token = _new_token()
    token.rotated_at = timezone.now()
    token.save(update_fields=["token", "rotated_at"])
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
