"""Roster benchmark: greedy against staged CP-SAT on generated hotline instances.

    python bench/roster.py [--tiers S,T,L] [--seeds 1-5] [--time-limit SECONDS] [--save DIR]
    python bench/roster.py --dump S:1 > s1.json     # one instance, for the solver's CLI

Tiers (4 or 8 weeks from a Monday, shifts 08–14, 14–20 and 20–08 in Asia/Shanghai,
30% of counsellors crisis-trained, 11 h rest, 25% of each volunteer's available slots
preferred and 15% undesired):

    S  80 counsellors + 40 family-education experts, 4 weeks; 2 counsellors incl. 1
       crisis-trained per shift, 1 expert on day shifts; 60% availability; ≤ 3 shifts/week
    T  scarce: S with 40 counsellors, 16 experts, 40% availability, ≤ 2 shifts/week
    L  300 counsellors + 150 experts, 8 weeks; 6 counsellors incl. 2 crisis-trained per
       shift, 3 experts by day and 1 at night; otherwise as S

By default S and T run seeds 1–5 with a 10 s budget and L runs seed 1 only with 60 s
(`--tiers L --seeds 1-5` runs all of L). Every run is a fresh process, so its peak
memory is its own: max RSS from getrusage, which includes the interpreter and OR-Tools
(CP-SAT allocates outside Python's heap, where tracemalloc cannot see it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import random
import resource
import sys
import time
import zoneinfo
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduling.solver import check_solution, solve, solve_greedy

TZ = "Asia/Shanghai"
FIRST_DAY = dt.date(2025, 3, 3)  # a Monday
SHIFT_TIMES = ((8, 14), (14, 20), (20, 8))

TIERS = {
    "S": {
        "counsellors": 80,
        "experts": 40,
        "weeks": 4,
        "counsellors_per_shift": 2,
        "crisis_per_shift": 1,
        "experts_by_day": 1,
        "experts_at_night": 0,
        "availability": 0.6,
        "max_per_week": 3,
        "time_limit": 10.0,
        "spread_goal": None,  # None: the counting floor
    },
    "T": {
        "counsellors": 40,
        "experts": 16,
        "weeks": 4,
        "counsellors_per_shift": 2,
        "crisis_per_shift": 1,
        "experts_by_day": 1,
        "experts_at_night": 0,
        "availability": 0.4,
        "max_per_week": 2,
        "time_limit": 10.0,
        "spread_goal": None,
    },
    "L": {
        "counsellors": 300,
        "experts": 150,
        "weeks": 8,
        "counsellors_per_shift": 6,
        "crisis_per_shift": 2,
        "experts_by_day": 3,
        "experts_at_night": 1,
        "availability": 0.6,
        "max_per_week": 3,
        "time_limit": 60.0,
        "spread_goal": 18.0,
    },
}
CRISIS_SHARE = 0.3
REST_HOURS = 11
PREFERRED_SHARE = 0.25
UNDESIRED_SHARE = 0.15


def make_instance(tier: str, seed: int) -> dict:
    """A benchmark instance in the solver's JSON format; the same (tier, seed) gives the same."""
    p = TIERS[tier]
    rng = random.Random(f"{tier}-{seed}")
    tz = zoneinfo.ZoneInfo(TZ)
    shifts = []
    for day_number in range(p["weeks"] * 7):
        day = FIRST_DAY + dt.timedelta(days=day_number)
        for start_hour, end_hour in SHIFT_TIMES:
            starts = dt.datetime.combine(day, dt.time(start_hour), tzinfo=tz)
            end_day = day if end_hour > start_hour else day + dt.timedelta(days=1)
            ends = dt.datetime.combine(end_day, dt.time(end_hour), tzinfo=tz)
            night = end_hour < start_hour
            shifts.append(
                {
                    "id": f"{day:%m%d}-{start_hour:02d}",
                    "starts_at": starts.isoformat(),
                    "ends_at": ends.isoformat(),
                    "requirements": {
                        "counsellor": p["counsellors_per_shift"],
                        "family_educator": p["experts_at_night" if night else "experts_by_day"],
                    },
                    "crisis_trained_required": p["crisis_per_shift"],
                }
            )
    ids = [s["id"] for s in shifts]
    trained = set(rng.sample(range(p["counsellors"]), round(CRISIS_SHARE * p["counsellors"])))
    volunteers = []
    people = [("c", i, "counsellor") for i in range(p["counsellors"])]
    people += [("e", i, "family_educator") for i in range(p["experts"])]
    for prefix, i, role in people:
        available = rng.sample(ids, round(p["availability"] * len(ids)))
        wishes = rng.sample(available, len(available))
        n_preferred = round(PREFERRED_SHARE * len(available))
        n_undesired = round(UNDESIRED_SHARE * len(available))
        volunteers.append(
            {
                "id": f"{prefix}{i:03d}",
                "roles": [role],
                "crisis_trained": role == "counsellor" and i in trained,
                "max_shifts_per_week": p["max_per_week"],
                "available": sorted(available),
                "preferred": sorted(wishes[:n_preferred]),
                "undesired": sorted(wishes[n_preferred : n_preferred + n_undesired]),
            }
        )
    return {
        "time_zone": TZ,
        "min_rest_hours": REST_HOURS,
        "shifts": shifts,
        "volunteers": volunteers,
    }


