"""Facts derived once from an instance and shared by every solver part.

Shifts and volunteers are referred to by their position in the instance. A *candidate* is a
(volunteer, shift, role) triple that no rule forbids before anything is assigned: the role
is held and required, the shift is available, no fixed assignment or outside busy time
clashes with it, and the weekly limit is not already used up by them.

Calendar definitions (all in the instance's time zone):

- week: Monday 00:00 to Sunday 24:00; a shift belongs to the week its local start falls in.
- night shift: its local span overlaps 00:00–05:00 of some day (so 20:00–08:00 and
  22:00–02:00 are nights, 23:00–00:00 is not: spans are half-open).
- weekend shift: its local start is on a Saturday or a Sunday.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, reduce

from scheduling.solver.instance import COUNSELLOR, ROLES, Busy, Instance, Shift

# Rule codes shared by the checker and the explanations (the rule layer's codes).
OVERLAP = "overlap"
REST = "rest"
WEEKLY_LIMIT = "weekly_limit"
UNAVAILABLE = "unavailable"
NIGHT_START = dt.time(0)
NIGHT_END = dt.time(5)


def gap_code(
    a_start: dt.datetime,
    a_end: dt.datetime,
    b_start: dt.datetime,
    b_end: dt.datetime,
    *,
    rest: dt.timedelta,
    back_to_back_ok: bool,
) -> str | None:
    """`"overlap"`, `"rest"` or None for two spans of one volunteer, as the rule layer does."""
    gap = max(b_start - a_end, a_start - b_end)
    if gap < dt.timedelta(0):
        return OVERLAP
    if gap < rest and not (gap == dt.timedelta(0) and back_to_back_ok):
        return REST
    return None


def clash_code(instance: Instance, a: Shift, b: Shift | Busy) -> str | None:
    """`gap_code` for two spans of one volunteer: shift `a` and another shift or busy time.

    As the rule layer does when it fills `a`: the rest is `a`'s hotline's, and back-to-back
    is allowed only within one hotline that allows it. Between two shifts of different
    hotlines the longer rest applies, so the pair is accepted whichever is saved first.
    """
    if isinstance(b, Busy):
        same = b.same_hotline if b.hotline is None else b.hotline == a.hotline
        rest = instance.rest_of(a.hotline)
    else:
        same = a.hotline == b.hotline
        rest = instance.rest_of(a.hotline)
        if not same:
            rest = max(rest, instance.rest_of(b.hotline))
    return gap_code(
        a.starts_at,
        a.ends_at,
        b.starts_at,
        b.ends_at,
        rest=rest,
        back_to_back_ok=same and instance.back_to_back_of(a.hotline),
    )


def local_week(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The local Monday of the week `moment` falls in."""
    local = moment.astimezone(tz)
    return local.date() - dt.timedelta(days=local.weekday())


def is_night(starts_at: dt.datetime, ends_at: dt.datetime, tz: dt.tzinfo) -> bool:
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    day = start.date()
    while day <= end.date():
        window_start = dt.datetime.combine(day, NIGHT_START, tzinfo=tz)
        window_end = dt.datetime.combine(day, NIGHT_END, tzinfo=tz)
        if start < window_end and window_start < end:
            return True
        day += dt.timedelta(days=1)
    return False


def is_weekend(starts_at: dt.datetime, tz: dt.tzinfo) -> bool:
    return starts_at.astimezone(tz).weekday() >= 5


