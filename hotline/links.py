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
