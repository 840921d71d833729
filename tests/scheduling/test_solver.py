"""The pure roster solver: hard rules, stages, explanations, CLI. No database needed."""

import datetime as dt
import json
import random
import subprocess
import sys
import zoneinfo
from pathlib import Path

import pytest

from scheduling.solver import (
    InstanceError,
    Violation,
    check_solution,
    cpsat,
    parse_instance,
    render_reason,
    solve,
    solve_greedy,
)
from scheduling.solver.__main__ import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = "Asia/Shanghai"
LONDON = "Europe/London"
FAST = 2.0  # seconds: tiny instances solve to optimality long before this


def at(day: int, hour: int, minute: int = 0, *, month: int = 3, tz: str = SHANGHAI) -> str:
    """ISO time on 2025-<month>-<day> local; 2025-03-03 is a Monday."""
    return dt.datetime(2025, month, day, hour, minute, tzinfo=zoneinfo.ZoneInfo(tz)).isoformat()


def shift(id, starts_at, ends_at, *, counsellor=1, family_educator=0, supervisor=0, crisis=0):
    return {
        "id": id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "requirements": {
            "counsellor": counsellor,
            "family_educator": family_educator,
            "supervisor": supervisor,
        },
        "crisis_trained_required": crisis,
    }


def vol(id, *, roles=("counsellor",), trained=False, per_week=5, available=None, **wishes):
    v = {
        "id": id,
        "roles": list(roles),
        "crisis_trained": trained,
        "max_shifts_per_week": per_week,
        "preferred": list(wishes.get("preferred", ())),
        "undesired": list(wishes.get("undesired", ())),
    }
    if available is not None:
        v["available"] = list(available)
    return v


def instance(shifts, volunteers, *, tz=SHANGHAI, rest=11, **extra):
    return {
        "time_zone": tz,
        "min_rest_hours": rest,
        "shifts": shifts,
        "volunteers": volunteers,
        **extra,
    }


def pairs(result):
    return sorted((a["shift"], a["volunteer"]) for a in result["assignments"])


def solved(inst, **kw):
    """Solve with CP-SAT and insist on a clean roster, as every test should."""
    result = solve(inst, time_limit=kw.pop("time_limit", FAST), **kw)
    assert check_solution(inst, result["assignments"]) == []
    return result


def only_unfilled(result):
    assert len(result["unfilled"]) == 1, result["unfilled"]
    return result["unfilled"][0]


# --- each hard rule inside the solver ---------------------------------------------------


def test_role_not_held_leaves_seat_unfilled():
    inst = instance(
        [shift("s1", at(3, 8), at(3, 14), counsellor=0, family_educator=1)],
        [vol("c1", roles=("counsellor",))],
    )
    result = solved(inst)
    assert result["assignments"] == []
    entry = only_unfilled(result)
    assert (entry["role"], entry["count"], entry["reason_code"]) == (
        "family_educator",
        1,
        "no_role_holder",
    )
    assert entry["reason"] == (
        "Mon 2025-03-03 08:00–14:00: no volunteer holds the role family-education expert"
    )


def test_crisis_minimum_is_hard_inside_the_counsellor_seats():
    # Two counsellor seats, one of which needs crisis training; nobody trained: the
    # untrained counsellors may take one seat only, the other stays empty.
    inst = instance(
        [shift("s1", at(4, 20), at(5, 8), counsellor=2, crisis=1)],
        [vol("u1"), vol("u2")],
    )
    result = solved(inst)
    assert len(result["assignments"]) == 1
    entry = only_unfilled(result)
    assert entry["crisis_trained"] is True
    assert entry["reason_code"] == "no_crisis_trained"
    assert (
        entry["reason"] == "Tue 2025-03-04 20:00–08:00: no crisis-trained counsellor is available"
    )
    assert result["metrics"]["unfilled_seats"] == 1


def test_crisis_seat_goes_to_the_trained_counsellor():
    inst = instance(
        [shift("s1", at(3, 8), at(3, 14), counsellor=2, crisis=1)],
        [vol("u1"), vol("u2"), vol("t1", trained=True)],
    )
    result = solved(inst)
    assert "t1" in {a["volunteer"] for a in result["assignments"]}
    assert result["metrics"]["unfilled_seats"] == 0