@dataclass
class Facts:
    instance: Instance
    order: list[int]  # shift positions by start time
    minutes: list[int]
    unit_minutes: int  # gcd of the shift lengths: load is counted in these units
    units: list[int]
    week: list[dt.date]
    night: list[bool]
    weekend: list[bool]
    # Per shift, the other shifts one volunteer cannot also take (overlap or rest).
    neighbours: list[dict[int, str]]
    # Fixed assignments as positions: (shift, volunteer, role).
    fixed: list[tuple[int, int, str]]
    fixed_count: dict[tuple[int, str], int]
    fixed_untrained: list[int]  # untrained counsellors fixed per shift
    fixed_trained: list[int]  # crisis-trained counsellors fixed per shift
    previous: set[tuple[int, int, str]]  # (volunteer, shift, role)
    # (volunteer, week) -> shifts already taken that week by fixed assignments and busy time.
    taken_in_week: dict[tuple[int, dt.date], int]
    # (volunteer, shift) -> why fixed or busy time rules the shift out, if it does.
    clash: dict[tuple[int, int], str]
    # Candidates: (volunteer, shift, role), and their lookups.
    candidates: list[tuple[int, int, str]] = field(default_factory=list)
    by_seat: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    by_volunteer: list[list[int]] = field(default_factory=list)
    # Derived values that take a pass over every candidate (fairness floors, pools), kept
    # once computed: on a province's million candidates each pass takes seconds.
    cache: dict = field(default_factory=dict)

    @property
    def shifts(self):
        return self.instance.shifts

    @property
    def volunteers(self):
        return self.instance.volunteers

    @property
    def tz(self):
        return self.instance.tz

    def open_seats(self, s: int, role: str) -> int:
        """Seats of `role` on shift `s` left after the fixed assignments."""
        return max(0, self.shifts[s].required(role) - self.fixed_count.get((s, role), 0))

    def untrained_room(self, s: int) -> int:
        """How many more untrained counsellors shift `s` may take (crisis minimum kept)."""
        shift = self.shifts[s]
        room = shift.required(COUNSELLOR) - shift.crisis_trained_required
        return max(0, room - self.fixed_untrained[s])

    def week_cap(self, v: int, week: dt.date) -> int:
        cap = self.volunteers[v].max_shifts_per_week - self.taken_in_week.get((v, week), 0)
        return max(0, cap)

    def is_available(self, v: int, s: int) -> bool:
        available = self.volunteers[v].available
        return available is None or self.shifts[s].id in available

    def total_seats(self) -> int:
        return sum(sum(shift.requirements.values()) for shift in self.shifts)

    @cached_property
    def previous_candidates(self) -> frozenset[int]:
        """Candidates that are assignments of the previous version."""
        previous = self.previous
        if not previous:
            return frozenset()
        return frozenset(c for c, triple in enumerate(self.candidates) if triple in previous)

    @cached_property
    def changes_base(self) -> int:
        """Changes before any candidate is chosen: previous assignments that are not fixed
        (each one a change unless chosen again) and fixed ones that were not previous."""
        fixed = {(v, s, r) for s, v, r in self.fixed}
        return len(self.previous - fixed) + len(fixed - self.previous)

    def changes(self, chosen: Iterable[int]) -> int:
        """Size of the symmetric difference between the roster and the previous version."""
        kept = added = 0
        previous = self.previous_candidates
        for c in chosen:
            if c in previous:
                kept += 1
            else:
                added += 1
        return self.changes_base - kept + added

    def assigned(self, chosen: Iterable[int]) -> list[tuple[int, int, str]]:
        """(volunteer, shift, role) of the whole roster: the fixed assignments, then the
        `chosen` candidates."""
        return [(v, s, r) for s, v, r in self.fixed] + [self.candidates[c] for c in chosen]


def _conflicts(instance: Instance, order: list[int]) -> list[dict[int, str]]:
    shifts = instance.shifts
    rest = instance.longest_rest
    neighbours: list[dict[int, str]] = [{} for _ in shifts]
    # Sweep in start order: once a later shift starts the longest rest after this one
    # ends, every shift after it does too.
    for i, a in enumerate(order):
        sa = shifts[a]
        for b in order[i + 1 :]:
            sb = shifts[b]
            if sb.starts_at >= sa.ends_at + rest:
                break
            code = clash_code(instance, sa, sb)
            if code:
                neighbours[a][b] = code
                neighbours[b][a] = code
    return neighbours


