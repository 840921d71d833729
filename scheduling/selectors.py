"""Reads of rosters and assignments: who sees which rosters, who is on shift, coverage, and\nthe coverage board's grid and candidates."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from hotline.access import is_coordinator, managed_hotlines_q
from hotline.models import ROLE_FLAG, Hotline, Role, Volunteer
from scheduling.models import PENDING_REQUIREMENT_FIELDS, Assignment, Roster, Shift
from scheduling.rules import (
    LIVE,
    PLANNED,
    Violation,
    as_viewed,
    check_assignment,
    local_week_bounds,
    occupying_q,
    standing_violations,
    volunteers_facts,
)
from scheduling.validators import MAX_SHIFT


def shifts_ended_since_q(since: dt.datetime, path: str = "shift") -> Q:
    """Rows whose shift (through `path`) ends at `since` or later, found from the shifts'
    start index: the shifts starting after `since` less the longest shift (MAX_SHIFT,
    scheduling/validators.py) and ending after `since` — the same shifts — are read first
    and joined to the rows by their shift, instead of reading every row of a volunteer's
    history and checking its shift's end. The cost follows the shifts of the window (every
    hotline's, future ones included), not the years of history (My shifts, the calendar
    feed; bench/history.py)."""
    recent = Shift.objects.filter(starts_at__gte=since - MAX_SHIFT, ends_at__gte=since)
    return Q(**{f"{path}__in": recent.values("pk")})


def roster_visibility_q(user, path: str = "") -> Q:
    """`rosters_visible_to` as a filter on rows that reach their Roster through `path`
    ("shift__roster__" for assignments, "roster__" for shifts)."""
    if is_coordinator(user):
        return managed_hotlines_q(user, f"{path}hotline__")
    return Q(**{f"{path}status": Roster.Status.PUBLISHED})


def rosters_visible_to(user) -> QuerySet[Roster]:
    """Volunteers see published rosters (no drafts); a coordinator sees every roster of the
    hotlines they manage, and no other (hotline/access.py; superusers: all)."""
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


def shifts_with_fill(shifts: QuerySet[Shift], view: str = LIVE) -> QuerySet[Shift]:
    """Annotate each shift with its seats per role (`filled_<role>`) and its crisis-trained
    counsellors (`filled_trained`), in the same query: as published (LIVE, what volunteers
    see) or with the staged changes (PLANNED, what coordinators edit)."""
    active = occupying_q(view, "assignments__")
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


def roster_coverage(roster: Roster, view: str = PLANNED) -> list[ShiftCoverage]:
    """Per shift and role: required, filled, and crisis-trained counsellors missing (with the
    staged changes, or as published: `view`).

    Two queries whatever the roster size.
    """
    shifts = (
        shifts_with_fill(Shift.objects.filter(roster=roster), view)
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


# --- the coverage board -------------------------------------------------------------------------


@dataclass
class Cell:
    coverage: ShiftCoverage
    people: list[Assignment] = field(default_factory=list)  # as planned (staged ones in)
    removed: list[Assignment] = field(default_factory=list)  # staged removals
    conflicts: dict[int, str] = field(default_factory=dict)  # assignment id → reason

    @property
    def changed(self) -> bool:
        """The cell has staged changes (pending publication)."""
        return (
            bool(self.removed)
            or self.shift.has_pending_edit
            or any(a.status == Assignment.Status.PENDING for a in self.people)
        )

    @property
    def shift(self) -> Shift:
        return self.coverage.shift

    @property
    def state(self) -> str:
        """`ok` (full), `gap` (a crisis-trained seat or every seat of a role empty), `warn`."""
        c = self.coverage
        if c.complete:
            return "ok"
        if c.crisis_trained_missing or any(r.required and not r.filled for r in c.roles.values()):
            return "gap"
        return "warn"

    @property
    def roles(self) -> list[tuple[str, RoleCoverage]]:
        return [(Role(r).label, rc) for r, rc in self.coverage.roles.items() if rc.required]


def board_week(roster: Roster, monday: dt.date) -> dict:
    """The grid of one local week: rows are days, columns the shifts' local time slots.

    Four queries whatever the roster size (shifts of the week; their assignments as planned;
    the volunteers' facts for conflicts, marked per cell).
    """
    tz = roster.hotline.tz
    start, end = local_week_bounds(dt.datetime.combine(monday, dt.time(12), tzinfo=tz), tz)
    shifts = list(
        shifts_with_fill(
            Shift.objects.filter(roster=roster, starts_at__gte=start, starts_at__lt=end), PLANNED
        ).order_by("starts_at", "id")
    )
    for s in shifts:
        s.roster = roster  # local_start and the template need the hotline, already loaded
    assignments = defaultdict(list)
    removed = defaultdict(list)
    for a in (
        Assignment.objects.filter(
            Q(status__in=[Assignment.Status.ACTIVE, Assignment.Status.PENDING]), shift__in=shifts
        )
        .select_related("volunteer")
        .order_by("role", "volunteer__display_name", "id")
    ):
        (removed if a.pending_cancel else assignments)[a.shift_id].append(a)
    by_id = {s.pk: s for s in shifts}
    planned = [a for group in assignments.values() for a in group]
    for a in planned:
        a.shift = by_id[a.shift_id]
    clashes = {c.assignment.pk: c.reason for c in assignments_conflicts(planned, PLANNED)}

    cells: dict[tuple[dt.date, tuple[dt.time, dt.time]], list[Cell]] = defaultdict(list)
    slots: set[tuple[dt.time, dt.time]] = set()
    for s in shifts:
        local_start, local_end = s.starts_at.astimezone(tz), s.ends_at.astimezone(tz)
        slot = (local_start.time(), local_end.time())
        slots.add(slot)
        coverage = shift_coverage(s)  # counted as `roster_coverage` counts them
        people = assignments[s.pk]
        cells[(local_start.date(), slot)].append(
            Cell(
                coverage=coverage,
                people=people,
                removed=removed[s.pk],
                conflicts={a.pk: clashes[a.pk] for a in people if a.pk in clashes},
            )
        )
    columns = sorted(slots)
    rows = []
    for offset in range(7):
        day = monday + dt.timedelta(days=offset)
        rows.append(
            {
                "day": day,
                "in_roster": roster.first_day <= day <= roster.last_day,
                "cells": [cells.get((day, slot), []) for slot in columns],
            }
        )
    all_cells = [c for group in cells.values() for c in group]
    return {
        "columns": columns,
        "rows": rows,
        "seats_required": sum(r.required for c in all_cells for r in c.coverage.roles.values()),
        "seats_missing": sum(c.coverage.missing for c in all_cells),
        "crisis_trained_missing": sum(c.coverage.crisis_trained_missing for c in all_cells),
        "shifts": {s.pk: s for s in shifts},
        "conflicts": len(clashes),
    }


def shift_candidates(
    shift: Shift, on_shift: list[Assignment], *, among: QuerySet[Volunteer] | None = None
) -> list[dict]:
    """For each role with an open seat: who could take it, and why not for the others.

    `on_shift` is the shift's assignments (`shift_people`: staged removals do not count as
    filled); `among` the volunteers to consider (the board passes those the coordinator
    manages; default every one). Eligibility is checked against the planned roster; it comes
    from the rule layer
    (`check_assignment`) one volunteer at a time, with every volunteer's facts loaded at once:
    three queries, then one per volunteer holding a role with an open seat.
    """
    volunteers = list(
        (among if among is not None else Volunteer.objects.all())
        .filter(is_active=True)
        .exclude(pk__in={a.volunteer_id for a in on_shift})
        .order_by("display_name", "id")
    )
    planned = shift.planned()
    facts = volunteers_facts(volunteers, starts_at=planned.starts_at, ends_at=planned.ends_at)
    groups = []
    for role in ROLE_FLAG:
        required = shift.required(role)
        if not required:
            continue
        filled = sum(1 for a in on_shift if a.role == role and not a.pending_cancel)
        if filled >= required:
            continue
        eligible, overridable, refused = [], [], []
        for v in volunteers:
            if not v.holds(role):
                continue
            violations = check_assignment(shift=shift, volunteer=v, role=role, facts=facts[v.pk])
            if not violations:
                eligible.append({"volunteer": v})
            elif all(x.overridable for x in violations):
                overridable.append({"volunteer": v, "reason": violations[0].message})
            else:
                refused.append({"volunteer": v, "reason": violations[0].message})
        groups.append(
            {
                "role": str(role),
                "label": Role(role).label,
                "open": required - filled,
                "eligible": eligible,
                "overridable": overridable,
                "refused": refused,
                "not_eligible": len(overridable) + len(refused),
            }
        )
    return groups


def shift_people(shift: Shift) -> list[Assignment]:
    """The assignments on `shift` as planned (staged additions in, marked by their status
    "pending"), then its staged removals (`pending_cancel`), by role and name, volunteers
    loaded. One query."""
    rows = list(
        Assignment.objects.filter(
            status__in=[Assignment.Status.ACTIVE, Assignment.Status.PENDING], shift=shift
        )
        .select_related("volunteer")
        .order_by("role", "volunteer__display_name")
    )
    return [a for a in rows if not a.pending_cancel] + [a for a in rows if a.pending_cancel]


# --- staged changes of a published roster ------------------------------------------------------


@dataclass
class VolunteerChanges:
    volunteer: Volunteer
    added: list[Assignment] = field(default_factory=list)
    removed: list[Assignment] = field(default_factory=list)
    moved: list[tuple[Assignment, Assignment]] = field(default_factory=list)  # (from, to)


@dataclass
class ShiftEdit:
    """A staged edit of a published shift: `shift` as published, `planned` as it will be,
    and the assignments on it that would break a rule at the new times or seats (`problems`:
    (assignment, [Violation]) pairs, from the rule layer; codes a coordinator set aside when
    making the assignment left out)."""

    shift: Shift
    planned: Shift
    problems: list[tuple[Assignment, list[Violation]]] = field(default_factory=list)

    @property
    def times_changed(self) -> bool:
        return (self.shift.starts_at, self.shift.ends_at) != (
            self.planned.starts_at,
            self.planned.ends_at,
        )

    @property
    def seats(self) -> list[dict]:
        """Each requirement that changes: {"field", "label", "before", "after"}."""
        rows = []
        for name in PENDING_REQUIREMENT_FIELDS:
            before, after = getattr(self.shift, name), getattr(self.planned, name)
            if before != after:
                label = Shift._meta.get_field(name).verbose_name
                rows.append({"field": name, "label": label, "before": before, "after": after})
        return rows

    @property
    def blocking(self) -> list[Violation]:
        """The problems nobody may override: publishing refuses while any is left."""
        return [v for _a, found in self.problems for v in found if not v.overridable]


def shift_edit_problems(
    shift: Shift, *, ignore_overridden: bool = True
) -> list[tuple[Assignment, list[Violation]]]:
    """The assignments on `shift` as planned that its staged edit would make break a rule
    (`check_assignment` at the planned times and seats, against the planned roster). One
    query, then the rule layer's four per assignment."""
    planned = shift.planned()
    found = []
    for a in (
        Assignment.objects.filter(occupying_q(PLANNED), shift_id=shift.pk)
        .select_related("volunteer")
        .order_by("role", "volunteer__display_name", "id")
    ):
        violations = check_assignment(
            shift=planned, volunteer=a.volunteer, role=a.role, ignore=a, view=PLANNED
        )
        if ignore_overridden:
            skip = set(a.overridden_rules or ())
            violations = [v for v in violations if v.code not in skip]
        if violations:
            a.shift = shift
            found.append((a, violations))
    return found


