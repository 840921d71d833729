"""Calendar feeds (RFC 5545) built with icalendar 7.

Two feeds, each behind a secret token (`CalendarToken`):

- a volunteer's shifts: their assignments in published rosters from 60 days back to all
  future, cancelled ones kept for 30 days as STATUS:CANCELLED;
- a coordinator's unfilled slots: every shift of a published roster still missing seats.

Output is a pure function of the data: DTSTAMP and LAST-MODIFIED come from the rows' own
`updated_at`, the window edges are rounded to whole days, and events are ordered by id, so
unchanged data gives byte-identical bytes. The ETag comes from change stamps
(hotline/stamps.py) raised in the same transaction as every change a feed shows, read with
the token in one query: a conditional request is answered without reading the roster at
all, and the full feed is kept in the cache under its ETag.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import translation
from django.utils.translation import gettext as _
from icalendar import (
    Calendar,
    Event,
    vDuration,
)

from hotline.models import Role, Volunteer
from scheduling.feeds.vtimezone import vtimezone
from scheduling.models import Assignment, Roster, Shift
from scheduling.selectors import shift_coverage, shifts_ended_since_q, shifts_with_fill

log = logging.getLogger(__name__)

PRODID = "-//Hotline Roster//Calendar feed//EN"
# Raise when the feed's layout changes, so every client fetches it again.
FEED_FORMAT = 2
DAYS_BACK = 60
CANCELLED_KEPT_DAYS = 30
REFRESH = dt.timedelta(hours=1)


def uid_host() -> str:
    """The host in every UID; `CALENDAR_UID_HOST`, else the first real ALLOWED_HOSTS entry."""
    configured = settings.CALENDAR_UID_HOST
    if configured:
        return configured
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*" and not host.startswith((".", "[")):
            return host
    return "hotline-roster"


def _day_floor(moment: dt.datetime) -> dt.datetime:
    moment = moment.astimezone(dt.UTC)
    return dt.datetime.combine(moment.date(), dt.time(0), tzinfo=dt.UTC)


@dataclass(frozen=True)
class FeedVersion:
    etag: str
    last_modified: dt.datetime | None


# --- a volunteer's shifts -------------------------------------------------------------------


def volunteer_feed_assignments(volunteer: Volunteer, *, now: dt.datetime) -> QuerySet[Assignment]:
    """What the volunteer's feed shows: published rosters, shifts ending from 60 days back,
    cancelled assignments only if cancelled in the last 30 days (day-rounded edges)."""
    today = _day_floor(now)
    return Assignment.objects.filter(
        shifts_ended_since_q(today - dt.timedelta(days=DAYS_BACK)),
        volunteer=volunteer,
        shift__roster__status=Roster.Status.PUBLISHED,
    ).filter(
        Q(status=Assignment.Status.ACTIVE)
        | Q(
            status=Assignment.Status.CANCELLED,
            updated_at__gte=today - dt.timedelta(days=CANCELLED_KEPT_DAYS),
        )
    )


def _version_from_stamps(
    kind: str, parts: tuple, *, changed: dt.datetime | None, now: dt.datetime
) -> FeedVersion:
    # The window moves with the day (60 days back, cancellations kept 30): the day is part of
    # the version, and so are the settings a feed shows.
    today = _day_floor(now)
    digest = hashlib.sha256(
        repr((FEED_FORMAT, kind, *parts, today, settings.COORDINATOR_CONTACT, uid_host())).encode()
    ).hexdigest()[:32]
    stamps_ = [t for t in (changed, today) if t is not None]
    return FeedVersion(etag=f'"{digest}"', last_modified=max(stamps_))


def volunteer_feed_version(
    *,
    volunteer_id: int,
    language: str,
    display_name: str,
    updated_at: dt.datetime,
    stamp_version: int | None,
    stamp_changed: dt.datetime | None,
    now: dt.datetime,
) -> FeedVersion:
    """The feed's version from its change stamps (read with the token, no query of its own)
    and the volunteer's own row (their name and language; `updated_at` follows any edit)."""
    changed = max(filter(None, [stamp_changed, updated_at]), default=None)
    return _version_from_stamps(
        "shifts",
        (volunteer_id, stamp_version or 0, stamp_changed, updated_at, language, display_name),
        changed=changed,
        now=now,
    )


