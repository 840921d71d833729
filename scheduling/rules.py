"""The roster rules of DESIGN.md, checked in one place.

Every path that changes assignments (admin, pages, API, swaps, the automatic builder)
calls `check_assignment` through `scheduling.services`. Each violation carries a stable
code and a message in the active language.

Intervals are half-open: a shift ending at 20:00 and one starting at 20:00 do not overlap,
but the rest rule still applies between them. A week runs Monday 00:00 to Sunday 24:00 in
the time zone of the hotline whose shift is being filled; a shift belongs to the week its
local start falls in.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from hotline.conflicts import DomainConflict
from hotline.models import ROLE_FLAG, Role, Volunteer
from scheduling.models import Assignment, Availability, Shift, TimeOff

ROLE = "role"
CRISIS_TRAINING = "crisis_training"
OVERLAP = "overlap"
REST = "rest"
WEEKLY_LIMIT = "weekly_limit"
UNAVAILABLE = "unavailable"
TIME_OFF = "time_off"
CAPACITY = "capacity"
INACTIVE = "inactive"

# Two views of a published roster with staged changes (docs/roster-changes.md): LIVE is what
# volunteers, feeds, reminders and call routing see (active assignments, staged removals
# still in); PLANNED is what the roster becomes when its changes are published (staged
# additions in, staged removals out). Coordinators edit the planned roster; a change that
# takes effect at once (urgent, or a volunteer's own swap) must hold in both.
LIVE = "live"
PLANNED = "planned"


def occupying_q(view: str = PLANNED, prefix: str = "") -> Q:
    """The assignments that hold a seat in `view`, as a filter on rows reaching Assignment
    through `prefix` (e.g. "assignments__")."""
    active = Q(**{f"{prefix}status": Assignment.Status.ACTIVE})
    if view == LIVE:
        return active
    return (active & Q(**{f"{prefix}pending_cancel": False})) | Q(
        **{f"{prefix}status": Assignment.Status.PENDING}
    )


def _near_q(view: str, lo: dt.datetime, hi: dt.datetime, prefix: str = "shift__") -> Q:
    """Assignments whose shift reaches into lo..hi: as published, or in the PLANNED view
    also where a staged shift edit moves it (Shift.pending_starts_at/pending_ends_at)."""
    live = Q(**{f"{prefix}ends_at__gt": lo, f"{prefix}starts_at__lt": hi})
    if view == LIVE:
        return live
    moved = Q(**{f"{prefix}pending_starts_at__isnull": False}) | Q(
        **{f"{prefix}pending_ends_at__isnull": False}
    )
    return live | moved


def as_viewed(shift: Shift, view: str) -> Shift:
    """The shift as `view` sees it: as published (LIVE) or with its staged edit (PLANNED)."""
    return shift.planned() if view == PLANNED else shift


ALL_CODES = (ROLE, CRISIS_TRAINING, OVERLAP, REST, WEEKLY_LIMIT, UNAVAILABLE, TIME_OFF, CAPACITY)
# Only these may be set aside by a coordinator, with a recorded reason.
OVERRIDABLE = frozenset({UNAVAILABLE, TIME_OFF})


@dataclass(frozen=True)
class Violation:
    code: str
    message: str

    @property
    def overridable(self) -> bool:
        return self.code in OVERRIDABLE


class RuleViolation(DomainConflict):
    """A change refused by the rule layer; `code` and `message` are the first violation's,
    and the API lists every violation."""

    def __init__(self, violations: Sequence[Violation]):
        assert violations
        self.violations = list(violations)
        super().__init__(self.violations[0].code, self.violations[0].message)

    def details(self, *, request=None) -> dict:
        return {"violations": [{"code": v.code, "detail": v.message} for v in self.violations]}


# --- pure helpers (shared with the automatic builder) ---------------------------------


def local_week_start(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """Monday 00:00 local of the week `moment` falls in, as an aware datetime in UTC."""
    local = moment.astimezone(tz)
    monday = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday, dt.time(0), tzinfo=tz).astimezone(dt.UTC)


def local_week_bounds(
    moment: dt.datetime, tz: zoneinfo.ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    start = local_week_start(moment, tz)
    monday = start.astimezone(tz).date()
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=tz)
    return start, end.astimezone(dt.UTC)


def local_span(
    day: dt.date, start: dt.time, end: dt.time, tz: zoneinfo.ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """The UTC span of local wall times `start`–`end` on `day`; an end at or before the start
    runs into the next day. Wall times are kept across DST changes."""
    end_day = day if end > start else day + dt.timedelta(days=1)
    return (
        dt.datetime.combine(day, start, tzinfo=tz).astimezone(dt.UTC),
        dt.datetime.combine(end_day, end, tzinfo=tz).astimezone(dt.UTC),
    )


def window_spans(
    windows: Iterable, first: dt.date, last: dt.date, tz: zoneinfo.ZoneInfo
) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """Concrete UTC spans of weekly windows for local days first..last (inclusive).

    A window whose end is at or before its start runs into the next day.
    """
    spans = []
    day = first
    while day <= last:
        for w in windows:
            if w.weekday == day.weekday():
                spans.append((*local_span(day, w.start_time, w.end_time, tz), w.kind))
        day += dt.timedelta(days=1)
    return spans


def _covered(
    spans: list[tuple[dt.datetime, dt.datetime]], start: dt.datetime, end: dt.datetime
) -> bool:
    cursor = start
    for s, e in sorted(spans):
        if s > cursor:
            break
        if e > cursor:
            cursor = e
        if cursor >= end:
            return True
    return cursor >= end


def availability_of(
    windows: Sequence, starts_at: dt.datetime, ends_at: dt.datetime, tz: zoneinfo.ZoneInfo
) -> str | None:
    """`"preferred"`, `"available"` or None (not available) for a span, given weekly windows.

    No windows at all means available at any time.
    """
    if not windows:
        return Availability.Kind.AVAILABLE
    first = starts_at.astimezone(tz).date() - dt.timedelta(days=1)
    last = ends_at.astimezone(tz).date()
    spans = window_spans(windows, first, last, tz)
    if not _covered([(s, e) for s, e, _k in spans], starts_at, ends_at):
        return None
    preferred = [(s, e) for s, e, k in spans if k == Availability.Kind.PREFERRED]
    if preferred and _covered(preferred, starts_at, ends_at):
        return Availability.Kind.PREFERRED
    return Availability.Kind.AVAILABLE


def gap_between(a_start, a_end, b_start, b_end) -> dt.timedelta:
    """Time between two spans; negative when they overlap."""
    return max(b_start - a_end, a_start - b_end)


def shift_when(shift_start: dt.datetime, shift_end: dt.datetime, tz) -> str:
    """'Mon 2026-03-02 20:00–08:00' in local time `tz` and the active language."""
    start, end = shift_start.astimezone(tz), shift_end.astimezone(tz)
    return f"{date_format(start, 'D')} {start:%Y-%m-%d %H:%M}–{end:%H:%M}"


# --- the checks -------------------------------------------------------------------------


@dataclass
class VolunteerFacts:
    """What the rules need to know about one volunteer, loaded once for a span of time so a
    list of checks (claimable offers, a shift's candidates) costs no query per check."""

    assignments: list[Assignment] = field(default_factory=list)  # active, shift+hotline loaded
    time_off: list[TimeOff] = field(default_factory=list)
    windows: list[Availability] = field(default_factory=list)


# A shift's week and rest window reach at most this far beyond it.
FACTS_MARGIN = dt.timedelta(days=8)


def volunteers_facts(
    volunteers: Iterable[Volunteer],
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    view: str = PLANNED,
    with_assignments: bool = True,
) -> dict[int, VolunteerFacts]:
    """Facts for checking these volunteers against shifts between `starts_at` and `ends_at`
    (assignments as seen in `view`; left out with `with_assignments=False`, enough for
    `standing_violations`). Three queries however many volunteers (two without)."""
    ids = [v.pk for v in volunteers]
    facts = {pk: VolunteerFacts() for pk in ids}
    lo, hi = starts_at - FACTS_MARGIN, ends_at + FACTS_MARGIN
    for a in (
        Assignment.objects.none()
        if not with_assignments
        else Assignment.objects.filter(
            occupying_q(view), _near_q(view, lo, hi), volunteer_id__in=ids
        )
        .select_related("shift__roster__hotline")
        .order_by("shift__starts_at", "id")
    ):
        facts[a.volunteer_id].assignments.append(a)
    for off in TimeOff.objects.filter(
        volunteer_id__in=ids, starts_at__lt=hi, ends_at__gt=lo
    ).order_by("starts_at", "id"):
        facts[off.volunteer_id].time_off.append(off)
    for window in Availability.objects.filter(volunteer_id__in=ids):
        facts[window.volunteer_id].windows.append(window)
    return facts


def check_assignment_now(
    *,
    shift: Shift,
    volunteer: Volunteer,
    role: str,
    ignore: Assignment | None = None,
) -> list[Violation]:
    """`check_assignment` for a change that takes effect at once on a roster that may have
    staged changes: it must hold in the live roster and in the planned one (one violation
    per code, the live one first)."""
    found: dict[str, Violation] = {}
    for view in (LIVE, PLANNED):
        for v in check_assignment(
            shift=shift, volunteer=volunteer, role=role, ignore=ignore, view=view
        ):
            found.setdefault(v.code, v)
    return list(found.values())


def check_assignment(
    *,
    shift: Shift,
    volunteer: Volunteer,
    role: str,
    ignore: Assignment | None = None,
    facts: VolunteerFacts | None = None,
    view: str = PLANNED,
) -> list[Violation]:
    """Every hard rule for putting `volunteer` on `shift` as `role`.

    `ignore` is an existing assignment left out of the counts (when changing it). `facts`
    (from `volunteers_facts`, covering the shift, in the same `view`) saves the volunteer's
    three queries. `view`: the roster as published (LIVE) or as it will be once its staged
    changes are published (PLANNED, the default; the same on a draft roster).
    Runs a fixed number of queries (four, with `shift.roster.hotline` loaded) whatever the
    roster size.
    """
    shift = as_viewed(shift, view)  # a staged edit of the shift counts in the planned roster
    hotline = shift.roster.hotline
    tz = hotline.tz
    name = volunteer.display_name
    violations: list[Violation] = []
    ignore_id = ignore.pk if ignore is not None else None

    if not volunteer.is_active:
        violations.append(_inactive(name))

    if role not in ROLE_FLAG:
        violations.append(Violation(ROLE, _("“%(role)s” is not a role.") % {"role": role}))
        return violations
    role_label = Role(role).label
    if not volunteer.holds(role):
        violations.append(
            Violation(
                ROLE,
                _("%(name)s does not hold the role %(role)s.") % {"name": name, "role": role_label},
            )
        )

    # Capacity and crisis training: what the shift already has, in one query.
    on_shift = Assignment.objects.filter(occupying_q(view), shift=shift)
    if ignore_id:
        on_shift = on_shift.exclude(pk=ignore_id)
    counts = on_shift.aggregate(
        filled=Count("id", filter=Q(role=role)),
        counsellors=Count("id", filter=Q(role=Role.COUNSELLOR)),
        trained=Count("id", filter=Q(role=Role.COUNSELLOR, volunteer__crisis_trained=True)),
    )
    required = shift.required(role)
    if counts["filled"] >= required:
        if required == 0:
            message = _("This shift needs no %(role)s.") % {"role": role_label}
        else:
            message = _("This shift already has all %(count)d %(role)s seats filled.") % {
                "count": required,
                "role": role_label,
            }
        violations.append(Violation(CAPACITY, message))
    elif role == Role.COUNSELLOR and not volunteer.crisis_trained:
        seats_left = required - counts["counsellors"]
        trained_missing = max(0, shift.crisis_trained_required - counts["trained"])
        if seats_left <= trained_missing:
            violations.append(
                Violation(
                    CRISIS_TRAINING,
                    _(
                        "The remaining counsellor seat on this shift needs crisis-intervention "
                        "training, which %(name)s does not have."
                    )
                    % {"name": name},
                )
            )

    # Overlap, rest and weekly limit: the volunteer's other assignments near this shift.
    rest = dt.timedelta(hours=hotline.min_rest_hours)
    week_start, week_end = local_week_bounds(shift.starts_at, tz)
    lo = min(week_start, shift.starts_at - rest)
    hi = max(week_end, shift.ends_at + rest)
    if facts is None:
        others = (
            Assignment.objects.filter(occupying_q(view), _near_q(view, lo, hi), volunteer=volunteer)
            .exclude(pk=ignore_id)
            .select_related("shift__roster__hotline")
            .order_by("shift__starts_at")
        )
    else:
        others = [a for a in facts.assignments if a.pk != ignore_id]
    in_week = 0
    overlap_hit = rest_hit = None
    for other in others:
        o = as_viewed(other.shift, view)
        if not (o.ends_at > lo and o.starts_at < hi):
            continue
        if week_start <= o.starts_at < week_end:
            in_week += 1
        gap = gap_between(shift.starts_at, shift.ends_at, o.starts_at, o.ends_at)
        if gap < dt.timedelta(0):
            overlap_hit = overlap_hit or o
        elif gap < rest:
            back_to_back_ok = (
                gap == dt.timedelta(0)
                and hotline.allow_back_to_back
                and o.roster.hotline_id == hotline.pk
            )
            if not back_to_back_ok:
                rest_hit = rest_hit or o
    if overlap_hit is not None:
        violations.append(
            Violation(
                OVERLAP,
                _("%(name)s already has an overlapping shift: %(when)s (%(hotline)s).")
                % {
                    "name": name,
                    "when": shift_when(overlap_hit.starts_at, overlap_hit.ends_at, tz),
                    "hotline": overlap_hit.roster.hotline.name,
                },
            )
        )
    if rest_hit is not None:
        violations.append(
            Violation(
                REST,
                _(
                    "%(name)s would have less than %(hours)d hours of rest between this shift "
                    "and %(when)s."
                )
                % {
                    "name": name,
                    "hours": hotline.min_rest_hours,
                    "when": shift_when(rest_hit.starts_at, rest_hit.ends_at, tz),
                },
            )
        )
    if in_week >= volunteer.max_shifts_per_week:
        violations.append(
            Violation(
                WEEKLY_LIMIT,
                _("%(name)s already has %(count)d shifts that week, their maximum.")
                % {"name": name, "count": in_week},
            )
        )

    if facts is None:
        off = (
            TimeOff.objects.filter(
                volunteer=volunteer, starts_at__lt=shift.ends_at, ends_at__gt=shift.starts_at
            )
            .order_by("starts_at")
            .first()
        )
    else:
        off = next(
            (
                o
                for o in facts.time_off
                if o.starts_at < shift.ends_at and o.ends_at > shift.starts_at
            ),
            None,
        )
    if off is not None:
        violations.append(_time_off(name, off))

    windows = (
        facts.windows
        if facts is not None
        else list(Availability.objects.filter(volunteer=volunteer))
    )
    if availability_of(windows, shift.starts_at, shift.ends_at, tz) is None:
        violations.append(_unavailable(name, shift, tz))
    return violations


def _inactive(name: str) -> Violation:
    return Violation(INACTIVE, _("%(name)s is not an active volunteer.") % {"name": name})


def _time_off(name: str, off: TimeOff) -> Violation:
    return Violation(
        TIME_OFF,
        _("%(name)s has declared time off then (%(reason)s).")
        % {"name": name, "reason": off.label or _("no reason given")},
    )


def _unavailable(name: str, shift: Shift, tz) -> Violation:
    return Violation(
        UNAVAILABLE,
        _("%(name)s is not available at %(when)s.")
        % {"name": name, "when": shift_when(shift.starts_at, shift.ends_at, tz)},
    )


# --- conflicts: rules an assignment comes to break after it was made -------------------------

# A volunteer's own changes (time off, weekly windows, an imported calendar) or a deactivation
# can break these for assignments they already hold, without any change to the roster.
CONFLICT_CODES = (INACTIVE, TIME_OFF, UNAVAILABLE)


def standing_violations(
    *, shift: Shift, volunteer: Volunteer, facts: VolunteerFacts, overridden: Iterable[str] = ()
) -> list[Violation]:
    """The conflict rules (CONFLICT_CODES) the assignment of `volunteer` to `shift` breaks
    now, with the same codes and messages as `check_assignment`; codes a coordinator set
    aside when making it (`overridden`) are left out. No query: `facts` hold the volunteer's
    time off and windows (`volunteers_facts`), `shift.roster.hotline` is loaded."""
    tz = shift.roster.hotline.tz
    name = volunteer.display_name
    skip = set(overridden)
    found = []
    if not volunteer.is_active and INACTIVE not in skip:
        found.append(_inactive(name))
    if TIME_OFF not in skip:
        off = next(
            (
                o
                for o in facts.time_off
                if o.starts_at < shift.ends_at and o.ends_at > shift.starts_at
            ),
            None,
        )
        if off is not None:
            found.append(_time_off(name, off))
    if UNAVAILABLE not in skip and (
        availability_of(facts.windows, shift.starts_at, shift.ends_at, tz) is None
    ):
        found.append(_unavailable(name, shift, tz))
    return found