def roster_shift_edits(roster: Roster) -> list[ShiftEdit]:
    """The roster's shifts with a staged edit, in time order, with the rule problems it
    would bring (`shift_edit_problems`)."""
    edited = (
        Shift.objects.filter(roster=roster)
        .filter(
            Q(pending_starts_at__isnull=False)
            | Q(pending_ends_at__isnull=False)
            | ~Q(pending_requirements={})
        )
        .order_by("starts_at", "id")
    )
    edits = []
    for shift in edited:
        shift.roster = roster
        edits.append(
            ShiftEdit(shift=shift, planned=shift.planned(), problems=shift_edit_problems(shift))
        )
    return edits


def roster_pending_changes(roster: Roster) -> dict:
    """The staged changes of a roster, per volunteer: added, removed and moved (a removal and
    an addition of one volunteer, paired in time order; a role change on one shift is a
    move too). One query for the seats.

    Returns {"volunteers": [VolunteerChanges], "added": n, "removed": n, "moved": n,
    "shifts": [ShiftEdit], "shift_problems": n, "total": n} — the counts are of the lines
    shown (a move counts once, a shift edit once). A query per shift edit, plus the rule
    layer's for each assignment on an edited shift.
    """
    rows = (
        Assignment.objects.filter(shift__roster=roster)
        .filter(Q(status=Assignment.Status.PENDING) | Q(pending_cancel=True))
        .select_related("shift__roster__hotline", "volunteer")
        .order_by("volunteer__display_name", "volunteer_id", "shift__starts_at", "id")
    )
    people: dict[int, VolunteerChanges] = {}
    for a in rows:
        entry = people.setdefault(a.volunteer_id, VolunteerChanges(volunteer=a.volunteer))
        (entry.removed if a.pending_cancel else entry.added).append(a)
    for entry in people.values():
        pairs = min(len(entry.added), len(entry.removed))
        entry.moved = list(zip(entry.removed[:pairs], entry.added[:pairs], strict=True))
        entry.added, entry.removed = entry.added[pairs:], entry.removed[pairs:]
    listed = list(people.values())
    added = sum(len(e.added) for e in listed)
    removed = sum(len(e.removed) for e in listed)
    moved = sum(len(e.moved) for e in listed)
    shifts = roster_shift_edits(roster)
    return {
        "volunteers": listed,
        "added": added,
        "removed": removed,
        "moved": moved,
        "shifts": shifts,
        "shift_problems": sum(len(e.problems) for e in shifts),
        "total": added + removed + moved + len(shifts),
    }


