"""The result dict both solvers return (see the package docstring for its shape)."""

from __future__ import annotations

from typing import Any

from scheduling.solver import explain, fairness
from scheduling.solver.facts import Facts
from scheduling.solver.greedy import RosterState
from scheduling.solver.instance import ROLES


def _hours(facts: Facts, units: int) -> float:
    return round(units * facts.unit_minutes / 60, 2)


def build(
    state: RosterState, *, solver: str, seconds: float, extra: dict | None = None
) -> dict[str, Any]:
    f = state.facts
    fixed = {(v, s, r) for s, v, r in f.fixed}
    triples = f.assigned(state.chosen)
    position = {s: i for i, s in enumerate(f.order)}
    role_order = {r: i for i, r in enumerate(ROLES)}
    triples.sort(key=lambda t: (position[t[1]], role_order[t[2]], t[0]))
    assignments = [
        {
            "shift": f.shifts[s].id,
            "volunteer": f.volunteers[v].id,
            "role": r,
            "fixed": (v, s, r) in fixed,
        }
        for v, s, r in triples
    ]
    unfilled = explain.unfilled(state)
    unfilled_seats = sum(e["count"] for e in unfilled)
    spread = fairness.spreads(f, triples)
    floor = fairness.floors(f, unfilled=unfilled_seats)
    preferred = sum(1 for v, s, _r in triples if f.shifts[s].id in f.volunteers[v].preferred)
    undesired = sum(1 for v, s, _r in triples if f.shifts[s].id in f.volunteers[v].undesired)
    metrics: dict[str, Any] = {
        "solver": solver,
        "total_seats": f.total_seats(),
        "assigned_seats": len(triples),
        "unfilled_seats": unfilled_seats,
        "spread_hours": _hours(f, sum(spread["hours"].values())),
        "spread_hours_by_role": {r: _hours(f, u) for r, u in spread["hours"].items()},
        "spread_floor_hours": _hours(f, sum(x[0] for x in floor["hours"].values())),
        "night_spread": sum(spread["night"].values()),
        "night_spread_floor": sum(x[0] for x in floor["night"].values()),
        "weekend_spread": sum(spread["weekend"].values()),
        "weekend_spread_floor": sum(x[0] for x in floor["weekend"].values()),
        "preferred": preferred,
        "undesired": undesired,
        "preference_score": preferred - undesired,
    }
    if f.previous:
        current = {(v, s, r) for v, s, r in triples}
        metrics["changes"] = len(current ^ f.previous)
    metrics.update(extra or {})
    metrics["seconds"] = round(seconds, 3)
    return {"assignments": assignments, "unfilled": unfilled, "metrics": metrics}
