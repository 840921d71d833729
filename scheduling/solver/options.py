"""Choices side by side: up to three rebuilds within the time limit of one.

A coordinator may rather see the trade-off between moving few people and a fair load than
trust one number: `solve_options` runs the coverage stage once, then repair mode with the
tolerance (``fewest_changes``), with half of it (``balanced``) and the fairest order
(``fairest``), each from the shared covered roster, and leaves out any option another one
beats (as fair or fairer with no more changes), saying why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from scheduling.solver.cpsat import (
    DEFAULT_SPREAD_TOLERANCE,
    FAIREST,
    REPAIR,
    REPAIR_SHARES,
    REPAIR_STAGES,
    STAGE_SHARES,
    Progress,
    _Build,
    _extra,
    tolerance_units,
)
from scheduling.solver.facts import prepare
from scheduling.solver.greedy import repaired
from scheduling.solver.instance import Instance, as_instance

# Options, in the order a coordinator sees them, and each one's share of the time left
# after the shared coverage stage.
FEWEST_CHANGES = "fewest_changes"
BALANCED = "balanced"
NO_CHANGE = "no_change"
OPTION_SHARES = {FEWEST_CHANGES: 0.4, BALANCED: 0.25, FAIREST: 0.35}


def render_note(note: Mapping[str, Any], *, gettext: Callable[[str], str] | None = None) -> str:
    """Why an option is missing, as a sentence (through `gettext` if given)."""
    # Literally `_(...)` so that makemessages extracts each sentence.
    _ = gettext or (lambda message: message)
    labels = {
        FEWEST_CHANGES: _("fewest changes"),
        BALANCED: _("balanced"),
        FAIREST: _("fairest"),
        NO_CHANGE: _("no change needed"),
    }
    params = {
        "option": labels.get(note.get("option"), note.get("option")),
        "by": labels.get(note.get("by"), note.get("by")),
    }
    code = note["code"]
    if code == "no_change_needed":
        return _(
            "Nothing needs to change: every seat that can be filled is, every assignment "
            "still keeps the rules, and the load is within the tolerance."
        )
    if code == "no_previous":
        return _("There is no earlier version to keep: only the fairest roster is offered.")
    if code == "within_half_tolerance":
        return (
            _(
                "The “%(by)s” roster already keeps the hours spread within half the tolerance: "
                "it is the “%(option)s” one too."
            )
            % params
        )
    return (
        _(
            "The “%(option)s” roster is left out: the “%(by)s” one is at least as fair with no "
            "more changes."
        )
        % params
    )


def _summary(built: dict[str, Any]) -> dict[str, Any]:
    m = built["metrics"]
    return {
        "seats_filled": m["assigned_seats"],
        "seats_total": m["total_seats"],
        "unfilled_seats": m["unfilled_seats"],
        "changes": m.get("changes", 0),
        "moved_volunteers": m.get("moved_volunteers", 0),
        "spread_hours": m["spread_hours"],
        "spread_floor_hours": m["spread_floor_hours"],
        "night_spread": m["night_spread"],
        "weekend_spread": m["weekend_spread"],
        "preference_score": m["preference_score"],
    }


def solve_options(
    instance: Instance | Mapping,
    *,
    spread_tolerance: float = DEFAULT_SPREAD_TOLERANCE,
    time_limit: float = 10.0,
    seed: int = 0,
    num_workers: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Up to three rosters to choose from, all within `time_limit`:

    - ``fewest_changes``: repair mode (fewest changes against `previous`, the hours spread
      within `spread_tolerance` hours of its counting floor);
    - ``balanced``: the same within half the tolerance;
    - ``fairest``: the fairest order (spreads, preferences, then fewest changes).

    Coverage is solved once and shared; each option then gets a share of the time left,
    and what one does not use passes to the next (the fairest, whose search is the
    slowest, comes last). Returns ``{"options": [{"key", "assignments", "unfilled",
    "changes", "metrics", "summary"}], "notes": [{"code", "option", "by", "text"}],
    "seconds"}``. An option that is the same roster as another, or beaten by one (as fair
    or fairer with no more changes), is left out and a note says so; when the
    fewest-changes roster changes nothing, the only option is ``no_change``.
    """
    started = time.perf_counter()
    inst = as_instance(instance)
    facts = prepare(inst)
    deadline = started + time_limit
    tolerance = tolerance_units(facts, spread_tolerance)
    half = tolerance_units(facts, spread_tolerance / 2)

    def report(stage: str) -> None:
        if progress is not None:
            done = (time.perf_counter() - started) / max(time_limit, 0.001)
            progress(stage, min(1.0, done) if stage != "done" else 1.0)

    def new_extra() -> dict[str, Any]:
        return _extra(
            facts, time_limit=time_limit, seed=seed, num_workers=num_workers, started=started
        )

    report("coverage")
    shared = new_extra()
    cover = _Build(
        facts,
        started=started,
        deadline=deadline,
        seed=seed,
        num_workers=num_workers,
        extra=shared,
        chosen=list(repaired(facts).chosen),
        shortcut=True,
    )
    if facts.candidates:
        cover.run(("coverage",), REPAIR_SHARES, after=4 * REPAIR_SHARES["coverage"])
    keys = [FEWEST_CHANGES, BALANCED, FAIREST] if facts.previous else [FAIREST]
    notes: list[dict[str, Any]] = [] if facts.previous else [{"code": "no_previous"}]
    built: dict[str, dict[str, Any]] = {}

    def option(
        key: str,
        start: list[int],
        stages: tuple[str, ...],
        mode: str,
        *,
        tolerance: int = 0,
        tolerance_hours: float | None = None,
    ) -> _Build:
        left = keys[keys.index(key) :]
        now = time.perf_counter()
        share = OPTION_SHARES[key] / sum(OPTION_SHARES[k] for k in left)
        report(f"options_{key}")
        extra = new_extra()
        extra["stages"] = list(shared["stages"])
        for name in ("coverage_proven_optimal", "coverage_seconds", "first_full_coverage_seconds"):
            extra[name] = shared.get(name)
        b = _Build(
            facts,
            started=started,
            deadline=now + max(0.0, deadline - now) * share,
            seed=seed,
            num_workers=num_workers,
            extra=extra,
            chosen=list(start),
            shortcut=True,
        )
        b.coverage, b.unfilled = cover.coverage, cover.unfilled
        if cover.coverage is not None:
            b.held.append(("coverage", None, cover.coverage))
        b.spread_tolerance = tolerance
        if facts.candidates:
            b.run(stages, REPAIR_SHARES | STAGE_SHARES)
        extra = {"mode": mode, "option": key}
        if mode == REPAIR:
            extra["spread_tolerance_hours"] = tolerance_hours
        built[key] = b.finish(extra=extra)
        return b

    if facts.previous:
        few = option(
            FEWEST_CHANGES,
            cover.chosen,
            REPAIR_STAGES[1:],
            REPAIR,
            tolerance=tolerance,
            tolerance_hours=spread_tolerance,
        )
        if built[FEWEST_CHANGES]["metrics"]["changes"] == 0:
            built[FEWEST_CHANGES]["metrics"]["option"] = NO_CHANGE
            report("done")
            only = [(NO_CHANGE, built[FEWEST_CHANGES])]
            return _options_out(only, [{"code": "no_change_needed"}], started)
        m = built[FEWEST_CHANGES]["metrics"]
        if m["spread_hours"] <= m["spread_floor_hours"] + half * facts.unit_minutes / 60:
            notes.append(
                {"code": "within_half_tolerance", "option": BALANCED, "by": FEWEST_CHANGES}
            )
            keys.remove(BALANCED)
            fairest_start = few.chosen
        else:
            balanced = option(
                BALANCED,
                few.chosen,
                REPAIR_STAGES[1:],
                REPAIR,
                tolerance=half,
                tolerance_hours=spread_tolerance / 2,
            )
            fairest_start = balanced.chosen
    else:
        fairest_start = cover.chosen
    stages = ("fairness_hours", "fairness_nights_weekends", "preferences")
    if facts.previous:
        stages += ("stability",)
    # From the fairest roster so far: the fairness search gets a head start.
    option(FAIREST, fairest_start, stages, FAIREST)
    kept, dropped = _undominated([k for k in keys if k in built], built)
    notes += dropped
    report("done")
    return _options_out([(k, built[k]) for k in kept], notes, started)