def test_overlapping_shifts_not_both_taken():
    inst = instance(
        [shift("a", at(3, 8), at(3, 14)), shift("b", at(3, 12), at(3, 18))],
        [vol("c1")],
        rest=0,
    )
    result = solved(inst)
    assert len(result["assignments"]) == 1
    entry = only_unfilled(result)
    assert entry["reason_code"] == "overlap"
    assert "the only eligible counsellor is already on an overlapping shift" in entry["reason"]


def test_minimum_rest_between_shifts():
    inst = instance(
        [shift("a", at(3, 8), at(3, 14)), shift("b", at(3, 20), at(3, 23))],
        [vol("c1")],
        rest=11,
    )
    result = solved(inst)
    assert len(result["assignments"]) == 1
    entry = only_unfilled(result)
    assert entry["reason_code"] == "rest"
    assert entry["reason"].endswith("the only eligible counsellor would break the minimum rest")


def test_back_to_back_only_when_allowed():
    shifts = [shift("a", at(3, 8), at(3, 14)), shift("b", at(3, 14), at(3, 20))]
    refused = solved(instance(shifts, [vol("c1")], rest=11))
    assert len(refused["assignments"]) == 1
    assert only_unfilled(refused)["reason_code"] == "rest"
    allowed = solved(instance(shifts, [vol("c1")], rest=11, allow_back_to_back=True))
    assert pairs(allowed) == [("a", "c1"), ("b", "c1")]


def test_weekly_limit():
    inst = instance(
        [shift("mon", at(3, 8), at(3, 14)), shift("wed", at(5, 8), at(5, 14))],
        [vol("c1", per_week=1), vol("c2", per_week=1, available=["mon"])],
    )
    result = solved(inst)
    # c2 can only do Monday, so c1 must do Wednesday; each at their limit.
    assert pairs(result) == [("mon", "c2"), ("wed", "c1")]

    inst = instance(
        [shift("mon", at(3, 8), at(3, 14)), shift("wed", at(5, 8), at(5, 14))],
        [vol("c1", per_week=1)],
    )
    entry = only_unfilled(solved(inst))
    assert entry["reason_code"] == "weekly_limit"
    assert entry["reason"].endswith("the only eligible counsellor reaches their weekly limit")


def test_unavailable_volunteer_not_used():
    inst = instance([shift("s1", at(3, 8), at(3, 14))], [vol("c1", available=[])])
    result = solved(inst)
    assert result["assignments"] == []
    entry = only_unfilled(result)
    assert entry["reason_code"] == "none_available"
    assert entry["reason"] == "Mon 2025-03-03 08:00–14:00: no counsellor is available"


def test_capacity_never_exceeded():
    inst = instance(
        [shift("s1", at(3, 8), at(3, 14), counsellor=2)], [vol(f"c{i}") for i in range(5)]
    )
    result = solved(inst)
    assert len(result["assignments"]) == 2
    assert result["unfilled"] == []


def test_one_role_per_volunteer_per_shift():
    inst = instance(
        [shift("s1", at(3, 8), at(3, 14), counsellor=1, family_educator=1)],
        [vol("both", roles=("counsellor", "family_educator"))],
    )
    result = solved(inst)
    assert len(result["assignments"]) == 1
    entry = only_unfilled(result)
    assert entry["reason_code"] == "same_shift"
    assert "already on this shift in another role" in entry["reason"]


# --- fixed assignments, outside time, previous version ---------------------------------


