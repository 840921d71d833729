"""Roster benchmark: greedy against staged CP-SAT on generated hotline instances.

    python bench/roster.py [--tiers S,T,L,XL,P] [--seeds 1-5] [--time-limit SECONDS] [--save DIR]
    python bench/roster.py --dump S:1 > s1.json     # one instance, for the solver's CLI
    python bench/roster.py --repair [--tiers S] [--seeds 1-5] [--k 1,2,5]

Tiers (4 or 8 weeks from a Monday, shifts 08–14, 14–20 and 20–08 in Asia/Shanghai,
30% of counsellors crisis-trained, 11 h rest, 25% of each volunteer's available slots
preferred and 15% undesired):

    S  80 counsellors + 40 family-education experts, 4 weeks; 2 counsellors incl. 1
       crisis-trained per shift, 1 expert on day shifts; 60% availability; ≤ 3 shifts/week
    T  scarce: S with 40 counsellors, 16 experts, 40% availability, ≤ 2 shifts/week
    L  300 counsellors + 150 experts, 8 weeks; 6 counsellors incl. 2 crisis-trained per
       shift, 3 experts by day and 1 at night; otherwise as S
    XL one hotline, 1 000 counsellors + 500 experts, 13 weeks; 20 counsellors incl. 6
       crisis-trained per shift, 10 experts by day and 3 at night (7 553 seats)
    P  a province: four city hotlines sharing one pool of 1 000 counsellors + 500 experts
       over 13 weeks, each with its own shift times (overlapping across hotlines), crisis
       minimum, staffing and rest (7 462 seats in all); availability is per shift, so a
       volunteer is a candidate on all four hotlines (about a million candidates)

By default S and T run seeds 1–5 with a 10 s budget, L seed 1 only with 60 s, XL seed 1
with 60 s and P seed 1 with 120 s (`--tiers L --seeds 1-5` runs all of L; XL and P run
only when named).

`--repair` measures repair mode: a roster at its floor (fairest mode, the tier's budget)
becomes `previous`; then k of its assignments become time off (one volunteer's, or the
busiest volunteers' when one has fewer than k shifts), and the roster is rebuilt in
repair mode and in fairest mode, each with the tier's budget: changes against the
previous roster, people moved, spread against its floor and the tolerance (12 h). Every run is a fresh process, so its peak
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

from scheduling.solver import check_solution, solve, solve_greedy, solve_options

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
    "XL": {
        "counsellors": 1000,
        "experts": 500,
        "weeks": 13,
        "counsellors_per_shift": 20,
        "crisis_per_shift": 6,
        "experts_by_day": 10,
        "experts_at_night": 3,
        "availability": 0.6,
        "max_per_week": 3,
        "time_limit": 60.0,
        "spread_goal": None,
    },
    "P": {
        "counsellors": 1000,
        "experts": 500,
        "weeks": 13,
        "availability": 0.6,
        "max_per_week": 3,
        "time_limit": 120.0,
        "spread_goal": "floor+12",
        # Four city lines: shift times (local), staffing, crisis minimum, rest.
        "hotlines": [
            {
                "id": "wuhan",
                "times": ((8, 14), (14, 20), (20, 8)),
                "counsellors": 6,
                "crisis": 2,
                "experts_by_day": 3,
                "experts_at_night": 1,
                "rest": 11,
            },
            {
                "id": "huangshi",
                "times": ((9, 15), (15, 21), (21, 9)),
                "counsellors": 5,
                "crisis": 2,
                "experts_by_day": 2,
                "experts_at_night": 1,
                "rest": 11,
            },
            {
                "id": "yichang",
                "times": ((7, 13), (13, 19), (19, 7)),
                "counsellors": 5,
                "crisis": 1,
                "experts_by_day": 2,
                "experts_at_night": 1,
                "rest": 12,
            },
            {
                "id": "xiangyang",
                "times": ((8, 16), (16, 0), (0, 8)),
                "counsellors": 4,
                "crisis": 1,
                "experts_by_day": 2,
                "experts_at_night": 1,
                "rest": 8,
                "back_to_back": True,
            },
        ],
    },
}
# Tiers run by default (XL and P only when named).
DEFAULT_TIERS = "S,T,L"
CRISIS_SHARE = 0.3
REST_HOURS = 11
PREFERRED_SHARE = 0.25
UNDESIRED_SHARE = 0.15


def make_instance(tier: str, seed: int) -> dict:
    """A benchmark instance in the solver's JSON format; the same (tier, seed) gives the same."""
    p = TIERS[tier]
    rng = random.Random(f"{tier}-{seed}")
    tz = zoneinfo.ZoneInfo(TZ)
    lines = p.get("hotlines") or [
        {
            "id": None,
            "times": SHIFT_TIMES,
            "counsellors": p["counsellors_per_shift"],
            "crisis": p["crisis_per_shift"],
            "experts_by_day": p["experts_by_day"],
            "experts_at_night": p["experts_at_night"],
        }
    ]
    shifts = []
    for line in lines:
        for day_number in range(p["weeks"] * 7):
            day = FIRST_DAY + dt.timedelta(days=day_number)
            for start_hour, end_hour in line["times"]:
                starts = dt.datetime.combine(day, dt.time(start_hour), tzinfo=tz)
                end_day = day if end_hour > start_hour else day + dt.timedelta(days=1)
                ends = dt.datetime.combine(end_day, dt.time(end_hour), tzinfo=tz)
                # The night shift: the one running through 00:00–05:00.
                night = (0 < end_hour < start_hour) or start_hour < 5
                shift = {
                    "id": f"{day:%m%d}-{start_hour:02d}",
                    "starts_at": starts.isoformat(),
                    "ends_at": ends.isoformat(),
                    "requirements": {
                        "counsellor": line["counsellors"],
                        "family_educator": line["experts_at_night" if night else "experts_by_day"],
                    },
                    "crisis_trained_required": line["crisis"],
                }
                if line["id"] is not None:
                    shift["id"] = f"{line['id']}-{shift['id']}"
                    shift["hotline"] = line["id"]
                shifts.append(shift)
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
    instance = {
        "time_zone": TZ,
        "min_rest_hours": REST_HOURS,
        "shifts": shifts,
        "volunteers": volunteers,
    }
    if p.get("hotlines"):
        instance["hotlines"] = [
            {
                "id": line["id"],
                "min_rest_hours": line["rest"],
                "allow_back_to_back": line.get("back_to_back", False),
            }
            for line in lines
        ]
    return instance


