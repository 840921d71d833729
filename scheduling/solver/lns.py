"""Large-neighbourhood search: CP-SAT on small sub-models, for rosters too big to re-solve whole.

On a few hundred volunteers over two months (~45 000 candidate variables) CP-SAT with two
workers barely moves a max − min objective: its LP is slow at that size and its own
neighbourhoods are generic. Here each step frees the assignments of a few dozen chosen
volunteers, keeps everyone else's, and lets CP-SAT re-solve just that part. The sub-model
mirrors every hard rule and every earlier stage's fixed value, so whatever it returns is
a valid roster no worse on earlier stages.

Fairness steps minimise the stage's spreads and, second, how far the freed volunteers'
loads lie outside the counting floor's window: without that second term, moving one
volunteer off the maximum while others stay there looks like no progress at all.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from scheduling.solver import fairness
from scheduling.solver.facts import Facts, clique_cover
from scheduling.solver.instance import COUNSELLOR

FAIRNESS_STAGES: dict[str, tuple[str, ...]] = {
    "fairness_hours": ("hours",),
    "fairness_nights_weekends": ("night", "weekend"),
}
STEP_SECONDS = 2.0


@dataclass
class Fixed:
    """Values of finished stages that every later step must keep."""

    spreads: dict[tuple[str, ...], int] = field(default_factory=dict)  # measures -> sum ≤
    preferences: int | None = None  # preferred − undesired ≥
    changes: int | None = None  # changes against the previous version ≤


def preference_weight(facts: Facts, c: int) -> int:
    v, s, _r = facts.candidates[c]
    vol, shift_id = facts.volunteers[v], facts.shifts[s].id
    return (shift_id in vol.preferred) - (shift_id in vol.undesired)


class Search:
    """The current roster (as candidate indices) and the steps that improve it."""

    def __init__(self, facts: Facts, chosen: list[int], *, seed: int, num_workers: int):
        f = facts
        self.facts = f
        self.chosen = set(chosen)
        self.rng = random.Random(seed)  # noqa: S311 (search diversity, not secrets)
        self.seed = seed
        self.num_workers = num_workers
        # Repair mode: fairness steps prefer, among equally fair sub-rosters, the one
        # closest to the previous version (so balancing moves as few people as it can).
        self.keep_previous = False
        self.pools = fairness.pools(f)
        self.weights = {m: fairness.weight_of(f, m) for m in fairness.MEASURES}
        self.roles = {m: fairness.measured_roles(f, m) for m in fairness.MEASURES}
        self.cliques = clique_cover(f)
        # Per volunteer: shift -> their candidates on it.
        self.mine: list[dict[int, list[int]]] = [defaultdict(list) for _ in f.volunteers]
        for c, (v, s, _r) in enumerate(f.candidates):
            self.mine[v][s].append(c)
        # Per (measure, role): each pool member's load from the fixed assignments alone.
        self.lows: dict[tuple[str, str], dict[int, int]] = {}
        fixed = f.assigned(())
        for m in fairness.MEASURES:
            fixed_loads = fairness.loads(f, fixed, m)
            for r in self.roles[m]:
                self.lows[(m, r)] = fixed_loads[r]

    # --- bookkeeping ------------------------------------------------------------------------

    def loads(self, measure: str, role: str) -> dict[int, int]:
        f, weight = self.facts, self.weights[measure]
        loads = dict(self.lows[(measure, role)])
        for c in self.chosen:
            v, s, r = f.candidates[c]
            if r == role and v in loads:
                loads[v] += weight(s)
        return loads

    def spread_sum(self, measures: tuple[str, ...]) -> int:
        total = 0
        for m in measures:
            for r in self.roles[m]:
                loads = self.loads(m, r).values()
                total += max(loads) - min(loads)
        return total

    def value(self, stage: str) -> int:
        f = self.facts
        if stage in FAIRNESS_STAGES:
            return self.spread_sum(FAIRNESS_STAGES[stage])
        if stage == "preferences":
            return sum(preference_weight(f, c) for c in self.chosen)
        if stage == "changes":
            return f.changes(self.chosen)
        return sum(1 for c in self.chosen if c in f.previous_candidates)

    # --- neighbourhoods ---------------------------------------------------------------------

    def fairness_neighbourhood(
        self, measures: tuple[str, ...], windows: dict, size: int
    ) -> set[int]:
        """Volunteers off their window (or at the extremes), and who could trade with them."""
        f, rng = self.facts, self.rng
        holders: dict[tuple[int, str], list[int]] = defaultdict(list)
        for c in self.chosen:
            v, s, r = f.candidates[c]
            holders[(s, r)].append(v)
        troubled = []
        for m in measures:
            for r in self.roles[m]:
                loads = self.loads(m, r)
                lo, hi = windows[(m, r)]
                # Everyone inside the window means this role is at its floor already.
                for v, load in loads.items():
                    if load > hi:
                        troubled.append((v, m, r, loads, True))
                    elif load < lo:
                        troubled.append((v, m, r, loads, False))
        rng.shuffle(troubled)
        per_trouble = max(3, size // (2 * len(troubled))) if troubled else 0
        picked: set[int] = set()
        for v, m, r, loads, over in troubled:
            if len(picked) >= size:
                break
            picked.add(v)
            weight = self.weights[m]
            lo, hi = windows[(m, r)]
            partners = []
            for s, cs in self.mine[v].items():
                if not weight(s):
                    continue
                if over and any(c in self.chosen for c in cs):
                    # Who else could take this seat, having room?
                    for c in f.by_seat.get((s, r), ()):
                        w = f.candidates[c][0]
                        if w != v and loads.get(w, hi) < hi:
                            partners.append(w)
                elif not over:
                    # Who holds a seat this volunteer could take, having load to spare?
                    partners += [w for w in holders.get((s, r), ()) if loads.get(w, lo) > lo]
            partners = list(dict.fromkeys(partners))
            rng.shuffle(partners)
            picked.update(partners[:per_trouble])
        everyone = sorted({v for m in measures for r in self.roles[m] for v in self.pools[r]})
        while len(picked) < min(size, len(everyone)):
            picked.add(rng.choice(everyone))
        return picked

    def wish_neighbourhood(self, size: int, gain: Callable[[int], int]) -> set[int]:
        """Volunteers with an unmet wish (by `gain`), and the holders of the seats they want."""
        f, rng = self.facts, self.rng
        wanting = []
        for v, shifts in enumerate(self.mine):
            for s, cs in shifts.items():
                for c in cs:
                    g = gain(c)
                    if (g > 0 and c not in self.chosen) or (g < 0 and c in self.chosen):
                        wanting.append((v, s))
        rng.shuffle(wanting)
        holders: dict[int, list[int]] = defaultdict(list)
        for c in self.chosen:
            v, s, _r = f.candidates[c]
            holders[s].append(v)
        picked: set[int] = set()
        for v, s in wanting:
            if len(picked) >= size:
                break
            picked.add(v)
            picked.update(holders.get(s, [])[:2])
        while len(picked) < min(size, len(f.volunteers)):
            picked.add(rng.randrange(len(f.volunteers)))
        return picked

    # --- one step ---------------------------------------------------------------------------

    def step(
        self, stage: str, fixed: Fixed, picked: set[int], *, windows: dict, time_limit: float
    ) -> bool:
        """Re-solve the assignments of `picked` exactly; True when the roster improved."""
        f = self.facts
        model = cp_model.CpModel()
        held = [c for v in picked for cs in self.mine[v].values() for c in cs if c in self.chosen]
        kept = self.chosen.difference(held)
        seat_used: dict[tuple[int, str], int] = defaultdict(int)
        untrained_used: dict[int, int] = defaultdict(int)
        for c in kept:
            v, s, r = f.candidates[c]
            seat_used[(s, r)] += 1
            if r == COUNSELLOR and not f.volunteers[v].crisis_trained:
                untrained_used[s] += 1

        x: dict[int, object] = {}
        of_volunteer: dict[int, dict[int, list[int]]] = {v: defaultdict(list) for v in picked}
        by_seat: dict[tuple[int, str], list[int]] = defaultdict(list)
        untrained_on: dict[int, list[int]] = defaultdict(list)
        for v in picked:
            for s, cs in self.mine[v].items():
                for c in cs:
                    r = f.candidates[c][2]
                    if seat_used[(s, r)] >= f.open_seats(s, r):
                        continue
                    x[c] = model.new_bool_var(f"x{c}")
                    of_volunteer[v][s].append(c)
                    by_seat[(s, r)].append(c)
                    if r == COUNSELLOR and not f.volunteers[v].crisis_trained:
                        untrained_on[s].append(c)

        for (s, r), cs in by_seat.items():
            room = f.open_seats(s, r) - seat_used[(s, r)]
            if len(cs) > room:
                model.add(sum(x[c] for c in cs) <= room)
        for s, cs in untrained_on.items():
            room = max(0, f.untrained_room(s) - untrained_used[s])
            if len(cs) > room:
                model.add(sum(x[c] for c in cs) <= room)
        for v, mine in of_volunteer.items():
            for cs in mine.values():
                if len(cs) > 1:
                    model.add_at_most_one(x[c] for c in cs)
            for clique in self.cliques:
                lits = [x[c] for s in clique for c in mine.get(s, ())]
                if len(lits) > 1:
                    model.add_at_most_one(lits)
            weekly: dict = defaultdict(list)
            for s, cs in mine.items():
                weekly[f.week[s]] += cs
            for week, cs in weekly.items():
                cap = f.week_cap(v, week)
                if len(cs) > cap:
                    model.add(sum(x[c] for c in cs) <= cap)
        # Coverage never drops.
        model.add(sum(x.values()) >= len(held))

        now = FAIRNESS_STAGES.get(stage)
        groups = list(fixed.spreads) + ([now] if now and now not in fixed.spreads else [])
        spread_terms: dict[tuple[str, ...], list] = {}
        excess_terms, excess_bound = [], 0
        for measures in groups:
            terms = []
            for m in measures:
                weight = self.weights[m]
                for r in self.roles[m]:
                    loads = self.loads(m, r)
                    others = [load for v, load in loads.items() if v not in picked]
                    most = max(loads.values()) + 100
                    top = model.new_int_var(max(others, default=0), most, "")
                    bottom = model.new_int_var(0, min(others, default=most), "")
                    lo, hi = windows.get((m, r), (0, most))
                    for v in picked:
                        if v not in loads:
                            continue
                        cs = [c for cs in of_volunteer[v].values() for c in cs]
                        cs = [
                            c for c in cs if f.candidates[c][2] == r and weight(f.candidates[c][1])
                        ]
                        low = self.lows[(m, r)][v]
                        expr = sum(weight(f.candidates[c][1]) * x[c] for c in cs) + low
                        model.add(expr <= top)
                        model.add(expr >= bottom)
                        if measures == now:
                            bound = max(
                                lo, low + sum(weight(f.candidates[c][1]) for c in cs) - hi, 0
                            )
                            over = model.new_int_var(0, bound, "")
                            model.add(over >= expr - hi)
                            model.add(over >= lo - expr)
                            excess_terms.append(over)
                            excess_bound += bound
                    terms.append(top - bottom)
            spread_terms[measures] = terms
            if measures in fixed.spreads:
                model.add(sum(terms) <= fixed.spreads[measures])

        preference = sum(preference_weight(f, c) * x[c] for c in x)
        if fixed.preferences is not None:
            model.add(preference >= sum(preference_weight(f, c) for c in held))
        # Previous assignments kept minus new ones: the more, the fewer changes (the rest of
        # the roster is unchanged by this step).
        previous = f.previous_candidates
        stay = sum((1 if c in previous else -1) * x[c] for c in x)
        stay_now = sum(1 if c in previous else -1 for c in held)
        if fixed.changes is not None and stage != "changes":
            model.add(stay >= stay_now)

        # The objective, and its value on the current roster: the one to beat.
        if now:
            scale = 1 + excess_bound
            fair = scale * sum(spread_terms[now]) + sum(excess_terms)
            current = scale * self.spread_sum(now) + self._excess(now, picked, windows)
            if self.keep_previous:
                weight = 2 * len(x) + 1
                model.minimize(weight * fair - stay)
                current = weight * current - stay_now
            else:
                model.minimize(fair)
            sign = -1
        elif stage == "preferences":
            model.maximize(preference)
            current = sum(preference_weight(f, c) for c in held)
            sign = 1
        elif stage == "changes":
            model.maximize(stay)
            current = stay_now
            sign = 1
        else:
            model.maximize(sum(x[c] for c in x if c in previous))
            current = sum(1 for c in held if c in previous)
            sign = 1

        for c, var in x.items():
            model.add_hint(var, c in self.chosen)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.05, time_limit)
        solver.parameters.num_workers = self.num_workers
        solver.parameters.random_seed = self.seed
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False
        if sign * (round(solver.objective_value) - current) <= 0:
            return False
        self.chosen = kept | {c for c, var in x.items() if solver.boolean_value(var)}
        return True

    def _excess(self, measures: tuple[str, ...], picked: set[int], windows: dict) -> int:
        total = 0
        for m in measures:
            for r in self.roles[m]:
                lo, hi = windows[(m, r)]
                for v, load in self.loads(m, r).items():
                    if v in picked:
                        total += max(0, load - hi, lo - load)
        return total


def improve(
    search: Search,
    stage: str,
    fixed: Fixed,
    *,
    deadline: float,
    target: int | None = None,
    windows: dict | None = None,
    on_value: Callable[[int], None] | None = None,
) -> int:
    """Take steps of `stage` until `deadline` or `target`; returns the stage's value."""
    f = search.facts
    measures = FAIRNESS_STAGES.get(stage)
    minimise = measures is not None or stage == "changes"
    windows = windows or {}
    size = min(30, len(f.volunteers))
    stale = 0
    current = search.value(stage)
    while True:
        if target is not None and (current <= target if minimise else current >= target):
            break
        limit = min(STEP_SECONDS, deadline - time.perf_counter())
        if limit <= 0.02:
            break
        if measures:
            picked = search.fairness_neighbourhood(measures, windows, size)
        elif stage == "preferences":
            picked = search.wish_neighbourhood(size, lambda c: preference_weight(f, c))
        elif stage == "changes":
            picked = search.wish_neighbourhood(
                size, lambda c: 1 if c in f.previous_candidates else -1
            )
        else:
            picked = search.wish_neighbourhood(size, lambda c: int(c in f.previous_candidates))
        if search.step(stage, fixed, picked, windows=windows, time_limit=limit):
            new = search.value(stage)
            if new != current and on_value is not None:
                on_value(new)
            current = new
            stale = 0
        else:
            stale += 1
            if stale % 8 == 0:
                # Stuck: look wider.
                size = min(len(f.volunteers), size + 15)
    return current