def test_fixed_assignments_kept_and_counted():
    shifts = [
        shift("mon", at(3, 8), at(3, 14)),
        shift("tue", at(4, 8), at(4, 14)),
        shift("mon_eve", at(3, 20), at(3, 23)),
    ]
    inst = instance(
        shifts,
        # "locked" is not available on Monday: a coordinator's override, kept as given.
        [vol("locked", per_week=2, available=["tue", "mon_eve"]), vol("other", per_week=1)],
        fixed=[{"shift": "mon", "volunteer": "locked", "role": "counsellor"}],
    )
    result = solve(inst, time_limit=FAST)
    fixed = [a for a in result["assignments"] if a["fixed"]]
    assert fixed == [{"shift": "mon", "volunteer": "locked", "role": "counsellor", "fixed": True}]
    # Capacity: nobody else on Monday. Rest: "locked" cannot do Monday evening, so "other"
    # does; weekly limit: "locked" has one shift left that week, "other" none.
    assert pairs(result) == [("mon", "locked"), ("mon_eve", "other"), ("tue", "locked")]
    assert check_solution(inst, result["assignments"], ignore_fixed=True) == []
    assert check_solution(inst, result["assignments"]) == [
        Violation("unavailable", "mon", "locked")
    ]


def test_busy_elsewhere_counts_for_overlap_rest_and_weekly_limit():
    inst = instance(
        [
            shift("a", at(3, 8), at(3, 14)),
            shift("b", at(5, 8), at(5, 14)),
            shift("c", at(10, 8), at(10, 14)),
        ],
        [vol("c1", per_week=2)],
        busy=[
            {"volunteer": "c1", "starts_at": at(3, 12), "ends_at": at(3, 16)},
            {"volunteer": "c1", "starts_at": at(6, 8), "ends_at": at(6, 9)},
            {"volunteer": "c1", "starts_at": at(10, 20), "ends_at": at(10, 22)},
        ],
    )
    result = solved(inst)
    assert result["assignments"] == []
    reasons = {e["shift"]: e["reason_code"] for e in result["unfilled"]}
    # a overlaps the busy time; b is the third shift of the week with the two busy spans
    # (b is fine on rest: 18 h before the busy hour); c is 6 h before busy time.
    assert reasons == {"a": "overlap", "b": "weekly_limit", "c": "rest"}


def test_back_to_back_with_busy_time_only_on_the_same_hotline():
    def inst(same_hotline):
        busy = {"volunteer": "c1", "starts_at": at(3, 8), "ends_at": at(3, 14)}
        return instance(
            [shift("s1", at(3, 14), at(3, 20))],
            [vol("c1")],
            allow_back_to_back=True,
            busy=[{**busy, "same_hotline": same_hotline}],
        )

    assert pairs(solved(inst(True))) == [("s1", "c1")]
    assert only_unfilled(solved(inst(False)))["reason_code"] == "rest"


def test_rebuild_keeps_previous_assignments():
    inst = instance(
        [shift("s1", at(3, 8), at(3, 14))],
        [vol("c1"), vol("c2")],
        previous=[{"shift": "s1", "volunteer": "c2", "role": "counsellor"}],
    )
    result = solved(inst)
    assert pairs(result) == [("s1", "c2")]
    assert result["metrics"]["changes"] == 0


def test_preferred_and_undesired_slots():
    inst = instance(
        [shift("a", at(3, 8), at(3, 14)), shift("b", at(3, 8), at(3, 14), counsellor=1)],
        [vol("c1", preferred=["b"], undesired=["a"]), vol("c2", undesired=["b"])],
    )
    result = solved(inst)
    assert pairs(result) == [("a", "c2"), ("b", "c1")]
    assert result["metrics"]["preferred"] == 1
    assert result["metrics"]["undesired"] == 0


# --- time zones -------------------------------------------------------------------------


def test_weekly_limit_follows_the_local_week():
    # Monday 02:00 in Shanghai is Sunday 18:00 UTC: a UTC week would split these two.
    same_week = instance(
        [shift("mon_early", at(3, 2), at(3, 6)), shift("mon_late", at(3, 20), at(3, 23))],
        [vol("c1", per_week=1)],
    )
    result = solved(same_week)
    assert len(result["assignments"]) == 1
    assert only_unfilled(result)["reason_code"] == "weekly_limit"

    # Sunday 20:00 and Monday 20:00 local: two weeks, both shifts for one volunteer.
    across = instance(
        [shift("sun", at(2, 20), at(2, 23)), shift("mon", at(3, 20), at(3, 23))],
        [vol("c1", per_week=1)],
    )
    assert pairs(solved(across)) == [("mon", "c1"), ("sun", "c1")]