def run_one(tier: str, seed: int, solver: str, time_limit: float) -> dict:
    """One solve in this (fresh) process; returns its figures and this process's peak RSS."""
    instance = make_instance(tier, seed)
    started = time.perf_counter()
    if solver == "greedy":
        outcome = solve_greedy(instance)
    else:
        outcome = solve(instance, time_limit=time_limit)
    wall = time.perf_counter() - started
    m = outcome["metrics"]
    violations = check_solution(instance, outcome["assignments"])
    return {
        "tier": tier,
        "seed": seed,
        "solver": solver,
        "wall_seconds": wall,
        "metrics": m,
        "violations": len(violations),
        "unfilled_reasons": [e["reason"] for e in outcome["unfilled"]],
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            seeds.extend(range(int(lo), int(hi) + 1))
        elif part:
            seeds.append(int(part))
    return seeds


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _time_to(trace: list, goal: float) -> float | None:
    for seconds, hours in trace:
        if hours <= goal + 1e-9:
            return seconds
    return None


def time_to_goal(r: dict, goal: float | None) -> float | None:
    """When the run's spread first reached `goal` (None: the counting floor), if it did."""
    m = r["metrics"]
    target = m["spread_floor_hours"] if goal is None else goal
    if m["spread_hours"] > target + 1e-9:
        return None
    if r["solver"] == "greedy":
        return r["wall_seconds"]
    # The trace holds each improvement of the fairness stage; an empty one means the
    # coverage stage's roster already met the goal.
    return _time_to(m.get("fairness_trace") or [], target) or m.get("coverage_seconds")


def full_cover(r: dict) -> float | None:
    return r["metrics"].get("first_full_coverage_seconds")


def _beats(a: dict, b: dict) -> bool:
    """Strictly better: fewer unfilled seats, then smaller spread, then better preferences."""

    def key(m):
        return (m["unfilled_seats"], m["spread_hours"], -m["preference_score"])

    return key(a) < key(b)


HEADER = (
    "| tier | seed | solver | unfilled | proven | spread h | floor h | t→goal s | nights/wkd "
    "| pref +/− | full cover s | total s | peak RSS MB | violations |"
)


def _row(r: dict, goal: float | None) -> str:
    m = r["metrics"]
    proven = ""
    if r["solver"] == "cp-sat":
        proven = f"yes {m['coverage_seconds']:.2f}s" if m["coverage_proven_optimal"] else "no"
    return (
        f"| {r['tier']} | {r['seed']} | {r['solver']} | {m['unfilled_seats']} | {proven} "
        f"| {_fmt(m['spread_hours'])} | {_fmt(m['spread_floor_hours'])} "
        f"| {_fmt(time_to_goal(r, goal), 2)} | {m['night_spread']}/{m['weekend_spread']} "
        f"| +{m['preferred']}/−{m['undesired']} "
        f"| {_fmt(m.get('first_full_coverage_seconds'), 2)} | {r['wall_seconds']:.2f} "
        f"| {r['max_rss_mb']:.0f} | {r['violations']} |"
    )


def _proven(r: dict) -> float | None:
    m = r["metrics"]
    return m["coverage_seconds"] if m["coverage_proven_optimal"] else None


def summarise(tier: str, runs: list[dict]) -> tuple[str, int]:
    """The tier's targets, met on how many seeds; and the count of hard failures
    (violations, CP-SAT not beating greedy), which make the exit status 1."""
    cp = [r for r in runs if r["solver"] == "cp-sat"]
    n = len(cp)
    goal = TIERS[tier]["spread_goal"]

    def within(pick, seconds: float) -> str:
        times = [t for r in cp if (t := pick(r)) is not None and t <= seconds]
        slowest = f" (slowest {max(times):.2f} s)" if times else ""
        return f"{len(times)}/{n}{slowest}"

    def at_floor(r: dict) -> float | None:
        return time_to_goal(r, None)

    def at_goal(r: dict) -> float | None:
        return time_to_goal(r, goal)

    clean = sum(1 for r in runs if r["violations"] == 0)
    beats = sum(1 for r in cp if r["beats_greedy"])
    lines = [f"zero hard violations {clean}/{len(runs)}", f"CP-SAT beats greedy {beats}/{n}"]
    if tier == "S":
        lines += [
            f"no unfilled seat within 1 s {within(full_cover, 1.0)}",
            f"spread at floor within 10 s {within(at_floor, 10.0)}",
        ]
    elif tier == "T":
        explained = sum(1 for r in cp if all(r["unfilled_reasons"]))
        lines += [
            f"proven minimum of unfilled seats within 1 s {within(_proven, 1.0)}",
            f"every unfilled seat has a reason {explained}/{n}",
        ]
    elif tier == "L":
        small = sum(1 for r in cp if r["max_rss_mb"] < 1536)
        lines += [
            f"no unfilled seat within 10 s {within(full_cover, 10.0)}",
            f"spread ≤ 18 h within 60 s {within(at_goal, 60.0)}",
            f"spread at floor within 60 s {within(at_floor, 60.0)}",
            f"under 1.5 GB {small}/{n}",
        ]
    return "; ".join(lines), (len(runs) - clean) + (n - beats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiers", default="S,T,L", help="comma-separated tiers (default S,T,L)")
    parser.add_argument(
        "--seeds", default=None, help="e.g. 1-5 or 1,3 (default: 1-5 for S and T, 1 for L)"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="CP-SAT budget per run (default S/T 10, L 60)",
    )
    parser.add_argument("--save", type=Path, help="also write every run's figures as JSON here")
    parser.add_argument(
        "--reasons", action="store_true", help="print the reason of every unfilled seat (CP-SAT)"
    )
    parser.add_argument(
        "--dump",
        metavar="TIER:SEED",
        help="print that instance's JSON (input for python -m scheduling.solver) and exit",
    )
    args = parser.parse_args(argv)
    if args.dump:
        tier, _, seed = args.dump.partition(":")
        if tier.upper() not in TIERS or not seed.isdigit():
            parser.error("--dump takes TIER:SEED, e.g. S:1")
        json.dump(make_instance(tier.upper(), int(seed)), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    tiers = [t.strip().upper() for t in args.tiers.split(",") if t.strip()]
    for tier in tiers:
        if tier not in TIERS:
            parser.error(f"unknown tier {tier!r} (known: {', '.join(TIERS)})")

    plan = []
    for tier in tiers:
        seeds = _seeds(args.seeds) if args.seeds else ([1] if tier == "L" else [1, 2, 3, 4, 5])
        limit = args.time_limit or TIERS[tier]["time_limit"]
        plan.append((tier, seeds, limit))
    print(
        f"Roster benchmark: greedy vs staged CP-SAT (num_workers=2, seed 0) on "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
    )
    for tier, seeds, limit in plan:
        print(f"  {tier}: seeds {','.join(map(str, seeds))}, CP-SAT budget {limit:g} s")
    if "L" in tiers and not args.seeds:
        print("  (L runs seed 1 only by default; --tiers L --seeds 1-5 runs all five)")
    print()
    print(
        "unfilled: empty seats; proven: coverage optimum proven, and when; spread h: sum over "
        "roles of max − min assigned hours; floor h: the counting lower bound; t→goal s: first "
        "time the spread reached the goal (the floor; L: 18 h); nights/wkd: night and weekend "
        "shift count spreads; pref: preferred/undesired slots; full cover s: first full-coverage "
        "roster (CP-SAT: solution callback); total s: wall time of the solve; peak RSS: max "
        "RSS of the run's own process; violations: hard-rule violations by check_solution."
    )
    print()
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))

    context = multiprocessing.get_context("spawn")
    results = []
    for tier, seeds, limit in plan:
        goal = TIERS[tier]["spread_goal"]
        for seed in seeds:
            pair = {}
            for solver in ("greedy", "cp-sat"):
                with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                    r = pool.submit(run_one, tier, seed, solver, limit).result()
                pair[solver] = r
                results.append(r)
                print(_row(r, goal), flush=True)
            pair["cp-sat"]["beats_greedy"] = _beats(
                pair["cp-sat"]["metrics"], pair["greedy"]["metrics"]
            )

    print()
    print(
        f"load average {os.getloadavg()[0]:.2f} at the end (other work on the machine skews times)"
    )
    failures = 0
    for tier, _tier_seeds, limit in plan:
        line, failed = summarise(tier, [r for r in results if r["tier"] == tier])
        failures += failed
        print(f"{tier} ({limit:g} s): {line}")
    if args.reasons:
        print()
        for r in results:
            if r["solver"] == "cp-sat" and r["unfilled_reasons"]:
                print(f"{r['tier']} seed {r['seed']}:")
                for reason in r["unfilled_reasons"]:
                    print(f"  - {reason}")
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        (args.save / "roster-bench.json").write_text(json.dumps(results, indent=2, default=str))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
