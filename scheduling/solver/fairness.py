"""Load spreads, and the counting floors below which no roster's spread can go.

A role's *pool* is the volunteers who hold it and could work in it on this roster (at
least one candidate seat, or a fixed assignment, in that role): someone away the whole
period would otherwise pin the minimum at zero. The spread of a measure is max − min over
the pool, per role; the solver's fairness stage minimises the sum over roles.

Three measures: hours (in units of the gcd of the shift lengths, so the numbers stay
small for CP-SAT), night shifts and weekend shifts (counts).

The floor counts seats, not volunteers' choices, so it is quick and always valid:
the total load T of a role must be shared among n volunteers whose loads are bounded
above by what they could possibly take (availability, weekly limit) and below by their
fixed load, so max ≥ the smallest M with Σ min(capᵥ, M) ≥ T, and min ≤ the largest m with
Σ max(lowᵥ, m) ≤ T. For counsellors, the crisis-trained ones must also carry every
crisis-trained seat, which usually lifts their maximum far above the untrained
counsellors' minimum: on the benchmark's S tier that alone makes the floor 18 h of the 24.
CP-SAT's own bound on max − min is weak; this floor lets a stage stop as soon as it is met.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from scheduling.solver.facts import Facts
from scheduling.solver.instance import COUNSELLOR, ROLES

MEASURES = ("hours", "night", "weekend")


def weight_of(facts: Facts, measure: str) -> Callable[[int], int]:
    if measure == "hours":
        return lambda s: facts.units[s]
    if measure == "night":
        return lambda s: 1 if facts.night[s] else 0
    return lambda s: 1 if facts.weekend[s] else 0


def pools(facts: Facts) -> dict[str, list[int]]:
    if "pools" not in facts.cache:
        facts.cache["pools"] = _pools(facts)
    return facts.cache["pools"]


def _pools(facts: Facts) -> dict[str, list[int]]:
    members: dict[str, set[int]] = defaultdict(set)
    for v, _s, r in facts.candidates:
        members[r].add(v)
    for _s, v, r in facts.fixed:
        if r in facts.volunteers[v].roles:
            members[r].add(v)
    return {r: sorted(members[r]) for r in ROLES if members.get(r)}


def measured_roles(facts: Facts, measure: str) -> list[str]:
    """Roles for which the measure means something: some seat of the role carries weight."""
    weight = weight_of(facts, measure)
    roles = []
    for r, pool in pools(facts).items():
        if len(pool) < 2:
            continue
        if any(weight(s) and shift.required(r) for s, shift in enumerate(facts.shifts)):
            roles.append(r)
    return roles


def loads(
    facts: Facts, assignments: Iterable[tuple[int, int, str]], measure: str
) -> dict[str, dict[int, int]]:
    """Per role, each pool member's load under `measure`, from (volunteer, shift, role)."""
    weight = weight_of(facts, measure)
    result = {r: dict.fromkeys(pool, 0) for r, pool in pools(facts).items()}
    for v, s, r in assignments:
        if r in result and v in result[r]:
            result[r][v] += weight(s)
    return result


def spreads(facts: Facts, assignments: list[tuple[int, int, str]]) -> dict[str, dict[str, int]]:
    """{measure: {role: max − min}} over the measured roles."""
    result: dict[str, dict[str, int]] = {}
    for measure in MEASURES:
        per_role = loads(facts, assignments, measure)
        result[measure] = {
            r: max(per_role[r].values()) - min(per_role[r].values())
            for r in measured_roles(facts, measure)
        }
    return result


def _smallest_max(caps: list[int], lows: list[int], total: int) -> int:
    """Smallest M with Σ min(capᵥ, M) ≥ total (and no less than a fixed load): some pool
    member's load reaches it."""
    floor = max(lows, default=0)
    if sum(caps) < total:
        return floor
    lo, hi = 0, max(caps, default=0)
    while lo < hi:
        mid = (lo + hi) // 2
        if sum(min(c, mid) for c in caps) >= total:
            hi = mid
        else:
            lo = mid + 1
    return max(lo, floor)


def _largest_min(caps: list[int], lows: list[int], total: int) -> int:
    """Largest m with Σ max(lowᵥ, m) ≤ total, and m ≤ every cap: the pool minimum's ceiling."""
    ceiling = min(caps, default=0)
    if sum(lows) > total:
        return ceiling
    lo, hi = 0, ceiling
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(max(low, mid) for low in lows) <= total:
            lo = mid
        else:
            hi = mid - 1
    return lo


def floors(facts: Facts, *, unfilled: int) -> dict[str, dict[str, tuple[int, int, int]]]:
    """{measure: {role: (floor, max_at_least, min_at_most)}} for rosters with `unfilled` seats.

    With unfilled seats the totals are not known exactly; each empty seat can take away
    at most the heaviest seat's weight, which keeps the floor valid (if looser).
    """
    key = ("floors", unfilled)
    if key not in facts.cache:
        facts.cache[key] = _floors(facts, unfilled=unfilled)
    return facts.cache[key]


def _floors(facts: Facts, *, unfilled: int) -> dict[str, dict[str, tuple[int, int, int]]]:
    pool_of = pools(facts)
    fixed = facts.assigned(())
    result: dict[str, dict[str, tuple[int, int, int]]] = {}
    for measure in MEASURES:
        weight = weight_of(facts, measure)
        fixed_loads = loads(facts, fixed, measure)
        result[measure] = {}
        for r in measured_roles(facts, measure):
            pool = pool_of[r]
            lows = fixed_loads[r]
            # What each could take at most: the heaviest of their candidate seats, week by
            # week, up to their weekly limit (rest and other roles ignored: still an upper
            # bound).
            per_week: dict[tuple[int, object], list[int]] = defaultdict(list)
            for v, s, role in facts.candidates:
                if role == r:
                    per_week[(v, facts.week[s])].append(weight(s))
            caps = dict(lows)
            for (v, week), weights in per_week.items():
                take = facts.week_cap(v, week)
                caps[v] += sum(sorted(weights, reverse=True)[:take])
            full = sum(
                weight(s) * max(shift.required(r), facts.fixed_count.get((s, r), 0))
                for s, shift in enumerate(facts.shifts)
            )
            heaviest = max(
                (weight(s) for s, shift in enumerate(facts.shifts) if shift.required(r)),
                default=0,
            )
            t_max, t_min = full, max(0, full - unfilled * heaviest)
            top = _smallest_max([caps[v] for v in pool], [lows[v] for v in pool], t_min)
            bottom = _largest_min([caps[v] for v in pool], [lows[v] for v in pool], t_max)
            if r == COUNSELLOR:
                trained = [v for v in pool if facts.volunteers[v].crisis_trained]
                untrained = [v for v in pool if not facts.volunteers[v].crisis_trained]
                crisis = sum(
                    weight(s) * shift.crisis_trained_required
                    for s, shift in enumerate(facts.shifts)
                )
                c_min = max(0, crisis - unfilled * heaviest)
                if trained:
                    top = max(
                        top,
                        _smallest_max(
                            [caps[v] for v in trained], [lows[v] for v in trained], c_min
                        ),
                    )
                if untrained:
                    bottom = min(
                        bottom,
                        _largest_min(
                            [caps[v] for v in untrained],
                            [lows[v] for v in untrained],
                            t_max - c_min,
                        ),
                    )
            result[measure][r] = (max(0, top - bottom), top, bottom)
    return result