def test_dst_week_uses_elapsed_time():
    # Europe/London springs forward on Sunday 2025-03-30: the Saturday night shift lasts
    # 11 hours, and Saturday 20:00 → Sunday 08:00 is 12 wall-clock hours but 11 real ones.
    sat_night = shift("sat_night", at(29, 20, tz=LONDON), at(30, 8, tz=LONDON))
    fri_night = shift("fri_night", at(28, 20, tz=LONDON), at(29, 8, tz=LONDON))
    inst = instance(
        [sat_night, fri_night],
        [vol("a", available=["sat_night"]), vol("b", available=["fri_night"])],
        tz=LONDON,
    )
    assert solved(inst)["metrics"]["spread_hours"] == 1.0

    day = shift("sat_day", at(29, 14, tz=LONDON), at(29, 20, tz=LONDON))
    sun = shift("sun_day", at(30, 8, tz=LONDON), at(30, 14, tz=LONDON))
    result = solved(instance([day, sun], [vol("c1")], tz=LONDON, rest=12))
    assert len(result["assignments"]) == 1
    entry = only_unfilled(result)
    assert entry["reason_code"] == "rest"
    # Sunday is the last day of the week that began on Monday 24 March; Monday 31st is new.
    week = instance(
        [
            shift("sun", at(30, 20, tz=LONDON), at(30, 23, tz=LONDON)),
            shift("mon", at(31, 20, tz=LONDON), at(31, 23, tz=LONDON)),
        ],
        [vol("c1", per_week=1)],
        tz=LONDON,
    )
    assert len(solved(week)["assignments"]) == 2


def test_shift_crossing_midnight():
    night = shift("night", at(4, 20), at(5, 8))
    morning = shift("morning", at(5, 8), at(5, 14))
    result = solved(instance([night, morning], [vol("c1")]))
    assert len(result["assignments"]) == 1
    entry = only_unfilled(result)
    assert entry["reason_code"] == "rest"
    # Explanations use local times, across midnight.
    assert entry["reason"].startswith(("Tue 2025-03-04 20:00–08:00", "Wed 2025-03-05 08:00–14:00"))
    # The night shift counts as a night for fairness; two volunteers share the nights.
    nights = solved(
        instance(
            [night, shift("night2", at(5, 20), at(6, 8))],
            [vol("c1", per_week=1), vol("c2", per_week=1)],
        )
    )
    assert nights["metrics"]["night_spread"] == 0


# --- explanations -----------------------------------------------------------------------


def test_mixed_reasons_are_counted_per_rule():
    target = shift("target", at(4, 20), at(5, 8))
    inst = instance(
        [
            target,
            shift("overlap", at(4, 22), at(4, 23), counsellor=1),
            shift("early", at(4, 8), at(4, 14), counsellor=2),
        ],
        [
            vol("away1", available=["early"]),
            vol("away2", available=[]),
            vol("away3", available=[]),
            vol("rest1", available=["early", "target"]),
            vol("rest2", available=["early", "target"]),
            vol("busy1", available=["overlap", "target"]),
        ],
        fixed=[
            {"shift": "early", "volunteer": "rest1", "role": "counsellor"},
            {"shift": "early", "volunteer": "rest2", "role": "counsellor"},
            {"shift": "overlap", "volunteer": "busy1", "role": "counsellor"},
        ],
    )
    result = solved(inst)
    entry = only_unfilled(result)
    assert entry["shift"] == "target"
    assert entry["reason_code"] == "mixed"
    assert entry["counts"] == {"unavailable": 3, "overlap": 1, "rest": 2}
    assert entry["reason"] == (
        "Tue 2025-03-04 20:00–08:00: of 6 counsellors, 3 are unavailable, "
        "1 is already on an overlapping shift, 2 would break the minimum rest"
    )


