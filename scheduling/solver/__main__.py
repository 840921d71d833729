"""``python -m scheduling.solver INSTANCE.json [--time-limit SECONDS] [--greedy]
[--mode repair|fairest] [--spread-tolerance HOURS] [--options]``.

Prints the result JSON on stdout (with ``--options``, the options JSON of
`solve_options`). A malformed instance prints one line naming the field on stderr and
exits with status 2 (as argparse does for bad options).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

from scheduling.solver.cpsat import DEFAULT_SPREAD_TOLERANCE, MODES, solve, solve_greedy
from scheduling.solver.instance import InstanceError, load_instance
from scheduling.solver.options import solve_options


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scheduling.solver",
        description="Build a shift roster from an instance JSON file (use - for stdin).",
    )
    parser.add_argument("instance", help="instance JSON file, or - for stdin")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="time budget for the whole CP-SAT solve, shared by its stages (default 10)",
    )
    parser.add_argument("--greedy", action="store_true", help="greedy baseline only, no CP-SAT")
    parser.add_argument("--seed", type=int, default=0, help="CP-SAT random seed (default 0)")
    parser.add_argument(
        "--mode",
        choices=MODES,
        default=None,
        help="repair: fewest changes against `previous` within the spread tolerance; "
        "fairest: fairness first (default: repair when the instance has `previous`)",
    )
    parser.add_argument(
        "--spread-tolerance",
        type=float,
        default=DEFAULT_SPREAD_TOLERANCE,
        metavar="HOURS",
        help="repair mode: hours the load spread may stay above its floor "
        f"(default {DEFAULT_SPREAD_TOLERANCE:g})",
    )
    parser.add_argument(
        "--options",
        action="store_true",
        help="print up to three rosters to choose from (fewest changes, balanced, fairest)",
    )
    args = parser.parse_args(argv)
    if args.time_limit <= 0:
        parser.error("--time-limit must be positive")
    if not math.isfinite(args.spread_tolerance) or args.spread_tolerance < 0:
        parser.error("--spread-tolerance must be a number of hours, 0 or more")
    if args.greedy and (args.options or args.mode):
        parser.error("--greedy cannot be combined with --mode or --options")

    try:
        if args.instance == "-":
            text = sys.stdin.read()
        else:
            with open(args.instance, encoding="utf-8") as handle:
                text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.instance}: {exc}", file=sys.stderr)
        return 2
    try:
        instance = load_instance(text)
    except InstanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.greedy:
        outcome = solve_greedy(instance)
    elif args.options:
        outcome = solve_options(
            instance,
            spread_tolerance=args.spread_tolerance,
            time_limit=args.time_limit,
            seed=args.seed,
        )
    else:
        outcome = solve(
            instance,
            mode=args.mode,
            spread_tolerance=args.spread_tolerance,
            time_limit=args.time_limit,
            seed=args.seed,
        )
    try:
        json.dump(outcome, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # Piped into `head` and the like: their choice, not our error. Point stdout at
        # devnull so the interpreter's final flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
