"""The greedy baseline, and the bookkeeping it shares with the final top-up pass.

Greedy fills seats shift by shift in time order, each seat going to the eligible volunteer
with the fewest hours so far (ties: preferred slot, not undesired, kept from the previous
version, fewer shifts, instance order). Crisis-trained seats are filled first on each
shift so an untrained counsellor never takes the last seat a trained one needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from scheduling.solver.facts import OVERLAP, Facts
from scheduling.solver.instance import COUNSELLOR, ROLES


class RosterState:
    """Who is on which shift, with the counters the rules need, for incremental fills."""

    def __init__(self, facts: Facts, chosen: Iterable[int] = ()):
        self.facts = facts
        self.shifts_of: list[set[int]] = [set() for _ in facts.volunteers]
        self.in_week: dict = defaultdict(int)
        self.filled: dict[tuple[int, str], int] = defaultdict(int)
        self.trained: list[int] = [0] * len(facts.shifts)
        self.untrained: list[int] = [0] * len(facts.shifts)
        self.minutes: list[int] = [0] * len(facts.volunteers)
        self.chosen: list[int] = []
        for s, v, r in facts.fixed:
            self._book(v, s, r, fixed=True)
        for c in chosen:
            self.add(c)

    def _book(self, v: int, s: int, r: str, *, fixed: bool = False) -> None:
        f = self.facts
        self.shifts_of[v].add(s)
        self.minutes[v] += f.minutes[s]
        if not fixed:
            # Fixed assignments are already in `facts.taken_in_week` / `open_seats`.
            self.in_week[(v, f.week[s])] += 1
            self.filled[(s, r)] += 1
            if r == COUNSELLOR:
                if f.volunteers[v].crisis_trained:
                    self.trained[s] += 1
                else:
                    self.untrained[s] += 1

    def add(self, c: int) -> None:
        v, s, r = self.facts.candidates[c]
        self._book(v, s, r)
        self.chosen.append(c)

    def clash(self, v: int, s: int) -> str | None:
        """Why `v` cannot also take shift `s` given what they already have, if so."""
        mine = self.shifts_of[v]
        if s in mine:
            return "same_shift"
        code = None
        for other, why in self.facts.neighbours[s].items():
            if other in mine:
                if why == OVERLAP:
                    return why
                code = why
        return code

    def week_full(self, v: int, s: int) -> bool:
        f = self.facts
        return self.in_week[(v, f.week[s])] >= f.week_cap(v, f.week[s])

    def seat_open(self, s: int, r: str) -> bool:
        return self.filled[(s, r)] < self.facts.open_seats(s, r)

    def untrained_ok(self, s: int) -> bool:
        return self.untrained[s] < self.facts.untrained_room(s)

    def crisis_missing(self, s: int) -> int:
        f = self.facts
        have = self.trained[s] + f.fixed_trained[s]
        return max(0, f.shifts[s].crisis_trained_required - have)

    def can_add(self, c: int) -> bool:
        v, s, r = self.facts.candidates[c]
        if not self.seat_open(s, r) or self.clash(v, s) or self.week_full(v, s):
            return False
        if r == COUNSELLOR and not self.facts.volunteers[v].crisis_trained:
            return self.untrained_ok(s)
        return True


def _rank(state: RosterState, c: int) -> tuple:
    f = state.facts
    v, s, r = f.candidates[c]
    vol = f.volunteers[v]
    shift_id = f.shifts[s].id
    return (
        state.minutes[v],
        shift_id not in vol.preferred,
        shift_id in vol.undesired,
        (v, s, r) not in f.previous,
        len(state.shifts_of[v]),
        v,
    )


def fill(state: RosterState, shifts: Iterable[int] | None = None) -> RosterState:
    """Fill every seat it can, in time order; `state` is changed and returned."""
    f = state.facts
    for s in f.order if shifts is None else shifts:
        for r in ROLES:
            pool = f.by_seat.get((s, r))
            if not pool:
                continue
            if r == COUNSELLOR:
                trained = [c for c in pool if f.volunteers[f.candidates[c][0]].crisis_trained]
                _fill_seats(state, trained, state.crisis_missing(s))
            _fill_seats(state, pool, None)
    return state


def _fill_seats(state: RosterState, pool: list[int], limit: int | None) -> None:
    added = 0
    while limit is None or added < limit:
        best = None
        best_rank = None
        for c in pool:
            if state.can_add(c):
                rank = _rank(state, c)
                if best_rank is None or rank < best_rank:
                    best, best_rank = c, rank
        if best is None:
            return
        state.add(best)
        added += 1


def repaired(facts: Facts) -> RosterState:
    """The previous version, repaired: every previous assignment that still fits (in time
    order, crisis-trained counsellors first on each shift), then greedy on what is empty.

    The warm start of repair mode: when little changed it is already the roster with the
    fewest changes, or close to it.
    """
    state = RosterState(facts)
    previous = facts.previous_candidates
    if previous:
        position = {s: i for i, s in enumerate(facts.order)}
        role_order = {r: i for i, r in enumerate(ROLES)}

        def key(c: int) -> tuple:
            v, s, r = facts.candidates[c]
            return (position[s], role_order[r], not facts.volunteers[v].crisis_trained, v)

        for c in sorted(previous, key=key):
            if state.can_add(c):
                state.add(c)
    return fill(state)