def _fairness(built: dict[str, Any]) -> tuple:
    m = built["metrics"]
    return (m["unfilled_seats"], m["spread_hours"], m["night_spread"] + m["weekend_spread"])


def _undominated(keys: list[str], built: dict[str, dict[str, Any]]):
    """The options no other beats (as fair or fairer with no more changes; of two alike,
    the earlier in `keys` stays), and a note for each one left out."""
    kept, notes = [], []
    for i, key in enumerate(keys):
        by = next(
            (
                other
                for j, other in enumerate(keys)
                if j != i and _beats(built[other], built[key], earlier=j < i)
            ),
            None,
        )
        if by is None:
            kept.append(key)
        else:
            notes.append({"code": "dominated", "option": key, "by": by})
    return kept, notes


def _beats(a: dict[str, Any], b: dict[str, Any], *, earlier: bool) -> bool:
    """`a` is as fair or fairer than `b` with no more changes, and strictly better in one
    (or the same on both and `earlier`)."""
    changes_a = a["metrics"].get("changes", 0)
    changes_b = b["metrics"].get("changes", 0)
    fair_a, fair_b = _fairness(a), _fairness(b)
    if changes_a > changes_b or fair_a > fair_b:
        return False
    if changes_a == changes_b and fair_a == fair_b:
        return earlier
    return True


def _options_out(
    options: list[tuple[str, dict[str, Any]]], notes: list[dict[str, Any]], started: float
) -> dict[str, Any]:
    return {
        "options": [{"key": key, **built, "summary": _summary(built)} for key, built in options],
        "notes": [{**note, "text": render_note(note)} for note in notes],
        "seconds": round(time.perf_counter() - started, 3),
    }