# --- conflicts: assignments their volunteer can no longer keep ---------------------------------


@dataclass
class Conflict:
    assignment: Assignment
    violations: list  # rules.Violation, codes from rules.CONFLICT_CODES

    @property
    def codes(self) -> list[str]:
        return [v.code for v in self.violations]

    @property
    def reason(self) -> str:
        return " ".join(v.message for v in self.violations)


def assignments_conflicts(assignments: list[Assignment], view: str = LIVE) -> list[Conflict]:
    """The assignments (shift, roster, hotline and volunteer loaded) that clash with their
    volunteer's time off, weekly windows or deactivation, by the rule layer's codes; in the
    PLANNED `view` a shift with a staged edit is judged at its new times. Two queries however
    many (none for none)."""
    if not assignments:
        return []
    volunteers = {a.volunteer_id: a.volunteer for a in assignments}
    shifts = {a.pk: as_viewed(a.shift, view) for a in assignments}
    facts = volunteers_facts(
        volunteers.values(),
        starts_at=min(s.starts_at for s in shifts.values()),
        ends_at=max(s.ends_at for s in shifts.values()),
        with_assignments=False,
    )
    found = []
    for a in assignments:
        violations = standing_violations(
            shift=shifts[a.pk],
            volunteer=a.volunteer,
            facts=facts[a.volunteer_id],
            overridden=a.overridden_rules or (),
        )
        if violations:
            found.append(Conflict(assignment=a, violations=violations))
    return found


def roster_conflicts(roster: Roster, *, now: dt.datetime) -> list[Conflict]:
    """Conflicts on the roster as planned (staged changes in), shifts not yet over. Three
    queries."""
    rows = list(
        Assignment.objects.filter(
            occupying_q(PLANNED), shift__roster=roster, shift__ends_at__gt=now
        )
        .select_related("shift__roster__hotline", "volunteer")
        .order_by("shift__starts_at", "id")
    )
    return assignments_conflicts(rows, PLANNED)


def volunteer_conflicts(volunteer: Volunteer, *, now: dt.datetime) -> list[Conflict]:
    """The volunteer's own upcoming assignments (as they see them: published, not started)
    that clash with their time off, windows or deactivation. Three queries."""
    rows = list(
        Assignment.objects.filter(
            volunteer=volunteer,
            status=Assignment.Status.ACTIVE,
            shift__roster__status=Roster.Status.PUBLISHED,
            shift__starts_at__gt=now,
        )
        .select_related("shift__roster__hotline", "volunteer")
        .order_by("shift__starts_at", "id")
    )
    return assignments_conflicts(rows)
