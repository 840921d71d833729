"""Reads of rosters and assignments: who sees which rosters, who is on shift, coverage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from hotline.access import managed_hotlines_q
from hotline.models import ROLE_FLAG, Hotline, Role, Volunteer
from scheduling.models import Assignment, Roster, Shift


def roster_visibility_q(user, path: str = "") -> Q:
    """`rosters_visible_to` as a filter on rows that reach their Roster through `path`
    ("shift__roster__" for assignments, "roster__" for shifts)."""
    return Q(**{f"{path}status": Roster.Status.PUBLISHED}) | managed_hotlines_q(
        user, f"{path}hotline__"
    )


def rosters_visible_to(user) -> QuerySet[Roster]:
    """Everyone signed in sees published rosters (volunteers see nothing else: no drafts);
    coordinators also see the drafts of the hotlines they manage (hotline/access.py)."""
    return Roster.objects.filter(roster_visibility_q(user))


def rosters_managed_by(user) -> QuerySet[Roster]:
    """The rosters a coordinator builds and publishes: those of the hotlines they manage."""
    return Roster.objects.filter(managed_hotlines_q(user, "hotline__"))


def volunteers_on_shift(
    hotline: Hotline, at: dt.datetime, role: str | None = None
) -> QuerySet[Volunteer]:
    """Active volunteers holding an active assignment on a published shift of `hotline`
    covering the instant `at` (half-open: a shift ending at `at` is over).

    One query whatever the roster size; call routing runs it on every incoming call. It
    starts from the shifts on now (an index seek per roster, see shift_roster_end_idx) and
    not from the volunteers, so its cost does not grow with the rosters' history.
    """
    on_now = Assignment.objects.filter(
        status=Assignment.Status.ACTIVE,
        shift__roster__hotline=hotline,
        shift__roster__status=Roster.Status.PUBLISHED,
        shift__starts_at__lte=at,
        shift__ends_at__gt=at,
    )
    if role is not None:
        on_now = on_now.filter(role=role)
    return Volunteer.objects.filter(is_active=True, pk__in=on_now.values("volunteer_id")).order_by(
        "id"
    )


@dataclass
class RoleCoverage:
    required: int
    filled: int

    @property
    def missing(self) -> int:
        return max(0, self.required - self.filled)


@dataclass
class ShiftCoverage:
    shift: Shift
    roles: dict[str, RoleCoverage] = field(default_factory=dict)
    crisis_trained_required: int = 0
    crisis_trained_filled: int = 0

    @property
    def crisis_trained_missing(self) -> int:
        return max(0, self.crisis_trained_required - self.crisis_trained_filled)

    @property
    def missing(self) -> int:
        return sum(r.missing for r in self.roles.values())

    @property
    def complete(self) -> bool:
        return self.missing == 0 and self.crisis_trained_missing == 0


def shifts_with_fill(shifts: QuerySet[Shift]) -> QuerySet[Shift]:
    """Annotate each shift with its active seats per role (`filled_<role>`) and its
    crisis-trained counsellors (`filled_trained`), in the same query."""
    active = Q(assignments__status=Assignment.Status.ACTIVE)
    by_role = {
        f"filled_{role}": Count("assignments", filter=active & Q(assignments__role=role))
        for role in ROLE_FLAG
    }
    return shifts.annotate(
        **by_role,
        filled_trained=Count(
            "assignments",
            filter=active
            & Q(assignments__role=Role.COUNSELLOR, assignments__volunteer__crisis_trained=True),
        ),
    )


def roster_coverage(roster: Roster) -> list[ShiftCoverage]:
    """Per shift and role: required, filled, and crisis-trained counsellors missing.

    Two queries whatever the roster size.
    """
    shifts = (
        shifts_with_fill(Shift.objects.filter(roster=roster))
        .select_related("roster__hotline")
        .order_by("starts_at", "id")
    )
    return [shift_coverage(shift) for shift in shifts]


def shift_coverage(shift: Shift) -> ShiftCoverage:
    """Coverage of one shift annotated by `shifts_with_fill`."""
    return ShiftCoverage(
        shift=shift,
        roles={
            str(role): RoleCoverage(
                required=shift.required(role), filled=getattr(shift, f"filled_{role}")
            )
            for role in ROLE_FLAG
        },
        crisis_trained_required=shift.crisis_trained_required,
        crisis_trained_filled=shift.filled_trained,
    )


def coverage_summary(coverage: list[ShiftCoverage]) -> dict[str, int | float]:
    required = sum(r.required for c in coverage for r in c.roles.values())
    filled = sum(min(r.filled, r.required) for c in coverage for r in c.roles.values())
    return {
        "seats_required": required,
        "seats_filled": filled,
        "seats_missing": required - filled,
        "crisis_trained_missing": sum(c.crisis_trained_missing for c in coverage),
        "percent": round(100 * filled / required, 1) if required else 100.0,
    }