def prepare(instance: Instance) -> Facts:
    shifts, volunteers, tz = instance.shifts, instance.volunteers, instance.tz
    order = sorted(range(len(shifts)), key=lambda s: (shifts[s].starts_at, shifts[s].ends_at, s))
    minutes = [round((s.ends_at - s.starts_at).total_seconds() / 60) for s in shifts]
    unit = reduce(math.gcd, minutes, 0) or 1
    shift_index = {s.id: i for i, s in enumerate(shifts)}
    volunteer_index = {v.id: i for i, v in enumerate(volunteers)}

    fixed = [(shift_index[a.shift], volunteer_index[a.volunteer], a.role) for a in instance.fixed]
    fixed_on = {(v, s): r for s, v, r in fixed}
    fixed_count: dict[tuple[int, str], int] = defaultdict(int)
    fixed_untrained = [0] * len(shifts)
    fixed_trained = [0] * len(shifts)
    for s, v, r in fixed:
        fixed_count[(s, r)] += 1
        if r == COUNSELLOR:
            if volunteers[v].crisis_trained:
                fixed_trained[s] += 1
            else:
                fixed_untrained[s] += 1

    week = [local_week(s.starts_at, tz) for s in shifts]
    neighbours = _conflicts(instance, order)

    taken: dict[tuple[int, dt.date], int] = defaultdict(int)
    for s, v, _r in fixed:
        taken[(v, week[s])] += 1
    busy_by_volunteer: dict[int, list] = defaultdict(list)
    for b in instance.busy:
        v = volunteer_index[b.volunteer]
        busy_by_volunteer[v].append(b)
        taken[(v, local_week(b.starts_at, tz))] += 1

    # Clashes with fixed assignments and outside busy time; overlap outranks rest.
    clash: dict[tuple[int, int], str] = {}
    for s, v, _r in fixed:
        for other, code in neighbours[s].items():
            if clash.get((v, other)) != OVERLAP:
                clash[(v, other)] = code
    for v, entries in busy_by_volunteer.items():
        for s, shift in enumerate(shifts):
            for b in entries:
                code = clash_code(instance, shift, b)
                if code and clash.get((v, s)) != OVERLAP:
                    clash[(v, s)] = code

    facts = Facts(
        instance=instance,
        order=order,
        minutes=minutes,
        unit_minutes=unit,
        units=[m // unit for m in minutes],
        week=week,
        night=[is_night(s.starts_at, s.ends_at, tz) for s in shifts],
        weekend=[
            s.weekend if s.weekend is not None else is_weekend(s.starts_at, tz) for s in shifts
        ],
        neighbours=neighbours,
        fixed=fixed,
        fixed_count=dict(fixed_count),
        fixed_untrained=fixed_untrained,
        fixed_trained=fixed_trained,
        previous={
            (volunteer_index[a.volunteer], shift_index[a.shift], a.role) for a in instance.previous
        },
        taken_in_week=dict(taken),
        clash=clash,
    )

    by_seat: dict[tuple[int, str], list[int]] = defaultdict(list)
    by_volunteer: list[list[int]] = [[] for _ in volunteers]
    for v, vol in enumerate(volunteers):
        if not vol.active:
            continue  # gone: keeps fixed assignments only
        for s in order:
            if (v, s) in fixed_on or (v, s) in clash or not facts.is_available(v, s):
                continue
            if facts.week_cap(v, week[s]) == 0:
                continue
            for role in ROLES:
                if role in vol.roles and facts.open_seats(s, role) > 0:
                    if role == COUNSELLOR and not vol.crisis_trained:
                        if facts.untrained_room(s) == 0:
                            continue
                    index = len(facts.candidates)
                    facts.candidates.append((v, s, role))
                    by_seat[(s, role)].append(index)
                    by_volunteer[v].append(index)
    facts.by_seat = dict(by_seat)
    facts.by_volunteer = by_volunteer
    return facts


def clique_cover(facts: Facts) -> list[list[int]]:
    """Cliques of the shift clash graph that cover every clashing pair at least once.

    With no back-to-back exception the graph is an interval graph (shifts stretched by the
    rest time), and growing cliques in start order finds its maximal cliques.
    """
    position = {s: i for i, s in enumerate(facts.order)}
    neighbours = facts.neighbours
    covered: set[tuple[int, int]] = set()
    cliques = []
    for a in facts.order:
        for b in sorted(neighbours[a], key=position.__getitem__):
            pair = (min(a, b), max(a, b))
            if position[b] < position[a] or pair in covered:
                continue
            clique = [a, b]
            common = set(neighbours[a]) & set(neighbours[b])
            for c in sorted(common, key=position.__getitem__):
                if all(c in neighbours[m] for m in clique):
                    clique.append(c)
            for i, p in enumerate(clique):
                for q in clique[i + 1 :]:
                    covered.add((min(p, q), max(p, q)))
            cliques.append(clique)
    return cliques
