"""The CP-SAT roster builder: one model, solved in stages.

Stages, each one's best value fixed as a constraint before the next (a single weighted
objective is far slower and worse, see STACK-NOTES). Two orders (`mode`):

``fairest`` (the default without `previous`):

1. ``coverage`` – most seats filled (fewest unfilled);
2. ``fairness_hours`` – least sum over roles of the max − min of assigned hours;
3. ``fairness_nights_weekends`` – least sum of the night-shift and weekend-shift spreads;
4. ``preferences`` – most preferred minus undesired slots;
5. ``stability`` – most assignments kept from `previous` (only when it is given).

``repair`` (the default with `previous`): a small change to the roster should move few
people, so the changes come right after coverage, held only to a fairness tolerance:

1. ``coverage``, warm-started from the previous version (what still fits, then greedy);
2. ``spread_bound`` – the hours spread brought within `spread_tolerance` hours of its
   counting floor (usually already true of the warm start: then nothing to do);
3. ``changes`` – fewest changes against `previous` (the symmetric difference), with the
   hours spread held within that bound;
4. ``fairness_hours``, ``fairness_nights_weekends``, ``preferences`` – as above, on what
   is left.

The model has one boolean per candidate (volunteer, shift, role): rules that hold before
anything is assigned (role, availability, clashes with fixed or outside time) are applied
by not creating the variable at all. Overlap and rest become at-most-one constraints over
cliques of mutually clashing shifts, per volunteer.

Time: `time_limit` is the budget for the whole solve; each stage gets a share of what is
left, so a stage that finishes early (optimal, or at its counting floor) hands its time on.

`scheduling.solver.options` builds up to three alternatives on these stages within one
time limit (fewest changes, balanced, fairest) for a coordinator to choose from.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from scheduling.solver import fairness, lns, result
from scheduling.solver.facts import Facts, clique_cover, prepare
from scheduling.solver.greedy import RosterState, fill, rebalance, repaired
from scheduling.solver.instance import COUNSELLOR, Instance, as_instance

FAIREST = "fairest"
REPAIR = "repair"
MODES = (REPAIR, FAIREST)
# Hours the spread may stay above its counting floor when repair mode keeps changes few.
DEFAULT_SPREAD_TOLERANCE = 12.0

# Share of the remaining time each stage may use.
STAGE_SHARES = {
    "coverage": 0.3,
    "fairness_hours": 0.35,
    "fairness_nights_weekends": 0.15,
    "preferences": 0.12,
    "stability": 0.08,
}
REPAIR_SHARES = {
    "coverage": 0.2,
    "spread_bound": 0.15,
    "changes": 0.3,
    "fairness_hours": 0.15,
    "fairness_nights_weekends": 0.08,
    "preferences": 0.12,
}
FAIREST_STAGES = tuple(STAGE_SHARES)
REPAIR_STAGES = tuple(REPAIR_SHARES)
MINIMISE = {"fairness_hours", "fairness_nights_weekends", "spread_bound", "changes"}
Progress = Callable[[str, float], None]
# Above this many candidate variables, stages after coverage improve the roster through
# CP-SAT on sub-models (scheduling.solver.lns) instead of re-solving the whole model.
LARGE_MODEL = 15_000


def resolve_mode(mode: str | None, instance: Instance) -> str:
    if mode is None:
        return REPAIR if instance.previous else FAIREST
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")
    return mode


def tolerance_units(facts: Facts, hours: float) -> int:
    """`hours` of spread tolerance in the facts' load units (rounded down)."""
    if hours < 0 or not math.isfinite(hours):
        raise ValueError("spread tolerance must be a number of hours, 0 or more")
    return int(hours * 60 // facts.unit_minutes)


@dataclass
class _Spread:
    measure: str
    role: str
    top: Any  # IntVar: at least every pool member's load
    bottom: Any  # IntVar: at most every pool member's load
    floor: int


class _Callback(cp_model.CpSolverSolutionCallback):
    """Records improving solutions; stops the stage once its target is reached."""

    def __init__(
        self,
        *,
        started: float,
        target: int | None,
        minimise: bool,
        on_value=None,
        decode: Callable[[int], int] = int,
    ):
        super().__init__()
        self.started = started
        self.target = target
        self.minimise = minimise
        self.on_value = on_value
        self.decode = decode

    def on_solution_callback(self) -> None:
        value = self.decode(round(self.objective_value))
        seconds = time.perf_counter() - self.started
        if self.on_value is not None:
            self.on_value(seconds, value)
        if _reached(value, self.target, self.minimise):
            self.stop_search()


class RosterModel:
    def __init__(self, facts: Facts):
        self.facts = facts
        self.model = cp_model.CpModel()
        f = facts
        self.x = [self.model.new_bool_var(f"x{i}") for i in range(len(f.candidates))]
        self.spreads: dict[str, list[_Spread]] = {}
        self._spread_sums: dict[tuple[str, ...], tuple[Any, int]] = {}

        self._hard_rules()

    def _sum(self, indices, coefficients=None):
        lits = [self.x[i] for i in indices]
        if coefficients is None:
            return cp_model.LinearExpr.sum(lits)
        return cp_model.LinearExpr.weighted_sum(lits, coefficients)

    def _hard_rules(self) -> None:
        f, m = self.facts, self.model
        # Capacity per role and the crisis-trained minimum (untrained counsellors only up
        # to the seats that need no training).
        for (s, r), indices in f.by_seat.items():
            if len(indices) > f.open_seats(s, r):
                m.add(self._sum(indices) <= f.open_seats(s, r))
            if r == COUNSELLOR:
                untrained = [
                    c for c in indices if not f.volunteers[f.candidates[c][0]].crisis_trained
                ]
                if len(untrained) > f.untrained_room(s):
                    m.add(self._sum(untrained) <= f.untrained_room(s))

        mine: list[dict[int, list[int]]] = [defaultdict(list) for _ in f.volunteers]
        for c, (v, s, _r) in enumerate(f.candidates):
            mine[v][s].append(c)
        # One role per shift, then overlap and rest through the clique cover.
        for v_shifts in mine:
            for indices in v_shifts.values():
                if len(indices) > 1:
                    m.add_at_most_one(self.x[c] for c in indices)
        for clique in clique_cover(f):
            for v_shifts in mine:
                lits = [self.x[c] for s in clique for c in v_shifts.get(s, ())]
                if len(lits) > 1:
                    m.add_at_most_one(lits)
        # Weekly limit (fixed assignments and time elsewhere already taken off the cap).
        weekly: dict[tuple[int, Any], list[int]] = defaultdict(list)
        for c, (v, s, _r) in enumerate(f.candidates):
            weekly[(v, f.week[s])].append(c)
        for (v, week), indices in weekly.items():
            cap = f.week_cap(v, week)
            if len({f.candidates[c][1] for c in indices}) > cap:
                m.add(self._sum(indices) <= cap)

    # --- objectives ---------------------------------------------------------------------

    def coverage(self):
        return cp_model.LinearExpr.sum(self.x)

    def add_spreads(self, measures: tuple[str, ...], *, unfilled: int) -> tuple[Any, int]:
        """Spread variables for `measures`; returns (sum of spreads, its counting floor).

        Made once per group of measures: a later stage on the same measures gets the
        same expression.
        """
        if measures in self._spread_sums:
            return self._spread_sums[measures]
        f, m = self.facts, self.model
        floors = fairness.floors(f, unfilled=unfilled)
        pool_of = fairness.pools(f)
        fixed = f.assigned(())
        terms, floor_total = [], 0
        for measure in measures:
            weight = fairness.weight_of(f, measure)
            fixed_loads = fairness.loads(f, fixed, measure)
            for r in fairness.measured_roles(f, measure):
                floor, top_bound, bottom_bound = floors[measure][r]
                lows = fixed_loads[r]
                loads = {}
                for v in pool_of[r]:
                    indices = [
                        c
                        for c in f.by_volunteer[v]
                        if f.candidates[c][2] == r and weight(f.candidates[c][1])
                    ]
                    coefficients = [weight(f.candidates[c][1]) for c in indices]
                    loads[v] = (indices, coefficients, lows[v])
                most = max(lows[v] + sum(co) for v, (_i, co, _l) in loads.items())
                top = m.new_int_var(min(top_bound, most), most, f"{measure}_{r}_max")
                bottom = m.new_int_var(0, max(0, min(bottom_bound, most)), f"{measure}_{r}_min")
                for indices, coefficients, low in loads.values():
                    expr = self._sum(indices, coefficients) + low
                    m.add(expr <= top)
                    m.add(expr >= bottom)
                m.add(top - bottom >= floor)
                spread = _Spread(measure, r, top, bottom, floor)
                self.spreads.setdefault(measure, []).append(spread)
                terms.append(top - bottom)
                floor_total += floor
        made = (cp_model.LinearExpr.sum(terms) if terms else 0, floor_total)
        self._spread_sums[measures] = made
        return made

    def preferences(self):
        weights = [lns.preference_weight(self.facts, c) for c in range(len(self.x))]
        indices = [c for c, w in enumerate(weights) if w]
        return self._sum(indices, [weights[c] for c in indices]) if indices else 0

    def stability(self):
        kept = sorted(self.facts.previous_candidates)
        return self._sum(kept) if kept else 0

    def changes(self):
        """The symmetric difference with `previous`: its constant part, minus each
        previous assignment chosen again, plus each new one."""
        f = self.facts
        previous = f.previous_candidates
        coefficients = [-1 if c in previous else 1 for c in range(len(self.x))]
        return (
            cp_model.LinearExpr.weighted_sum(self.x, coefficients) + f.changes_base
            if self.x
            else f.changes_base
        )

    # --- solving --------------------------------------------------------------------------

    def hint(self, chosen: list[int]) -> None:
        """Warm start from a roster: its candidates, and every spread variable's value."""
        f, m = self.facts, self.model
        m.clear_hints()
        on = set(chosen)
        for c, x in enumerate(self.x):
            m.add_hint(x, c in on)
        triples = f.assigned(chosen)
        for measure, spreads in self.spreads.items():
            per_role = fairness.loads(f, triples, measure)
            for sp in spreads:
                values = per_role[sp.role].values()
                m.add_hint(sp.top, max(values))
                m.add_hint(sp.bottom, min(values))


def stage_value(facts: Facts, stage: str, chosen: list[int]) -> int:
    """A stage's objective evaluated on a roster, in Python."""
    f = facts
    if stage == "coverage":
        return len(chosen)
    if stage == "changes":
        return f.changes(chosen)
    if stage == "preferences":
        return sum(lns.preference_weight(f, c) for c in chosen)
    if stage == "stability":
        previous = f.previous_candidates
        return sum(1 for c in chosen if c in previous)
    measures = ("hours",) if stage in ("fairness_hours", "spread_bound") else ("night", "weekend")
    spreads = fairness.spreads(f, f.assigned(chosen))
    return sum(sum(spreads[m].values()) for m in measures)


def _chosen(solver: cp_model.CpSolver, x: list) -> list[int]:
    values = solver.boolean_values(x).to_numpy() if x else []
    return [i for i, on in enumerate(values) if on]


def _solver(limit: float, *, seed: int, num_workers: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, limit)
    solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = seed
    # Measured on the benchmark: CP-SAT's presolve takes ~1 s on a 5 000-variable roster
    # and then the search is slower, not faster; this model is already tight.
    solver.parameters.cp_model_presolve = False
    return solver


def _windows(facts: Facts, unfilled: int) -> dict[tuple[str, str], tuple[int, int]]:
    """The counting floor's window per (measure, role): where every load must lie for the
    spread to be at its floor."""
    floors = fairness.floors(facts, unfilled=unfilled)
    return {
        (m, r): (bottom, top)
        for m, per_role in floors.items()
        for r, (_f, top, bottom) in per_role.items()
    }


def _reached(value: int, target: int | None, minimise: bool) -> bool:
    return target is not None and (value <= target if minimise else value >= target)


def _global_stage(
    rm: RosterModel,
    name: str,
    objective: Any,
    *,
    minimise: bool,
    target: int | None,
    chosen: list[int],
    record: dict[str, Any],
    callback: _Callback,
    solver: cp_model.CpSolver,
    tiebreak: Any = 0,
) -> tuple[int, list[int]]:
    """One stage on the whole model, warm-started from `chosen`: (value, roster).

    A minimising stage may carry a `tiebreak` to maximise among its optima (the
    preferences): the stage's own value stays first, but whenever the search stops at
    the counting floor or the time limit, the roster in hand is not arbitrary in what
    the later stages care about.
    """
    decode: Callable[[int], int] = int
    if minimise and not isinstance(tiebreak, int):
        most = sum(abs(c) for c in tiebreak_coefficients(rm))
        weight = 2 * most + 1
        rm.model.minimize(weight * objective - tiebreak)

        def decode(raw: int) -> int:
            return (raw + most) // weight

        callback.decode = decode
    elif minimise:
        rm.model.minimize(objective)
    else:
        rm.model.maximize(objective)
    rm.hint(chosen)
    status = solver.solve(rm.model, callback)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # No solution in time: keep the previous stage's roster, and its value.
        record["status"] = solver.status_name(status).lower()
        return stage_value(rm.facts, name, chosen), chosen
    best = decode(round(solver.objective_value))
    record["bound"] = decode(round(solver.best_objective_bound))
    optimal = status == cp_model.OPTIMAL or _reached(best, target, minimise)
    record["status"] = "optimal" if optimal else "feasible"
    return best, _chosen(solver, rm.x)


def tiebreak_coefficients(rm: RosterModel) -> list[int]:
    return [w for c in range(len(rm.x)) if (w := lns.preference_weight(rm.facts, c))]


def _floor_sum(facts: Facts, measures: tuple[str, ...], unfilled: int) -> int:
    floors = fairness.floors(facts, unfilled=unfilled)
    return sum(floor for m in measures for floor, _top, _bottom in floors[m].values())


def _changes_target(facts: Facts, assigned: int) -> int:
    """A lower bound on the changes of any roster with `assigned` chosen candidates:
    every previous assignment that is no longer possible goes, and the seats beyond the
    previous ones that can stay are new."""
    keepable = len(facts.previous_candidates)
    return facts.changes_base + assigned - 2 * min(assigned, keepable)


class _Build:
    """One staged solve over shared facts: the current roster and what is fixed so far.

    `solve` runs one of these; `options.solve_options` runs the coverage stage once and then one
    per option, each from the shared covered roster.
    """

    def __init__(
        self,
        facts: Facts,
        *,
        started: float,
        deadline: float,
        seed: int,
        num_workers: int,
        extra: dict[str, Any],
        chosen: list[int],
        shortcut: bool,
        on_stage: Callable[[str, int, int], None] | None = None,
    ):
        self.facts = facts
        self.started = started
        self.deadline = deadline
        self.seed = seed
        self.num_workers = num_workers
        self.extra = extra
        self.chosen = chosen
        # Skip a stage whose roster in hand already meets its target (repair and options;
        # the fairest order calls CP-SAT regardless, as it always has).
        self.shortcut = shortcut
        self.on_stage = on_stage
        self.large = len(facts.candidates) > LARGE_MODEL
        self.free_seats = sum(
            facts.open_seats(s, r)
            for s, shift in enumerate(facts.shifts)
            for r in shift.requirements
        )
        self.unfilled = self.free_seats - len(chosen)
        self.coverage: int | None = None
        # Each finished stage's value, (stage, measures, value): held as constraints in the
        # whole model, also in one built after the stage (which a large roster may never).
        self.held: list[tuple[str, tuple[str, ...] | None, int]] = []
        self.rm: RosterModel | None = None
        self.search: lns.Search | None = None
        self.fixed = lns.Fixed()
        # The spread_bound stage's target, in load units: `spread_bound` if set, else the
        # counting floor (known once coverage is) plus `spread_tolerance`.
        self.spread_tolerance = 0
        self.spread_bound: int | None = None

    def elapsed(self) -> float:
        return round(time.perf_counter() - self.started, 3)

    def model(self) -> RosterModel:
        if self.rm is None:
            self.rm = RosterModel(self.facts)
            for name, measures, value in self.held:
                self._hold(name, measures, value)
        return self.rm

    def _hold(self, name: str, measures: tuple[str, ...] | None, value: int) -> None:
        objective = self._objective(name, measures)
        if isinstance(objective, int):
            return
        if name in MINIMISE:
            self.rm.model.add(objective <= value)
        else:
            self.rm.model.add(objective >= value)

    def run(
        self, stages: tuple[str, ...], shares: Mapping[str, float], *, after: float = 0.0
    ) -> list[int]:
        """Run `stages` in order; `after` is the share of the time kept for work after them."""
        f, extra = self.facts, self.extra
        unit_hours = f.unit_minutes / 60
        for number, name in enumerate(stages):
            if self.on_stage is not None:
                self.on_stage(name, number, len(stages))
            remaining = self.deadline - time.perf_counter()
            if remaining <= 0.05:
                extra["stages"].append({"stage": name, "status": "skipped (time)"})
                continue
            share = shares[name] / (sum(shares[n] for n in stages[number:]) + after)
            limit = max(0.05, remaining * share)
            stage_started = time.perf_counter()
            record: dict[str, Any] = {"stage": name, "time_limit": round(limit, 3)}
            minimise = name in MINIMISE
            measures = lns.FAIRNESS_STAGES.get(name)
            if name == "spread_bound":
                measures = ("hours",)
            # The spread bound by hand-overs and sub-models whatever the size: each step
            # re-solves a few dozen volunteers, preferring the previous version, so getting
            # into the bound moves few people (on the whole model CP-SAT is slow at it).
            global_model = (not self.large or name == "coverage") and name != "spread_bound"

            if name == "coverage":
                target = self.free_seats
            elif name == "spread_bound":
                if self.spread_bound is None:
                    floor = _floor_sum(f, ("hours",), self.unfilled)
                    self.spread_bound = floor + self.spread_tolerance
                target = self.spread_bound
            elif measures:
                target = _floor_sum(f, measures, self.unfilled)
            elif name == "preferences":
                # At best every assignment the solver makes is a preferred one.
                target = self.free_seats - self.unfilled
            elif name == "changes":
                target = _changes_target(f, len(self.chosen))
            else:
                target = len(f.previous_candidates)
            record["target"] = target

            def on_value(seconds: float, value: int, name: str = name) -> None:
                if name == "coverage" and value >= self.free_seats:
                    if extra["first_full_coverage_seconds"] is None:
                        extra["first_full_coverage_seconds"] = round(seconds, 3)
                if name == "fairness_hours":
                    extra["fairness_trace"].append(
                        [round(seconds, 3), round(value * unit_hours, 2)]
                    )

            # Hand-overs and swaps of single seats first (quick, few changes each), then
            # sub-models: into repair mode's bound, and on large rosters into the fairness
            # floor when no change count is held (the whole model does this itself).
            hand_overs = name == "spread_bound" or (
                name == "fairness_hours" and not global_model and self.fixed.changes is None
            )
            if hand_overs and stage_value(f, name, self.chosen) > target:
                self.chosen = rebalance(
                    f,
                    self.chosen,
                    bound=target,
                    budget=limit,
                    on_value=lambda value, report=on_value: report(self.elapsed(), value),
                )
                record["hand_overs_seconds"] = round(time.perf_counter() - stage_started, 3)
            at_target = (self.shortcut or name == "coverage") and _reached(
                stage_value(f, name, self.chosen), target, minimise
            )
            if at_target and (self.shortcut or not global_model or self.rm is None):
                # The roster in hand meets the target: nothing to search for. (Coverage:
                # a full warm start is optimal, and a large roster then never builds the
                # whole model.)
                best = stage_value(f, name, self.chosen)
                record["status"] = "optimal (warm start)"
                if name == "coverage" and extra["first_full_coverage_seconds"] is None:
                    extra["first_full_coverage_seconds"] = self.elapsed()
            elif global_model:
                rm = self.model()
                objective = self._objective(name, measures)
                if isinstance(objective, int):  # nothing to optimise in this stage
                    record["status"] = "trivial"
                    best = objective
                else:
                    best, found = _global_stage(
                        rm,
                        name,
                        objective,
                        minimise=minimise,
                        target=target,
                        chosen=self.chosen,
                        record=record,
                        callback=_Callback(
                            started=self.started,
                            target=target,
                            minimise=minimise,
                            on_value=on_value,
                        ),
                        solver=_solver(limit, seed=self.seed, num_workers=self.num_workers),
                        tiebreak=rm.preferences() if measures or name == "changes" else 0,
                    )
                    # Coverage stops at its first full roster; when greedy's is full it
                    # spreads load better than whichever CP-SAT came upon first, so keep it.
                    if name != "coverage" or best > len(self.chosen):
                        self.chosen = found
            else:
                if self.search is None:
                    self.search = lns.Search(
                        f, self.chosen, seed=self.seed, num_workers=self.num_workers
                    )
                self.search.chosen = set(self.chosen)
                self.search.keep_previous = name == "spread_bound"
                best = lns.improve(
                    self.search,
                    "fairness_hours" if name == "spread_bound" else name,
                    self.fixed,
                    deadline=stage_started + limit,
                    target=target,
                    windows=_windows(f, self.unfilled),
                    on_value=lambda value, report=on_value: report(
                        time.perf_counter() - self.started, value
                    ),
                )
                self.chosen = sorted(self.search.chosen)
                record["status"] = "optimal" if _reached(best, target, minimise) else "feasible"
            if name == "spread_bound":
                best = stage_value(f, name, self.chosen)  # the spread, not its excess
                extra["fairness_trace"].append([self.elapsed(), round(best * unit_hours, 2)])
            record["objective"] = best
            self._fix(name, measures, best, record)
            record["seconds"] = round(time.perf_counter() - stage_started, 3)
            extra["stages"].append(record)
        return self.chosen

    def _objective(self, name: str, measures: tuple[str, ...] | None) -> Any:
        rm = self.model()
        if name == "coverage":
            return rm.coverage()
        if measures:
            return rm.add_spreads(measures, unfilled=self.unfilled)[0]
        if name == "preferences":
            return rm.preferences()
        if name == "changes":
            return rm.changes()
        return rm.stability()

    def _fix(self, name: str, measures, best: int, record: dict) -> None:
        """Hold the stage's value in every later stage."""
        if name == "spread_bound":
            # The changes stage may use all of the tolerance, not just what was found.
            best = max(best, self.spread_bound if self.spread_bound is not None else best)
            record["bound_hours"] = round(best * self.facts.unit_minutes / 60, 2)
        self.held.append((name, measures, best))
        if self.rm is not None and not self.large:
            self._hold(name, measures, best)
        if measures:
            held = self.fixed.spreads.get(measures)
            self.fixed.spreads[measures] = best if held is None else min(held, best)
        elif name == "preferences":
            self.fixed.preferences = best
        elif name == "changes":
            self.fixed.changes = best
        elif name == "coverage":
            if self.large:
                # Sub-models do the rest: let the whole model go (most of the memory).
                self.rm = None
            self.coverage = best
            self.unfilled = self.free_seats - best
            self.extra["coverage_proven_optimal"] = record["status"].startswith("optimal")
            self.extra["coverage_seconds"] = self.elapsed()
            if best >= self.free_seats and self.extra["first_full_coverage_seconds"] is None:
                self.extra["first_full_coverage_seconds"] = self.elapsed()

    def finish(self, *, solver: str = "cp-sat", extra: dict | None = None) -> dict[str, Any]:
        # The search may stop short of optimal coverage; add whatever still fits, rule by
        # rule.
        final = fill(RosterState(self.facts, self.chosen))
        self.extra["top_up"] = len(final.chosen) - len(self.chosen)
        return result.build(
            final,
            solver=solver,
            seconds=time.perf_counter() - self.started,
            extra={**self.extra, **(extra or {})},
        )


def _extra(facts: Facts, *, time_limit: float, seed: int, num_workers: int, started: float):
    large = len(facts.candidates) > LARGE_MODEL
    return {
        "greedy_seconds": round(time.perf_counter() - started, 3),
        "time_limit": time_limit,
        "seed": seed,
        "num_workers": num_workers,
        "method": "cp-sat sub-models (LNS) after coverage" if large else "cp-sat",
        "stages": [],
        "first_full_coverage_seconds": None,
        "coverage_proven_optimal": False,
        "fairness_trace": [],
    }


def solve(
    instance: Instance | Mapping,
    *,
    mode: str | None = None,
    spread_tolerance: float = DEFAULT_SPREAD_TOLERANCE,
    time_limit: float = 10.0,
    seed: int = 0,
    num_workers: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build a roster with CP-SAT in stages; see the package docstring for the result.

    `mode` is ``"repair"`` or ``"fairest"`` (default: repair when the instance has a
    `previous` version, else fairest); `spread_tolerance` is repair mode's hours above the
    counting floor. Never raises on a hard instance: a seat no one can take is reported
    as unfilled. `progress(stage, fraction_done)` is called as each stage starts, and
    once at the end.
    """
    started = time.perf_counter()
    inst = as_instance(instance)
    mode = resolve_mode(mode, inst)
    facts = prepare(inst)
    bound = None
    if mode == REPAIR:
        bound = tolerance_units(facts, spread_tolerance)
        chosen = list(repaired(facts).chosen)
    else:
        chosen = list(fill(RosterState(facts)).chosen)
    extra = _extra(
        facts, time_limit=time_limit, seed=seed, num_workers=num_workers, started=started
    )
    extra["mode"] = mode
    if mode == REPAIR:
        extra["spread_tolerance_hours"] = spread_tolerance
    if not facts.candidates:
        extra["coverage_proven_optimal"] = True
        return result.build(
            RosterState(facts), solver="cp-sat", seconds=time.perf_counter() - started, extra=extra
        )

    def on_stage(name: str, number: int, count: int) -> None:
        if progress is not None:
            progress(name, number / count)

    build = _Build(
        facts,
        started=started,
        deadline=started + time_limit,
        seed=seed,
        num_workers=num_workers,
        extra=extra,
        chosen=chosen,
        shortcut=mode == REPAIR,
        on_stage=on_stage,
    )
    if mode == REPAIR:
        build.spread_tolerance = bound
        build.run(REPAIR_STAGES, REPAIR_SHARES)
    else:
        stages = tuple(n for n in FAIREST_STAGES if n != "stability" or facts.previous)
        if not build.large:
            build.model()  # as before: the whole model exists from the start
        build.run(stages, STAGE_SHARES)
    if progress is not None:
        progress("done", 1.0)
    return build.finish()


def solve_greedy(instance: Instance | Mapping) -> dict[str, Any]:
    """The greedy baseline alone (no CP-SAT), in the same result format."""
    started = time.perf_counter()
    facts = prepare(as_instance(instance))
    state = fill(RosterState(facts))
    seconds = time.perf_counter() - started
    extra = {"first_full_coverage_seconds": None}
    built = result.build(state, solver="greedy", seconds=seconds, extra=extra)
    if built["metrics"]["unfilled_seats"] == 0:
        built["metrics"]["first_full_coverage_seconds"] = round(seconds, 3)
    return built
