"""The two calendar-feed endpoints (no login; the token is the key).

`GET /calendar/<token>.ics` — a volunteer's shifts; `GET /calendar/open/<token>.ics` — a
coordinator's unfilled slots. An unknown or rotated token is a 404. Conditional requests
(If-None-Match, If-Modified-Since) are answered 304 from the feed's change stamps, read in
the same query as the token (one statement on unique indexes), before anything else; a full
feed comes from the cache under its ETag, built only when its version is new.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_safe

from hotline.access import can_see_open_slots
from scheduling.feeds import builder as ical
from scheduling.feeds.lookup import FeedKey, feed_key
from scheduling.feeds.tokens import token_hash
from scheduling.models import CalendarToken

# --- views --------------------------------------------------------------------------------


def _key_or_404(token: str, kind: str) -> FeedKey:
    """The token's login, volunteer and feed stamps (one query), or 404."""
    if not token or len(token) > 100:
        raise Http404
    digest = token_hash(token)
    found = feed_key(token_hash=digest, kind=kind)
    # Compare again in constant time: the database lookup is not.
    if found is None or not secrets.compare_digest(found.token_hash, digest):
        raise Http404
    return found


def _not_modified(request, version: ical.FeedVersion) -> bool:
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or version.etag in tags
    since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
    if since is not None and version.last_modified is not None:
        return int(version.last_modified.timestamp()) <= since
    return False


def _respond(request, version: ical.FeedVersion, build, filename: str) -> HttpResponse:
    if _not_modified(request, version):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(build(), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["ETag"] = version.etag
    if version.last_modified is not None:
        response["Last-Modified"] = http_date(version.last_modified.timestamp())
    # The URL is a secret: no shared caches, always revalidate (cheap: see above).
    response["Cache-Control"] = "private, no-cache"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_safe
def volunteer_calendar(request, token: str):
    found = _key_or_404(token, CalendarToken.Kind.SHIFTS)
    shown = found.volunteer_values
    if shown is None:
        raise Http404
    now = timezone.now()
    version = ical.volunteer_feed_version(
        volunteer_id=shown["id"],
        language=shown["language"],
        display_name=shown["display_name"],
        updated_at=shown["updated_at"],
        stamp_version=found.stamp_version,
        stamp_changed=found.stamp_changed,
        now=now,
    )
    return _respond(
        request,
        version,
        lambda: ical.cached(version, lambda: ical.volunteer_feed(found.volunteer, now=now)),
        "shifts.ics",
    )


@require_safe
def open_slots_calendar(request, token: str):
    found = _key_or_404(token, CalendarToken.Kind.OPEN)
    if not can_see_open_slots(found.user):
        raise Http404
    now = timezone.now()
    shown = found.volunteer_values
    language = shown["language"] if shown is not None else settings.LANGUAGE_CODE
    version = ical.open_slots_version(
        language=language,
        stamp_version=found.stamp_version,
        stamp_changed=found.stamp_changed,
        now=now,
    )
    return _respond(
        request,
        version,
        lambda: ical.cached(version, lambda: ical.open_slots_feed(language=language, now=now)),
        "unfilled-slots.ics",
    )
