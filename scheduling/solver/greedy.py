"""The greedy baseline, and the bookkeeping it shares with the final top-up pass.

Greedy fills seats shift by shift in time order, each seat going to the eligible volunteer
with the fewest hours so far (ties: preferred slot, not undesired, kept from the previous
version, fewer shifts, instance order). Crisis-trained seats are filled first on each
shift so an untrained counsellor never takes the last seat a trained one needs.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from scheduling.solver import fairness
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

    def remove(self, c: int) -> None:
        """Take a chosen candidate off again (the reverse of `add`)."""
        f = self.facts
        v, s, r = f.candidates[c]
        self.chosen.remove(c)
        self.shifts_of[v].discard(s)
        self.minutes[v] -= f.minutes[s]
        self.in_week[(v, f.week[s])] -= 1
        self.filled[(s, r)] -= 1
        if r == COUNSELLOR:
            if f.volunteers[v].crisis_trained:
                self.trained[s] -= 1
            else:
                self.untrained[s] -= 1

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
    """Fill one shift's seats of one role from `pool`, best-ranked eligible first.

    Adding a volunteer changes only their own rank (and takes them off this shift), so
    walking the pool once in rank order picks exactly what re-ranking before every seat
    would, in one sort instead of one scan per seat.
    """
    added = 0
    if limit is not None and limit <= 0:
        return
    for c in sorted(pool, key=lambda c: _rank(state, c)):
        if state.can_add(c):
            state.add(c)
            added += 1
            if limit is not None and added >= limit:
                return
        elif not state.seat_open(*state.facts.candidates[c][1:]):
            return


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


def rebalance(
    facts: Facts,
    chosen: list[int],
    *,
    bound: int,
    budget: float,
    on_value: Callable[[int], None] | None = None,
) -> list[int]:
    """Hand single seats from the most loaded to lighter volunteers, or to the least loaded
    from heavier ones (two changes each), until the hours spread is within `bound` (load
    units) or no hand-over helps; stops after `budget` seconds.

    A quick way into a spread bound that moves few people, where a search on the spread
    alone reshuffles many: repair mode's first step into its tolerance, and the first pass
    of the fairness stage on large rosters. Among hand-overs that help, those adding the
    fewest changes against the previous version go first (handing a seat back to its
    previous holder removes two). Each hand-over lowers the sum of squared loads, so it
    ends. `on_value(spread)` is called whenever the spread narrows.
    """
    balancer = _Balancer(facts, chosen)
    return balancer.run(bound=bound, deadline=time.perf_counter() + budget, on_value=on_value)


class _Balancer:
    def __init__(self, facts: Facts, chosen: list[int]):
        f = self.facts = facts
        self.state = RosterState(f, chosen)
        self.roles = fairness.measured_roles(f, "hours")
        self.load = fairness.loads(f, f.assigned(chosen), "hours")
        self.holders: dict[tuple[int, str], set[int]] = defaultdict(set)
        self.held: dict[tuple[int, str], set[int]] = defaultdict(set)  # (volunteer, role)
        for c in chosen:
            v, s, r = f.candidates[c]
            self.holders[(s, r)].add(c)
            self.held[(v, r)].add(c)
        self.previous = f.previous_candidates

    def delta(self, given: int, taker: int) -> tuple[int, int]:
        """What a hand-over costs: changes against the previous version it adds (−2 to 2),
        then preferred slots it loses (a wish granted or an unwanted slot taken away
        counts as a gain)."""
        changes = (1 if given in self.previous else -1) + (-1 if taker in self.previous else 1)
        return changes, self.wish(given) - self.wish(taker)

    def wish(self, c: int) -> int:
        f = self.facts
        v, s, _r = f.candidates[c]
        vol, shift_id = f.volunteers[v], f.shifts[s].id
        return (shift_id in vol.preferred) - (shift_id in vol.undesired)

    def hand(self, given: int, taker: int) -> bool:
        state = self.state
        state.remove(given)
        if not state.can_add(taker):
            state.add(given)
            return False
        state.add(taker)
        self._book(given, taker)
        return True

    def spread(self) -> int:
        return sum(max(self.load[r].values()) - min(self.load[r].values()) for r in self.roles)

    def run(self, *, bound: int, deadline: float, on_value=None) -> list[int]:
        last = self.spread()
        while time.perf_counter() < deadline and last > bound:
            moved = False
            by_spread = sorted(
                self.roles, key=lambda r: min(self.load[r].values()) - max(self.load[r].values())
            )
            for r in by_spread:
                load = self.load[r]
                high, low = max(load.values()), min(load.values())
                if high == low:
                    continue
                heavy = [v for v, value in load.items() if value == high]
                light = [v for v, value in load.items() if value == low]
                ends = [(self.raise_light, light), (self.lower_heavy, heavy)]
                if len(heavy) < len(light):
                    ends.reverse()
                for step, people in ends:
                    if step(r, people, high, low, deadline):
                        moved = True
                        break
                if moved:
                    break
            if not moved:
                break
            now = self.spread()
            if now < last and on_value is not None:
                on_value(now)
            last = now
        return list(self.state.chosen)

    def raise_light(self, r: str, light: list[int], high: int, low: int, deadline) -> bool:
        """One pass: each least loaded volunteer takes a seat from someone heavier."""
        f, load = self.facts, self.load[r]
        moved = False
        for v in light:
            if time.perf_counter() >= deadline:
                break
            if load[v] != low:
                continue
            moves = []
            for taker in f.by_volunteer[v]:
                _v, s, role = f.candidates[taker]
                if role != r:
                    continue
                for given in self.holders.get((s, r), ()):
                    if load[f.candidates[given][0]] > low + f.units[s]:
                        moves.append(
                            (self.delta(given, taker), -load[f.candidates[given][0]], given, taker)
                        )
            if any(self.hand(given, taker) for *_key, given, taker in sorted(moves)):
                moved = True
            elif self.exchange(v, r, heavy=False):
                moved = True
        return moved

    def lower_heavy(self, r: str, heavy: list[int], high: int, low: int, deadline) -> bool:
        """One pass: each most loaded volunteer hands a seat to someone lighter."""
        f, load = self.facts, self.load[r]
        moved = False
        for v in heavy:
            if time.perf_counter() >= deadline:
                break
            if load[v] != high:
                continue
            moves = []
            for given in self.held.get((v, r), ()):
                s = f.candidates[given][1]
                for taker in f.by_seat.get((s, r), ()):
                    w = f.candidates[taker][0]
                    if w != v and load.get(w, high) + f.units[s] < high:
                        moves.append((self.delta(given, taker), load[w], given, taker))
            if any(self.hand(given, taker) for *_key, given, taker in sorted(moves)):
                moved = True
            elif self.exchange(v, r, heavy=True):
                moved = True
        return moved

    def exchange(self, p: int, r: str, *, heavy: bool) -> bool:
        """Swap a seat of `p` (at an end of the spread) for one of someone else's with a
        different length, so that hours go from the heavier of the two to the lighter
        without the lighter becoming the heavier (four changes). For when no single seat
        can be handed over: e.g. three 12-hour nights against others' 6-hour days."""
        f, load, state = self.facts, self.load[r], self.state
        mine = {f.candidates[c][1]: c for c in f.by_volunteer[p] if f.candidates[c][2] == r}
        moves = []
        for g in self.held.get((p, r), ()):
            s = f.candidates[g][1]
            a = f.units[s]
            for t in f.by_seat.get((s, r), ()):
                q = f.candidates[t][0]
                if q == p or q not in load:
                    continue
                for g2 in self.held.get((q, r), ()):
                    s2 = f.candidates[g2][1]
                    t2 = mine.get(s2)
                    if t2 is None or s2 == s:
                        continue
                    d = a - f.units[s2]  # what p gives away
                    if (heavy and d > 0 and load[q] + d < load[p]) or (
                        not heavy and d < 0 and load[p] - d < load[q]
                    ):
                        (c1, w1), (c2, w2) = self.delta(g, t), self.delta(g2, t2)
                        moves.append(((c1 + c2, w1 + w2), g, g2, t, t2))
        for _cost, g, g2, t, t2 in sorted(moves):
            state.remove(g)
            state.remove(g2)
            if state.can_add(t):
                state.add(t)
                if state.can_add(t2):
                    state.add(t2)
                    self._book(g, t)
                    self._book(g2, t2)
                    return True
                state.remove(t)
            state.add(g)
            state.add(g2)
        return False

    def _book(self, given: int, taker: int) -> None:
        f = self.facts
        u, s, r = f.candidates[given]
        w = f.candidates[taker][0]
        self.holders[(s, r)].discard(given)
        self.holders[(s, r)].add(taker)
        self.held[(u, r)].discard(given)
        self.held[(w, r)].add(taker)
        self.load[r][u] -= f.units[s]
        self.load[r][w] += f.units[s]