def test_all_eligible_at_weekly_limit_sentence():
    shifts = [shift(f"d{d}", at(d, 8), at(d, 14), counsellor=2) for d in (3, 4)]
    inst = instance(
        shifts,
        [vol("c1", per_week=1), vol("c2", per_week=1), vol("away", available=[])],
        fixed=[
            {"shift": "d3", "volunteer": "c1", "role": "counsellor"},
            {"shift": "d3", "volunteer": "c2", "role": "counsellor"},
        ],
    )
    entry = only_unfilled(solved(inst))
    assert (entry["shift"], entry["count"], entry["reason_code"]) == ("d4", 2, "weekly_limit")
    assert entry["counts"] == {"unavailable": 1, "weekly_limit": 2}
    assert entry["reason"] == (
        "Tue 2025-03-04 08:00–14:00: all 2 eligible counsellors reach their weekly limit"
    )


def test_render_reason_goes_through_gettext_with_named_placeholders():
    entry = {
        "role": "counsellor",
        "count": 1,
        "crisis_trained": False,
        "reason_code": "weekly_limit",
        "counts": {"unavailable": 1, "weekly_limit": 6},
        "candidates": 7,
        "starts_at": "2025-03-04T20:00:00+08:00",
        "ends_at": "2025-03-05T08:00:00+08:00",
    }
    catalogue = {
        "Tue": "周二",
        "%(weekday)s %(date)s %(start)s–%(end)s": "%(date)s（%(weekday)s）%(start)s–%(end)s",
        "%(when)s: all %(count)d eligible %(roles)s reach their weekly limit": (
            "%(when)s：%(count)d 名符合条件的%(roles)s都已达到每周上限"
        ),
        "counsellors": "咨询师",
    }
    seen = []

    def gettext(message):
        seen.append(message)
        return catalogue.get(message, message)

    text = render_reason(entry, gettext=gettext)
    assert text == "2025-03-04（周二）20:00–08:00：6 名符合条件的咨询师都已达到每周上限"

    def ngettext(singular, plural, n):
        return f"[{n}]" + (singular if n == 1 else plural)

    assert render_reason(entry, ngettext=ngettext).startswith(
        "[6]Tue 2025-03-04 20:00–08:00: all 6 eligible [6]counsellors"
    )


# --- the staged objective -----------------------------------------------------------------


