"""An independent check of a finished roster against the hard rules.

It does not look at the CP-SAT model at all, so tests can hold any result (greedy,
CP-SAT, hand-made) to the same rules. Codes are the rule layer's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from scheduling.solver.facts import UNAVAILABLE, WEEKLY_LIMIT, clash_code, local_week
from scheduling.solver.instance import COUNSELLOR, ROLES, AssignmentRef, Id, Instance, as_instance

ROLE = "role"
CRISIS_TRAINING = "crisis_training"
CAPACITY = "capacity"


class Violation(NamedTuple):
    code: str
    shift: Id
    volunteer: Id


def _refs(assignments: Iterable[Any]) -> list[AssignmentRef]:
    refs = []
    for a in assignments:
        if isinstance(a, AssignmentRef):
            refs.append(a)
        elif isinstance(a, Mapping):
            refs.append(AssignmentRef(a["shift"], a["volunteer"], a["role"]))
        else:
            shift, volunteer, role = a
            refs.append(AssignmentRef(shift, volunteer, role))
    return refs


def check_solution(
    instance: Instance | Mapping,
    assignments: Iterable[Any],
    *,
    ignore_fixed: bool = False,
) -> list[Violation]:
    """Every hard-rule violation in `assignments` (dicts, `AssignmentRef`s or triples).

    `assignments` is the whole roster, fixed assignments included, as `solve` returns it.
    A violation between two assignments is reported once, on the one that could be moved:
    a non-fixed one if there is one, else the later. `ignore_fixed=True` leaves out the
    violations reported on fixed assignments (e.g. a coordinator's recorded override).
    Unknown shift or volunteer ids raise `ValueError`.
    """
    inst = as_instance(instance)
    shifts = {s.id: s for s in inst.shifts}
    volunteers = {v.id: v for v in inst.volunteers}
    fixed = {(a.shift, a.volunteer, a.role) for a in inst.fixed}
    tz = inst.tz
    refs = _refs(assignments)
    for a in refs:
        if a.shift not in shifts:
            raise ValueError(f"unknown shift id {a.shift!r}")
        if a.volunteer not in volunteers:
            raise ValueError(f"unknown volunteer id {a.volunteer!r}")

    def is_fixed(a: AssignmentRef) -> bool:
        return (a.shift, a.volunteer, a.role) in fixed

    found: list[tuple[str, AssignmentRef]] = []

    # Role and availability, one assignment at a time.
    for a in refs:
        vol = volunteers[a.volunteer]
        if a.role not in ROLES or a.role not in vol.roles:
            found.append((ROLE, a))
        if vol.available is not None and a.shift not in vol.available:
            found.append((UNAVAILABLE, a))

    # Capacity and the crisis-trained minimum, per shift. Fixed assignments hold their
    # seats first, so the excess is reported on the movable ones.
    by_shift: dict[Id, list[AssignmentRef]] = defaultdict(list)
    for a in refs:
        by_shift[a.shift].append(a)
    for shift_id, group in by_shift.items():
        shift = shifts[shift_id]
        group = sorted(group, key=lambda a: not is_fixed(a))
        per_role: dict[str, int] = defaultdict(int)
        for a in group:
            per_role[a.role] += 1
            if per_role[a.role] > shift.required(a.role):
                found.append((CAPACITY, a))
        room = shift.required(COUNSELLOR) - shift.crisis_trained_required
        untrained = [
            a for a in group if a.role == COUNSELLOR and not volunteers[a.volunteer].crisis_trained
        ]
        for a in untrained[max(0, room) :]:
            found.append((CRISIS_TRAINING, a))

    # Overlap and rest between a volunteer's assignments and their time elsewhere;
    # weekly limit over both.
    by_volunteer: dict[Id, list[AssignmentRef]] = defaultdict(list)
    for a in refs:
        by_volunteer[a.volunteer].append(a)
    busy_by_volunteer = defaultdict(list)
    for b in inst.busy:
        busy_by_volunteer[b.volunteer].append(b)
    for volunteer_id, group in by_volunteer.items():
        vol = volunteers[volunteer_id]
        group = sorted(group, key=lambda a: (shifts[a.shift].starts_at, is_fixed(a) is False))
        for i, a in enumerate(group):
            sa = shifts[a.shift]
            for b in group[:i]:
                sb = shifts[b.shift]
                code = clash_code(inst, sb, sa)
                if code:
                    blamed = b if is_fixed(a) and not is_fixed(b) else a
                    found.append((code, blamed))
            for busy in busy_by_volunteer.get(volunteer_id, ()):
                code = clash_code(inst, sa, busy)
                if code:
                    found.append((code, a))
        per_week: dict = defaultdict(list)
        for a in group:
            per_week[local_week(shifts[a.shift].starts_at, tz)].append(a)
        elsewhere: dict = defaultdict(int)
        for busy in busy_by_volunteer.get(volunteer_id, ()):
            elsewhere[local_week(busy.starts_at, tz)] += 1
        for week, in_week in per_week.items():
            excess = len(in_week) + elsewhere[week] - vol.max_shifts_per_week
            if excess > 0:
                # Blame the movable ones, latest first.
                ranked = sorted(in_week, key=lambda a: (not is_fixed(a), shifts[a.shift].starts_at))
                for a in ranked[-excess:]:
                    found.append((WEEKLY_LIMIT, a))

    violations = {
        Violation(code, a.shift, a.volunteer)
        for code, a in found
        if not (ignore_fixed and is_fixed(a))
    }
    order = {s.id: i for i, s in enumerate(inst.shifts)}
    return sorted(violations, key=lambda v: (order[v.shift], str(v.volunteer), v.code))
