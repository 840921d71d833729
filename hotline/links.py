"""Absolute links to this site, built in one place.

SMS, calendar feed URLs and API responses carry absolute links. They all start from
`SITE_URL` (the public base URL, which may end in a path such as `/roster`). Without it a
link takes the address of the request being answered, and where there is none (an SMS sent
by a background task) the address `make run` serves, so a development setup still gets a
link that opens: production sets `SITE_URL`.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

DEVELOPMENT_SITE_URL = "http://127.0.0.1:8000"


def site_url(path: str, *, request: HttpRequest | None = None) -> str:
    """The absolute URL of `path` (as `reverse()` gives it)."""
    base = settings.SITE_URL
    if not base:
        if request is not None:
            return request.build_absolute_uri(path)
        base = DEVELOPMENT_SITE_URL
    return base.rstrip("/") + "/" + path.lstrip("/")


# --- signed, short-lived action links (a WeCom card's button) ---------------------------------

ACTION_SALT = "hotline.action-link"


class ActionLinkInvalid(Exception):
    """The link was forged, altered or has expired."""


def action_token(*, action: str, object_id: int, volunteer_id: int) -> str:
    """A signed token naming what the link does, to what, for whom; timestamped, so it
    expires after ACTION_LINK_MAX_AGE_MINUTES. Opening it still needs that person's login."""
    from django.core import signing

    return signing.dumps(
        {"a": action, "o": object_id, "v": volunteer_id}, salt=ACTION_SALT, compress=True
    )


def action_token_read(token: str, *, action: str) -> tuple[int, int]:
    """(object id, volunteer id) of a valid, unexpired token for `action`; else raises
    ActionLinkInvalid."""
    from django.core import signing

    try:
        data = signing.loads(
            token, salt=ACTION_SALT, max_age=settings.ACTION_LINK_MAX_AGE_MINUTES * 60
        )
    except signing.BadSignature as exc:  # SignatureExpired is one
        raise ActionLinkInvalid(str(exc)) from exc
    if not isinstance(data, dict) or data.get("a") != action:
        raise ActionLinkInvalid("not a link for this")
    try:
        return int(data["o"]), int(data["v"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ActionLinkInvalid("malformed") from exc