def small_roster(seed: int, *, weeks: int = 1, counsellors: int = 10, experts: int = 4, **opts):
    """A seeded hotline-shaped instance: three shifts a day, crisis seats, wishes."""
    rng = random.Random(seed)
    tz = opts.get("tz", SHANGHAI)
    shifts = []
    for d in range(weeks * 7):
        day = 3 + d
        for start, end in ((8, 14), (14, 20), (20, 8)):
            end_day = day + (end < start)
            shifts.append(
                shift(
                    f"{d}-{start}",
                    at(day, start, tz=tz),
                    at(end_day, end, tz=tz),
                    counsellor=opts.get("per_shift", 2),
                    crisis=1,
                    family_educator=0 if start == 20 else 1,
                )
            )
    ids = [s["id"] for s in shifts]
    volunteers = []
    for i in range(counsellors + experts):
        roles = ["counsellor"] if i < counsellors else ["family_educator"]
        if opts.get("multi_role") and i % 5 == 0:
            roles = ["counsellor", "family_educator"]
        available = rng.sample(ids, round(opts.get("availability", 0.6) * len(ids)))
        wishes = rng.sample(available, len(available))
        volunteers.append(
            vol(
                f"v{i}",
                roles=roles,
                trained=i < counsellors and rng.random() < 0.3,
                per_week=opts.get("per_week", 3),
                available=available,
                preferred=wishes[: len(wishes) // 4],
                undesired=wishes[len(wishes) // 4 : len(wishes) // 4 + len(wishes) // 7],
            )
        )
    inst = instance(shifts, volunteers, tz=tz, rest=opts.get("rest", 11))
    inst["allow_back_to_back"] = opts.get("back_to_back", False)
    if opts.get("busy"):
        inst["busy"] = [
            {"volunteer": f"v{i}", "starts_at": at(4, 9), "ends_at": at(4, 13)}
            for i in range(0, counsellors, 3)
        ]
    if opts.get("fixed"):
        # Lock a few greedy picks, as a coordinator would by hand.
        picks = solve_greedy(inst)["assignments"]
        inst["fixed"] = [
            {k: a[k] for k in ("shift", "volunteer", "role")}
            for a in picks[:: max(1, len(picks) // 4)]
        ]
    return inst


def test_stages_improve_fairness_over_greedy():
    inst = small_roster(7, weeks=2, counsellors=12, experts=6)
    greedy = solve_greedy(inst)["metrics"]
    progress = []
    # A wall-clock budget: generous, so that a machine busy with a parallel run still gets there.
    cp = solved(inst, time_limit=5, progress=lambda stage, done: progress.append(stage))["metrics"]
    assert progress == [
        "coverage",
        "fairness_hours",
        "fairness_nights_weekends",
        "preferences",
        "done",
    ]
    assert cp["unfilled_seats"] <= greedy["unfilled_seats"]
    assert cp["spread_hours"] < greedy["spread_hours"]
    assert cp["spread_hours"] >= cp["spread_floor_hours"]
    assert [s["stage"] for s in cp["stages"]] == [
        "coverage",
        "fairness_hours",
        "fairness_nights_weekends",
        "preferences",
    ]


@pytest.mark.parametrize("seed", range(20))
def test_random_instances_have_no_violations(seed):
    rng = random.Random(seed)
    inst = small_roster(
        seed,
        counsellors=rng.randint(3, 10),
        experts=rng.randint(0, 4),
        availability=rng.choice([0.3, 0.6, 0.9]),
        per_week=rng.randint(1, 4),
        rest=rng.choice([0, 8, 11, 12]),
        back_to_back=rng.random() < 0.3,
        multi_role=rng.random() < 0.5,
        fixed=rng.random() < 0.4,
        busy=rng.random() < 0.4,
        tz=rng.choice([SHANGHAI, LONDON, "America/New_York"]),
    )
    for result in (solve_greedy(inst), solve(inst, time_limit=0.5, seed=seed)):
        assert check_solution(inst, result["assignments"]) == []
        m = result["metrics"]
        assert m["assigned_seats"] + m["unfilled_seats"] == m["total_seats"]
        assert all(e["reason"] for e in result["unfilled"])


@pytest.mark.parametrize(
    ("seed", "mode"), [(s, m) for s in range(4) for m in ("fairest", "repair")]
)
def test_neighbourhood_search_keeps_every_rule(seed, mode, monkeypatch):
    # Big rosters go through CP-SAT on sub-models after coverage; force that path here.
    monkeypatch.setattr(cpsat, "LARGE_MODEL", 0)
    inst = small_roster(seed, weeks=2, counsellors=9, experts=3, fixed=seed % 2 == 0, busy=True)
    greedy = solve_greedy(inst)
    inst["previous"] = [
        {k: a[k] for k in ("shift", "volunteer", "role")} for a in greedy["assignments"][::3]
    ]
    result = solve(inst, time_limit=1.0, seed=seed, mode=mode)
    m = result["metrics"]
    assert m["method"].startswith("cp-sat sub-models")
    stages = [s["stage"] for s in m["stages"]]
    assert stages[-1] == ("stability" if mode == "fairest" else "preferences")
    assert ("changes" in stages) == (mode == "repair")
    assert check_solution(inst, result["assignments"]) == []
    assert m["unfilled_seats"] <= greedy["metrics"]["unfilled_seats"]
    if m["unfilled_seats"] == greedy["metrics"]["unfilled_seats"]:
        assert m["spread_hours"] <= greedy["metrics"]["spread_hours"]


def test_check_solution_finds_each_violation():
    inst = instance(
        [
            shift("a", at(3, 8), at(3, 14), counsellor=1, crisis=1),
            shift("b", at(3, 12), at(3, 18), counsellor=1),
            shift("c", at(3, 20), at(3, 23), counsellor=1),
            shift("d", at(4, 8), at(4, 14), counsellor=1),
        ],
        [
            vol("u1", per_week=2, available=["a", "b", "d"]),
            vol("u2", roles=("family_educator",)),
            vol("u3"),
        ],
    )
    assignments = [
        ("a", "u1", "counsellor"),  # untrained on the crisis seat
        ("b", "u1", "counsellor"),  # overlaps a
        ("c", "u1", "counsellor"),  # unavailable, rest after b, third shift of the week
        ("a", "u2", "counsellor"),  # role not held; capacity beyond 1
        ("d", "u3", "counsellor"),
    ]
    found = check_solution(inst, assignments)
    assert set(found) == {
        Violation("crisis_training", "a", "u1"),
        Violation("overlap", "b", "u1"),
        Violation("unavailable", "c", "u1"),
        Violation("rest", "c", "u1"),
        Violation("weekly_limit", "c", "u1"),
        Violation("role", "a", "u2"),
        Violation("capacity", "a", "u2"),
        Violation("crisis_training", "a", "u2"),
    }


def test_no_volunteers_gives_a_result_not_an_exception():
    inst = instance([shift("s1", at(3, 8), at(3, 14), counsellor=2, crisis=1)], [])
    result = solve(inst, time_limit=FAST)
    assert result["assignments"] == []
    assert result["metrics"]["unfilled_seats"] == 2
    assert {e["reason_code"] for e in result["unfilled"]} == {"no_crisis_trained", "no_role_holder"}


# --- validation and the CLI ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["shifts"][1].update(ends_at="2025-03-03T14:00:00"),
            "shifts[1].ends_at: not an ISO 8601 datetime with offset",
        ),
        (
            lambda d: d["shifts"][0].update(ends_at=at(3, 7)),
            "shifts[0].ends_at: must be after starts_at",
        ),
        (
            lambda d: d["shifts"][0]["requirements"].update(pilot=1),
            "shifts[0].requirements.pilot: unknown role",
        ),
        (
            lambda d: d["shifts"][0]["requirements"].update(counsellor=-1),
            "shifts[0].requirements.counsellor: must be a non-negative integer",
        ),
        (lambda d: d["shifts"][1].update(id="a"), "shifts[1].id: duplicate id 'a'"),
        (
            lambda d: d["volunteers"][0].update(available=["zzz"]),
            "volunteers[0].available[0]: unknown shift id 'zzz'",
        ),
        (
            lambda d: d["volunteers"][0].pop("max_shifts_per_week"),
            "volunteers[0].max_shifts_per_week: required",
        ),
        (
            lambda d: d["volunteers"][0].update(roles=["pilot"]),
            "volunteers[0].roles[0]: unknown role",
        ),
        (lambda d: d.update(time_zone="Mars/Olympus"), "time_zone: unknown time zone"),
        (
            lambda d: d.update(fixed=[{"shift": "a", "volunteer": "nobody", "role": "counsellor"}]),
            "fixed[0].volunteer: unknown volunteer id",
        ),
    ],
)
def test_bad_instance_names_the_field(change, message, tmp_path, capsys):
    data = instance(
        [shift("a", at(3, 8), at(3, 14)), shift("b", at(3, 14), at(3, 20))], [vol("c1")]
    )
    change(data)
    with pytest.raises(InstanceError) as caught:
        parse_instance(data)
    assert str(caught.value).startswith(message)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    assert cli_main([str(path)]) == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_malformed_json(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text('{"time_zone": ')
    assert cli_main([str(path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "scheduling.solver", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_prints_result_json_and_greedy(tmp_path):
    path = tmp_path / "roster.json"
    path.write_text(json.dumps(small_roster(1)))
    done = run_cli(str(path), "--time-limit", "2")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"assignments", "unfilled", "metrics"}
    assert result["metrics"]["solver"] == "cp-sat"
    greedy = run_cli(str(path), "--greedy")
    assert greedy.returncode == 0, greedy.stderr
    assert json.loads(greedy.stdout)["metrics"]["solver"] == "greedy"


def test_cli_exit_code_2_on_bad_field(tmp_path):
    data = small_roster(1)
    data["shifts"][3]["ends_at"] = "tomorrow"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    done = run_cli(str(path))
    assert done.returncode == 2
    assert "shifts[3].ends_at: not an ISO 8601 datetime with offset" in done.stderr
    assert done.stdout == ""


def test_solver_imports_without_django():
    code = "import sys, scheduling.solver; assert 'django' not in sys.modules"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
