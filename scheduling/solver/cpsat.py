"""The CP-SAT roster builder: one model, solved in stages.

Stages, each one's best value fixed as a constraint before the next (a single weighted
objective is far slower and worse, see STACK-NOTES):

1. ``coverage`` – most seats filled (fewest unfilled);
2. ``fairness_hours`` – least sum over roles of the max − min of assigned hours;
3. ``fairness_nights_weekends`` – least sum of the night-shift and weekend-shift spreads;
4. ``preferences`` – most preferred minus undesired slots;
5. ``stability`` – most assignments kept from `previous` (only when it is given).

The model has one boolean per candidate (volunteer, shift, role): rules that hold before
anything is assigned (role, availability, clashes with fixed or outside time) are applied
by not creating the variable at all. Overlap and rest become at-most-one constraints over
cliques of mutually clashing shifts, per volunteer.

Time: `time_limit` is the budget for the whole solve; each stage gets a share of what is
left, so a stage that finishes early (optimal, or at its counting floor) hands its time on.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from scheduling.solver import fairness, lns, result
from scheduling.solver.facts import Facts, clique_cover, prepare
from scheduling.solver.greedy import RosterState, fill
from scheduling.solver.instance import COUNSELLOR, Instance, as_instance

# Share of the remaining time each stage may use.
STAGE_SHARES = {
    "coverage": 0.3,
    "fairness_hours": 0.35,
    "fairness_nights_weekends": 0.15,
    "preferences": 0.12,
    "stability": 0.08,
}
Progress = Callable[[str, float], None]
# Above this many candidate variables, stages after coverage improve the roster through
# CP-SAT on sub-models (scheduling.solver.lns) instead of re-solving the whole model.
LARGE_MODEL = 15_000


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
        """Spread variables for `measures`; returns (sum of spreads, its counting floor)."""
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
        return cp_model.LinearExpr.sum(terms) if terms else 0, floor_total

    def preferences(self):
        weights = [lns.preference_weight(self.facts, c) for c in range(len(self.x))]
        indices = [c for c, w in enumerate(weights) if w]
        return self._sum(indices, [weights[c] for c in indices]) if indices else 0

    def stability(self):
        f = self.facts
        kept = [c for c, triple in enumerate(f.candidates) if triple in f.previous]
        return self._sum(kept) if kept else 0

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


def _value(rm: RosterModel, stage: str, chosen: list[int]) -> int:
    """A stage's objective evaluated on a roster, in Python (for when CP-SAT found none)."""
    f = rm.facts
    if stage == "coverage":
        return len(chosen)
    triples = f.assigned(chosen)
    if stage.startswith("fairness"):
        measures = ("hours",) if stage == "fairness_hours" else ("night", "weekend")
        total = 0
        for measure in measures:
            per_role = fairness.loads(f, triples, measure)
            for sp in rm.spreads.get(measure, ()):
                values = per_role[sp.role].values()
                total += max(values) - min(values)
        return total
    if stage == "preferences":
        return sum(lns.preference_weight(f, c) for c in chosen)
    return sum(1 for c in chosen if f.candidates[c] in f.previous)


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
        return _value(rm, name, chosen), chosen
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