def perturb(instance: dict, roster: list[dict], k: int, seed: int) -> list[tuple[str, str]]:
    """Make `k` assignments of `roster` time off in `instance` (changed in place): one
    volunteer's, picked by `seed` among those with at least k shifts, or else the busiest
    volunteers' in turn. Returns the (volunteer, shift) pairs taken off."""
    rng = random.Random(f"perturb-{seed}-{k}")
    shifts_of: dict[str, list[str]] = {}
    for a in roster:
        if not a.get("fixed"):
            shifts_of.setdefault(a["volunteer"], []).append(a["shift"])
    enough = sorted(v for v, mine in shifts_of.items() if len(mine) >= k)
    if enough:
        order = [rng.choice(enough)]
    else:
        order = sorted(shifts_of, key=lambda v: (-len(shifts_of[v]), v))
    taken: list[tuple[str, str]] = []
    for volunteer in order:
        mine = sorted(shifts_of[volunteer])
        for shift in rng.sample(mine, min(len(mine), k - len(taken))):
            taken.append((volunteer, shift))
        if len(taken) >= k:
            break
    off: dict[str, list[str]] = {}
    for volunteer, shift in taken:
        off.setdefault(volunteer, []).append(shift)
    for row in instance["volunteers"]:
        if row["id"] in off:
            row["time_off"] = sorted(set(row.get("time_off", [])) | set(off[row["id"]]))
    instance["previous"] = [
        {"shift": a["shift"], "volunteer": a["volunteer"], "role": a["role"]} for a in roster
    ]
    return taken


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


def goal_hours(m: dict, goal: float | str | None) -> float:
    """The spread goal in hours: the counting floor (None), a number, or "floor+H"."""
    if goal is None:
        return m["spread_floor_hours"]
    if isinstance(goal, str):
        return m["spread_floor_hours"] + float(goal.partition("+")[2])
    return goal


