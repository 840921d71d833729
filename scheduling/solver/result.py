"""The result dict both solvers return (see the package docstring for its shape)."""

from __future__ import annotations

from typing import Any

from scheduling.solver import diff, explain, fairness
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
    changes: list[dict[str, Any]] = []
    if f.previous:
        current = {(v, s, r) for v, s, r in triples}
        changed = current ^ f.previous
        metrics["changes"] = len(changed)
        metrics["moved_volunteers"] = len({v for v, _s, _r in changed})
        changes = diff.changes(state)
    if f.instance.multi_hotline:
        metrics["by_hotline"] = _by_hotline(f, triples, unfilled)
        for entry in unfilled:
            entry["hotline"] = f.shifts[position_of_id(f)[entry["shift"]]].hotline
    metrics.update(extra or {})
    metrics["seconds"] = round(seconds, 3)
    built = {"assignments": assignments, "unfilled": unfilled, "metrics": metrics}
    if f.previous:
        built["changes"] = changes
    return built


def position_of_id(f: Facts) -> dict:
    return {shift.id: s for s, shift in enumerate(f.shifts)}


def _by_hotline(f: Facts, triples, unfilled) -> dict[str, dict[str, int]]:
    """Seats, filled and unfilled per hotline (keys as strings: JSON object keys)."""
    rows: dict[str, dict[str, int]] = {}
    for shift in f.shifts:
        row = rows.setdefault(str(shift.hotline), {"seats": 0, "assigned": 0, "unfilled": 0})
        row["seats"] += sum(shift.requirements.values())
    for _v, s, _r in triples:
        rows[str(f.shifts[s].hotline)]["assigned"] += 1
    position = position_of_id(f)
    for entry in unfilled:
        rows[str(f.shifts[position[entry["shift"]]].hotline)]["unfilled"] += entry["count"]
    return rows