def solve(
    instance: Instance | Mapping,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    num_workers: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Build a roster with CP-SAT in stages; see the package docstring for the result.

    Never raises on a hard instance: a seat no one can take is reported as unfilled.
    `progress(stage, fraction_done)` is called as each stage starts, and once at the end.
    """
    started = time.perf_counter()
    facts = prepare(as_instance(instance))
    chosen = list(fill(RosterState(facts)).chosen)
    free_seats = sum(
        facts.open_seats(s, r) for s, shift in enumerate(facts.shifts) for r in shift.requirements
    )
    large = len(facts.candidates) > LARGE_MODEL
    extra: dict[str, Any] = {
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
    if not facts.candidates:
        extra["coverage_proven_optimal"] = True
        state = RosterState(facts)
        return result.build(
            state, solver="cp-sat", seconds=time.perf_counter() - started, extra=extra
        )

    def elapsed() -> float:
        return round(time.perf_counter() - started, 3)

    rm = RosterModel(facts)
    search: lns.Search | None = None
    fixed = lns.Fixed()
    deadline = started + time_limit
    stages = [name for name in STAGE_SHARES if name != "stability" or facts.previous]
    unit_hours = facts.unit_minutes / 60
    unfilled = free_seats - len(chosen)

    for number, name in enumerate(stages):
        if progress is not None:
            progress(name, number / len(stages))
        remaining = deadline - time.perf_counter()
        if remaining <= 0.05:
            extra["stages"].append({"stage": name, "status": "skipped (time)"})
            continue
        share = STAGE_SHARES[name] / sum(STAGE_SHARES[n] for n in stages[number:])
        limit = max(0.05, remaining * share)
        stage_started = time.perf_counter()
        record: dict[str, Any] = {"stage": name, "time_limit": round(limit, 3)}

        measures = lns.FAIRNESS_STAGES.get(name)
        minimise = measures is not None
        if name == "coverage":
            objective, target = rm.coverage(), free_seats
        elif measures and large:
            objective, target = None, _floor_sum(facts, measures, unfilled)
        elif measures:
            objective, target = rm.add_spreads(measures, unfilled=unfilled)
        elif name == "preferences":
            # At best every assignment the solver makes is a preferred one.
            objective, target = rm.preferences(), free_seats - unfilled
        else:
            keepable = sum(1 for triple in facts.candidates if triple in facts.previous)
            objective, target = rm.stability(), keepable
        if target is not None:
            record["target"] = target

        def on_value(seconds: float, value: int, name: str = name) -> None:
            if name == "coverage" and value >= free_seats:
                if extra["first_full_coverage_seconds"] is None:
                    extra["first_full_coverage_seconds"] = round(seconds, 3)
            if name == "fairness_hours":
                extra["fairness_trace"].append([round(seconds, 3), round(value * unit_hours, 2)])

        if isinstance(objective, int):  # nothing to optimise in this stage
            record["status"] = "trivial"
            best = objective
        elif large and name != "coverage":
            if search is None:
                search = lns.Search(facts, chosen, seed=seed, num_workers=num_workers)
            best = lns.improve(
                search,
                name,
                fixed,
                deadline=stage_started + limit,
                target=target,
                windows=_windows(facts, unfilled),
                on_value=lambda value, report=on_value: report(
                    time.perf_counter() - started, value
                ),
            )
            chosen = sorted(search.chosen)
            record["status"] = "optimal" if _reached(best, target, minimise) else "feasible"
        else:
            best, found = _global_stage(
                rm,
                name,
                objective,
                minimise=minimise,
                target=target,
                chosen=chosen,
                record=record,
                callback=_Callback(
                    started=started, target=target, minimise=minimise, on_value=on_value
                ),
                solver=_solver(limit, seed=seed, num_workers=num_workers),
                tiebreak=rm.preferences() if measures else 0,
            )
            # Coverage stops at its first full roster; when greedy's is full it spreads
            # load better than whichever CP-SAT came upon first, so keep it.
            if name != "coverage" or best > len(chosen):
                chosen = found
        record["objective"] = best

        # Fix the stage's value before the next one.
        if objective is not None and not isinstance(objective, int):
            if minimise:
                rm.model.add(objective <= best)
            else:
                rm.model.add(objective >= best)
        if measures:
            fixed.spreads[measures] = best
        elif name == "preferences":
            fixed.preferences = best
        elif name == "coverage":
            unfilled = free_seats - best
            extra["coverage_proven_optimal"] = record["status"] == "optimal"
            extra["coverage_seconds"] = elapsed()
            if best >= free_seats and extra["first_full_coverage_seconds"] is None:
                extra["first_full_coverage_seconds"] = elapsed()
        record["seconds"] = round(time.perf_counter() - stage_started, 3)
        extra["stages"].append(record)

    # The search may stop short of optimal coverage; add whatever still fits, rule by rule.
    final = fill(RosterState(facts, chosen))
    extra["top_up"] = len(final.chosen) - len(chosen)
    if progress is not None:
        progress("done", 1.0)
    return result.build(final, solver="cp-sat", seconds=time.perf_counter() - started, extra=extra)


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