def time_to_goal(r: dict, goal: float | str | None) -> float | None:
    """When the run's spread first reached `goal` (None: the counting floor), if it did."""
    m = r["metrics"]
    target = goal_hours(m, goal)
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
    elif tier == "XL":
        lines += [
            f"no unfilled seat within 10 s {within(full_cover, 10.0)}",
            f"spread at floor within 12 s {within(at_floor, 12.0)}",
            f"spread at floor within 60 s {within(at_floor, 60.0)}",
            f"peak RSS {max(r['max_rss_mb'] for r in cp):.0f} MB",
        ]
    elif tier == "P":
        small = sum(1 for r in cp if r["max_rss_mb"] < 2048)
        both = [
            max(c, g) if c is not None and g is not None else None
            for r in cp
            for c, g in [(full_cover(r), at_goal(r))]
        ]
        ok = [t for t in both if t is not None and t <= 120.0]
        lines += [
            f"full coverage and spread within 12 h of the floor within 120 s {len(ok)}/{n}"
            + (f" (slowest {max(ok):.2f} s)" if ok else ""),
            f"under 2 GB {small}/{n}",
        ]
    return "; ".join(lines), (len(runs) - clean) + (n - beats)


def run_repair(
    tier: str, seed: int, k: int, mode: str, time_limit: float, tolerance: float, base: list
) -> dict:
    """One rebuild after k assignments of `base` became time off, in this fresh process."""
    instance = make_instance(tier, seed)
    taken = perturb(instance, base, k, seed)
    started = time.perf_counter()
    if mode == "options":
        out = solve_options(instance, spread_tolerance=tolerance, time_limit=time_limit)
        wall = time.perf_counter() - started
        return {
            "tier": tier,
            "seed": seed,
            "k": k,
            "mode": mode,
            "wall_seconds": wall,
            "options": [(o["key"], o["summary"]) for o in out["options"]],
            "notes": [n["code"] + ":" + n.get("option", "") for n in out["notes"]],
            "violations": sum(
                len(check_solution(instance, o["assignments"])) for o in out["options"]
            ),
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    outcome = solve(instance, mode=mode, spread_tolerance=tolerance, time_limit=time_limit)
    wall = time.perf_counter() - started
    m = outcome["metrics"]
    caused = {v for v, _s in taken}
    named = all(_names_its_cause(e, caused) for e in outcome.get("changes", []))
    return {
        "tier": tier,
        "seed": seed,
        "k": k,
        "mode": mode,
        "taken_from": len(caused),
        "wall_seconds": wall,
        "metrics": m,
        "violations": len(check_solution(instance, outcome["assignments"])),
        "reasons_named": named,
        "reason_codes": sorted({e["reason_code"] for e in outcome.get("changes", [])}),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _names_its_cause(entry: dict, caused: set) -> bool:
    """A change's reason names the volunteer whose time off started its chain, or says it
    is for the balance of the load (or fills a seat that was empty)."""
    if entry["reason_code"] in ("balance", "fill_empty"):
        return True
    if entry["reason_code"] == "time_off":
        return entry["volunteer"] in caused
    cause = entry.get("cause") or {}
    root = cause.get("root", cause)
    return root.get("code") in ("balance", "empty") or root.get("volunteer") in caused


def run_base(tier: str, seed: int, time_limit: float) -> dict:
    """The roster to repair: fairest mode, three times the tier's budget (so that it is at
    its floor, as a published roster would be, even on a busy machine)."""
    instance = make_instance(tier, seed)
    outcome = solve(instance, mode="fairest", time_limit=3 * time_limit)
    return {"assignments": outcome["assignments"], "metrics": outcome["metrics"]}


REPAIR_HEADER = (
    "| tier | seed | k | mode | changes | ≤ 2k+2 | people moved | spread h | floor h "
    "| within tol | unfilled | reasons | total s | peak RSS MB | violations |"
)


def repair_main(plan, ks: list[int], tolerance: float, save: Path | None) -> int:
    print(
        f"Repair benchmark on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} "
        f"at start; tolerance {tolerance:g} h; k = {', '.join(map(str, ks))}"
    )
    print(
        "Each seed: a fairest roster (3 × the tier's budget) is `previous`; k of its assignments "
        "become time off; rebuilt in repair and in fairest mode with the same budget. "
        "changes: symmetric difference with previous; within tol: spread ≤ floor + "
        "tolerance; reasons: every change's reason names the volunteer whose time off "
        "caused it (or says it balances the load). options: solve_options with the same "
        "budget, each option as changes/people moved/spread/nights-weekends spread."
    )
    print()
    print(REPAIR_HEADER)
    print("|" + "---|" * (REPAIR_HEADER.count("|") - 1))
    context = multiprocessing.get_context("spawn")
    results = []
    failures = 0
    for tier, seeds, limit in plan:
        for seed in seeds:
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                base = pool.submit(run_base, tier, seed, limit).result()
            bm = base["metrics"]
            print(
                f"| {tier} | {seed} | 0 | previous | — | | | {bm['spread_hours']:.1f} "
                f"| {bm['spread_floor_hours']:.1f} | | {bm['unfilled_seats']} | | "
                f"{bm['seconds']:.2f} | | |",
                flush=True,
            )
            for k in ks:
                for mode in ("repair", "fairest", "options"):
                    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                        r = pool.submit(
                            run_repair, tier, seed, k, mode, limit, tolerance, base["assignments"]
                        ).result()
                    results.append(r)
                    if mode == "options":
                        lines = "; ".join(
                            f"{key} {o['changes']} changes/{o['moved_volunteers']} moved/"
                            f"{o['spread_hours']:.0f} h/{o['night_spread']}-{o['weekend_spread']}"
                            for key, o in r["options"]
                        )
                        left = f" (left out: {', '.join(r['notes'])})" if r["notes"] else ""
                        print(
                            f"| {tier} | {seed} | {k} | options | {lines}{left} | | | | | | | "
                            f"| {r['wall_seconds']:.2f} | {r['max_rss_mb']:.0f} "
                            f"| {r['violations']} |",
                            flush=True,
                        )
                        continue
                    m = r["metrics"]
                    within = m["spread_hours"] <= m["spread_floor_hours"] + tolerance + 1e-9
                    small = m["changes"] <= 2 * k + 2
                    if mode == "repair" and (not small or not within or r["violations"]):
                        failures += 1
                    print(
                        f"| {tier} | {seed} | {k} | {mode} | {m['changes']} "
                        f"| {'yes' if small else 'no'} | {m['moved_volunteers']} "
                        f"| {m['spread_hours']:.1f} | {m['spread_floor_hours']:.1f} "
                        f"| {'yes' if within else 'no'} | {m['unfilled_seats']} "
                        f"| {'named' if r['reasons_named'] else 'NOT named'} "
                        f"| {r['wall_seconds']:.2f} | {r['max_rss_mb']:.0f} | {r['violations']} |",
                        flush=True,
                    )
    print()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if save:
        save.mkdir(parents=True, exist_ok=True)
        (save / "roster-repair.json").write_text(json.dumps(results, indent=2, default=str))
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tiers",
        default=None,
        help=f"comma-separated tiers of {', '.join(TIERS)} (default {DEFAULT_TIERS}; "
        "with --repair, S)",
    )
    parser.add_argument(
        "--seeds",
        default=None,
        help="e.g. 1-5 or 1,3 (default: 1-5 for S and T, 1 for L, XL and P)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="CP-SAT budget per run (default S/T 10, L and XL 60, P 120)",
    )
    parser.add_argument(
        "--repair",
        action="store_true",
        help="measure repair mode against fairest mode after k assignments become time off",
    )
    parser.add_argument(
        "--k", default="1,2,5", help="with --repair: assignments taken off (default 1,2,5)"
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=12.0,
        help="with --repair: spread tolerance in hours (default 12)",
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
    tiers_text = args.tiers or ("S" if args.repair else DEFAULT_TIERS)
    tiers = [t.strip().upper() for t in tiers_text.split(",") if t.strip()]
    for tier in tiers:
        if tier not in TIERS:
            parser.error(f"unknown tier {tier!r} (known: {', '.join(TIERS)})")

    plan = []
    for tier in tiers:
        if args.seeds:
            seeds = _seeds(args.seeds)
        else:
            seeds = [1] if tier in ("L", "XL", "P") else [1, 2, 3, 4, 5]
        limit = args.time_limit or TIERS[tier]["time_limit"]
        plan.append((tier, seeds, limit))
    if args.repair:
        return repair_main(plan, [int(k) for k in args.k.split(",")], args.tolerance, args.save)
    print(
        f"Roster benchmark: greedy vs staged CP-SAT (num_workers=2, seed 0) on "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
    )
    for tier, seeds, limit in plan:
        print(f"  {tier}: seeds {','.join(map(str, seeds))}, CP-SAT budget {limit:g} s")
    if any(t in tiers for t in ("L", "XL", "P")) and not args.seeds:
        print("  (L, XL and P run seed 1 only by default; --seeds 1-5 runs all five)")
    print()
    print(
        "unfilled: empty seats; proven: coverage optimum proven, and when; spread h: sum over "
        "roles of max − min assigned hours; floor h: the counting lower bound; t→goal s: first "
        "time the spread reached the goal (the floor; L: 18 h; P: the floor + 12 h); nights/wkd: night and weekend "
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