def _calendar(*, name: str, uid: str, language: str) -> Calendar:
    cal = Calendar.new(
        prodid=PRODID,
        name=name,
        method="PUBLISH",
        uid=uid,
        refresh_interval=REFRESH,
        language=language,
    )
    # Calendar.new wrote NAME and X-WR-CALNAME. RFC 7986 wants VALUE=DURATION spelt out.
    cal["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"
    cal["X-PUBLISHED-TTL"] = vDuration(REFRESH)
    cal.calscale = "GREGORIAN"
    return cal


def _finish(cal: Calendar, zones: dict[str, list[dt.datetime]]) -> bytes:
    """Add a VTIMEZONE per zone used, covering the years of its events, and serialise."""
    timezones = [
        vtimezone(name, min(moments).year - 1, max(moments).year + 1)
        for name, moments in sorted(zones.items())
    ]
    # Time zones first: some clients read the file in one pass.
    cal.subcomponents[:0] = timezones
    return cal.to_ical()


CACHE_SECONDS = 3600


def cached(version: FeedVersion, build) -> bytes:
    """The feed for `version`, built once per version and kept an hour in the cache (the
    ETag covers everything the feed shows, so equal ETags mean equal bytes)."""
    key = f"ical-feed:{version.etag.strip(chr(34))}"
    try:
        body = cache.get(key)
    except Exception:  # the cache (Redis) is down: the feed is built, as on a miss
        log.warning("feed cache unavailable; building the feed", exc_info=True)
        return build()
    if body is None:
        body = build()
        try:
            cache.set(key, body, CACHE_SECONDS)
        except Exception:
            log.warning("feed cache unavailable; feed not kept", exc_info=True)
    return body


def volunteer_feed(volunteer: Volunteer, *, now: dt.datetime) -> bytes:
    """The volunteer's calendar, in their language. Three queries whatever its size."""
    assignments = list(
        volunteer_feed_assignments(volunteer, now=now)
        .select_related("shift__roster__hotline")
        .order_by("id")
    )
    shift_ids = {a.shift_id for a in assignments}
    others: dict[int, list[str]] = {}
    # Co-volunteers by display name only: never their phone numbers.
    for shift_id, name in (
        Assignment.objects.filter(shift_id__in=shift_ids, status=Assignment.Status.ACTIVE)
        .exclude(volunteer=volunteer)
        .order_by("volunteer__display_name", "id")
        .values_list("shift_id", "volunteer__display_name")
    ):
        others.setdefault(shift_id, []).append(name)

    host = uid_host()
    zones: dict[str, list[dt.datetime]] = {}
    contact = settings.COORDINATOR_CONTACT
    with translation.override(volunteer.language):
        cal = _calendar(
            name=_("Hotline shifts: %(name)s") % {"name": volunteer.display_name},
            uid=f"calendar-volunteer-{volunteer.pk}@{host}",
            language=volunteer.language,
        )
        for a in assignments:
            shift = a.shift
            hotline = shift.roster.hotline
            tz = hotline.tz
            zones.setdefault(hotline.time_zone, []).extend([shift.starts_at, shift.ends_at])
            role = Role(a.role).label
            cancelled = not a.is_active
            summary = _("%(role)s · %(hotline)s") % {"role": role, "hotline": hotline.name}
            if cancelled:
                summary = _("Cancelled: %(summary)s") % {"summary": summary}
            lines = [
                _("Hotline: %(name)s (%(number)s)")
                % {"name": hotline.name, "number": hotline.phone_number},
                _("Role: %(role)s") % {"role": role},
            ]
            if cancelled:
                lines.append(_("This shift is no longer yours."))
            elif others.get(shift.pk):
                lines.append(_("With: %(names)s") % {"names": ", ".join(others[shift.pk])})
            if contact:
                lines.append(_("Coordinator: %(contact)s") % {"contact": contact})
            event = Event.new(
                uid=f"assignment-{a.pk}@{host}",
                stamp=a.updated_at.astimezone(dt.UTC),
                last_modified=a.updated_at.astimezone(dt.UTC),
                created=a.created_at.astimezone(dt.UTC),
                sequence=a.sequence,
                start=shift.starts_at.astimezone(tz),
                end=shift.ends_at.astimezone(tz),
                status="CANCELLED" if cancelled else "CONFIRMED",
                summary=summary,
                description="\n".join(lines),
                location=_("By phone from home · %(hotline)s") % {"hotline": hotline.name},
            )
            event.add("TRANSP", "TRANSPARENT" if cancelled else "OPAQUE")
            cal.add_component(event)
    return _finish(cal, zones)


# --- a coordinator's unfilled slots ---------------------------------------------------------


def open_slots_shifts(*, now: dt.datetime) -> QuerySet[Shift]:
    """Shifts of published rosters ending from yesterday on (coordinators see every hotline)."""
    return Shift.objects.filter(
        roster__status=Roster.Status.PUBLISHED,
        roster__hotline__is_active=True,
        ends_at__gte=_day_floor(now) - dt.timedelta(days=1),
    )


def open_slots_version(
    *,
    language: str,
    stamp_version: int | None,
    stamp_changed: dt.datetime | None,
    now: dt.datetime,
) -> FeedVersion:
    return _version_from_stamps(
        "open", (language, stamp_version or 0, stamp_changed), changed=stamp_changed, now=now
    )


def open_slots_feed(*, language: str, now: dt.datetime) -> bytes:
    """Every published shift still missing seats. Two queries whatever its size."""
    shifts = (
        shifts_with_fill(open_slots_shifts(now=now))
        .select_related("roster__hotline")
        .annotate(
            history=Count("assignments") + Sum("assignments__sequence", default=0),
            last_assignment_change=Max("assignments__updated_at"),
        )
        .order_by("id")
    )
    host = uid_host()
    zones: dict[str, list[dt.datetime]] = {}
    with translation.override(language):
        cal = _calendar(
            name=_("Unfilled hotline slots"), uid=f"calendar-open@{host}", language=language
        )
        for shift in shifts:
            coverage = shift_coverage(shift)
            missing = [
                f"{seats.missing} × {Role(role).label}"
                for role, seats in coverage.roles.items()
                if seats.missing
            ]
            if coverage.crisis_trained_missing:
                missing.append(
                    _("%(count)d crisis-trained") % {"count": coverage.crisis_trained_missing}
                )
            if not missing:
                continue
            hotline = shift.roster.hotline
            zones.setdefault(hotline.time_zone, []).extend([shift.starts_at, shift.ends_at])
            changed = max(filter(None, [shift.updated_at, shift.last_assignment_change]))
            cal.add_component(
                Event.new(
                    uid=f"shift-{shift.pk}-open@{host}",
                    stamp=changed.astimezone(dt.UTC),
                    last_modified=changed.astimezone(dt.UTC),
                    # Grows with every assignment made or changed on the shift.
                    sequence=shift.history,
                    start=shift.starts_at.astimezone(hotline.tz),
                    end=shift.ends_at.astimezone(hotline.tz),
                    status="TENTATIVE",
                    summary=_("Unfilled: %(missing)s · %(hotline)s")
                    % {"missing": ", ".join(missing), "hotline": hotline.name},
                    description=_("Still needed: %(missing)s") % {"missing": ", ".join(missing)},
                    location=hotline.name,
                )
            )
    return _finish(cal, zones)
