"""Repair mode, reasons for changes, options, and several hotlines in one instance."""

import json
from pathlib import Path

import pytest

from bench.roster import make_instance, perturb
from scheduling.solver import (
    InstanceError,
    check_solution,
    cpsat,
    options,
    parse_instance,
    render_change,
    solve,
    solve_options,
)
from scheduling.solver.__main__ import main as cli_main
from tests.scheduling.test_solver import at, instance, shift, small_roster, vol

DATA = Path(__file__).resolve().parent / "data"
# Fair S-tier rosters (bench/roster.py's S, seeds 1–3) at their 24 h floor, made once by
# fairest mode: the "previous" versions to repair.
FAIR = json.loads((DATA / "s_tier_fair_rosters.json").read_text())
# Fairest-mode results of the solver before repair mode existed (single worker, every
# stage optimal), on instances built by test_solver.small_roster.
GOLDEN = json.loads((DATA / "fairest_golden.json").read_text())


def fair_roster(seed):
    return [{"shift": s, "volunteer": v, "role": r} for s, v, r in FAIR[str(seed)]]


def refs(rows):
    return [{k: a[k] for k in ("shift", "volunteer", "role")} for a in rows]


# --- repair mode on the S tier ------------------------------------------------------------


def test_fair_rosters_fixture_is_at_its_floor():
    for seed in FAIR:
        inst = make_instance("S", int(seed))
        roster = fair_roster(seed)
        assert check_solution(inst, roster) == []
        inst["previous"] = roster
        # Nothing changed: repair keeps every assignment, and says so.
        result = solve(inst, time_limit=0.5)
        m = result["metrics"]
        assert (m["changes"], m["moved_volunteers"], m["unfilled_seats"]) == (0, 0, 0)
        assert m["spread_hours"] == m["spread_floor_hours"] == 24.0
        assert result["changes"] == []


@pytest.mark.parametrize(("seed", "k"), [(s, k) for s in (1, 2, 3) for k in (1, 2, 5)])
def test_repair_after_time_off_moves_few_within_the_tolerance(seed, k):
    inst = make_instance("S", seed)
    taken = perturb(inst, fair_roster(seed), k, seed)
    assert len(taken) == k

    result = solve(inst, time_limit=1.2)

    m = result["metrics"]
    assert m["mode"] == "repair"
    assert check_solution(inst, result["assignments"]) == []
    assert m["unfilled_seats"] == 0
    assert m["changes"] <= 2 * k + 2, m["stages"]
    assert m["spread_hours"] <= m["spread_floor_hours"] + 12
    assert m["moved_volunteers"] <= m["changes"]
    # Every assignment taken off is gone, with time off as its reason.
    removed = {(e["volunteer"], e["shift"]): e for e in result["changes"] if e["kind"] == "removed"}
    for volunteer, shift_id in taken:
        assert removed[(volunteer, shift_id)]["reason_code"] == "time_off"
    assert len(result["changes"]) == m["changes"]


def test_fairest_mode_still_reshuffles_after_the_same_change():
    # The contrast repair mode exists for (and what the benchmark's table shows).
    inst = make_instance("S", 1)
    perturb(inst, fair_roster(1), 2, 1)
    fairest = solve(inst, time_limit=1.5, mode="fairest")["metrics"]
    repair = solve(inst, time_limit=1)["metrics"]
    assert fairest["mode"] == "fairest" and repair["mode"] == "repair"
    assert repair["changes"] <= fairest["changes"]
    assert [s["stage"] for s in fairest["stages"]][-1] == "stability"


def test_repair_on_sub_models_moves_few(monkeypatch):
    # Large rosters repair through CP-SAT on sub-models; force that path.
    monkeypatch.setattr(cpsat, "LARGE_MODEL", 0)
    inst = make_instance("S", 2)
    perturb(inst, fair_roster(2), 2, 2)
    result = solve(inst, time_limit=2)
    m = result["metrics"]
    assert m["method"].startswith("cp-sat sub-models")
    assert check_solution(inst, result["assignments"]) == []
    assert m["changes"] <= 6 and m["unfilled_seats"] == 0
    assert m["spread_hours"] <= m["spread_floor_hours"] + 12


def test_repair_brings_the_spread_into_a_tighter_tolerance():
    # Greedy's roster is 12 h above the floor: a 0 h tolerance must move people to
    # balance it, a 12 h one need not move anyone.
    inst = make_instance("S", 3)
    greedy = cpsat.solve_greedy(inst)
    inst["previous"] = refs(greedy["assignments"])
    loose = solve(inst, time_limit=1, spread_tolerance=12)["metrics"]
    tight = solve(inst, time_limit=2, spread_tolerance=0)["metrics"]
    assert loose["changes"] == 0
    assert tight["spread_hours"] < loose["spread_hours"]
    assert tight["changes"] > 0
    assert check_solution(inst, greedy["assignments"]) == []


def test_repair_is_the_default_only_with_a_previous_version():
    inst = small_roster(1)
    assert solve(inst, time_limit=0.5)["metrics"]["mode"] == "fairest"
    inst["previous"] = refs(cpsat.solve_greedy(inst)["assignments"])
    assert solve(inst, time_limit=0.5)["metrics"]["mode"] == "repair"
    with pytest.raises(ValueError, match="unknown mode"):
        solve(inst, mode="gentlest")
    with pytest.raises(ValueError, match="spread tolerance"):
        solve(inst, spread_tolerance=-1)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_fairest_mode_reproduces_the_solver_before_repair_mode(name):
    kind, number = name.rstrip("0123456789"), int(name[-1])
    if kind == "busy":
        inst = small_roster(
            number, weeks=2, counsellors=9, experts=3, fixed=number % 2 == 0, busy=True
        )
    else:
        inst = small_roster(10 + number, weeks=1, counsellors=8, experts=3)
        inst["previous"] = refs(cpsat.solve_greedy(inst)["assignments"][::2])
    # One worker and every stage proven optimal: deterministic, as it was then.
    result = solve(inst, mode="fairest", time_limit=30, num_workers=1)
    assert all(s["status"] == "optimal" for s in result["metrics"]["stages"])
    assert [[a["shift"], a["volunteer"], a["role"]] for a in result["assignments"]] == GOLDEN[name]


# --- reasons -------------------------------------------------------------------------------


def named(row, name, **extra):
    return {**row, "name": name, **extra}


def chain_instance():
    """Wang Fang takes time off from Thursday night. Only Li Lei can cover it, which
    breaks her rest before her Friday afternoon; only Zhao Min can take that."""
    shifts = [
        shift("thu_night", at(6, 20), at(7, 8)),
        shift("fri_day", at(7, 14), at(7, 20)),
    ]
    volunteers = [
        named(vol("wf", available=["thu_night"]), "Wang Fang", time_off=["thu_night"]),
        named(vol("ll", available=["thu_night", "fri_day"]), "Li Lei"),
        named(vol("zm", available=["fri_day"]), "Zhao Min"),
    ]
    return instance(
        shifts,
        volunteers,
        previous=[
            {"shift": "thu_night", "volunteer": "wf", "role": "counsellor"},
            {"shift": "fri_day", "volunteer": "ll", "role": "counsellor"},
        ],
    )


def test_reasons_follow_the_chain_from_the_time_off():
    result = solve(chain_instance(), time_limit=2)
    assert result["metrics"]["changes"] == 4
    assert result["metrics"]["moved_volunteers"] == 3
    reasons = {(e["kind"], e["volunteer"], e["shift"]): e["reason"] for e in result["changes"]}
    assert reasons == {
        ("removed", "wf", "thu_night"): "Wang Fang has time off at Thu 03-06 20:00",
        ("added", "ll", "thu_night"): "to cover after Wang Fang's time off",
        ("removed", "ll", "fri_day"): ("moved to cover Thu 03-06 20:00 after Wang Fang's time off"),
        ("added", "zm", "fri_day"): (
            "to cover after Li Lei moved to Thu 03-06 20:00 (Wang Fang's time off)"
        ),
    }
    cover = next(e for e in result["changes"] if e["volunteer"] == "zm")
    assert cover["cause"]["root"] == {
        "code": "time_off",
        "shift": "thu_night",
        "starts_at": "2025-03-06T20:00:00+08:00",
        "ends_at": "2025-03-07T08:00:00+08:00",
        "volunteer": "wf",
        "name": "Wang Fang",
    }


def test_reasons_render_through_gettext():
    result = solve(chain_instance(), time_limit=2)
    catalogue = {
        "Thu": "周四",
        "%(name)s's time off": "%(name)s请假",
        "to cover after %(cause)s": "因%(cause)s而顶班",
    }
    entry = next(e for e in result["changes"] if e["volunteer"] == "ll" and e["kind"] == "added")
    assert render_change(entry, gettext=lambda m: catalogue.get(m, m)) == "因Wang Fang请假而顶班"
    # Without a catalogue the entry's own English sentence comes back.
    assert render_change(entry) == entry["reason"]


def test_reasons_without_a_cause_say_they_balance_the_load():
    # Nothing is forced off, but a 0 h tolerance makes repair even out the hours.
    inst = instance(
        [shift(f"d{d}", at(d, 8), at(d, 14)) for d in (3, 4, 5, 6)],
        [named(vol("a"), "A"), named(vol("b"), "B")],
        previous=[{"shift": f"d{d}", "volunteer": "a", "role": "counsellor"} for d in (3, 4, 5, 6)],
    )
    result = solve(inst, time_limit=2, spread_tolerance=0)
    assert result["metrics"]["spread_hours"] == 0
    assert result["metrics"]["changes"] == 4
    assert {e["reason_code"] for e in result["changes"]} == {"balance"}
    assert any(e["reason"] == "taken over from A to balance the load" for e in result["changes"])
    assert any(e["reason"] == "handed to B to balance the load" for e in result["changes"])


def test_a_seat_empty_before_is_filled_with_that_reason():
    inst = instance(
        [shift("s1", at(3, 8), at(3, 14), counsellor=2)],
        [vol("a"), vol("b")],
        previous=[{"shift": "s1", "volunteer": "a", "role": "counsellor"}],
    )
    result = solve(inst, time_limit=1)
    assert [(e["volunteer"], e["reason"]) for e in result["changes"]] == [
        ("b", "fills an empty seat")
    ]


# --- options -------------------------------------------------------------------------------


def test_options_are_distinct_or_say_why_not():
    inst = make_instance("S", 1)
    perturb(inst, fair_roster(1), 2, 1)

    out = solve_options(inst, time_limit=3)

    keys = [o["key"] for o in out["options"]]
    assert keys[0] == "fewest_changes"
    assert len(set(keys)) == len(keys) and set(keys) <= {"fewest_changes", "balanced", "fairest"}
    rosters = [
        frozenset((a["shift"], a["volunteer"], a["role"]) for a in o["assignments"])
        for o in out["options"]
    ]
    assert len(set(rosters)) == len(rosters)
    left_out = {"fewest_changes", "balanced", "fairest"} - set(keys)
    assert {n["option"] for n in out["notes"]} >= left_out
    assert all(n["text"] for n in out["notes"])
    for o in out["options"]:
        assert check_solution(inst, o["assignments"]) == []
        assert o["summary"]["seats_filled"] == o["summary"]["seats_total"] == 224
        assert o["metrics"]["option"] == o["key"]
        assert len(o["changes"]) == o["summary"]["changes"]
    fewest = out["options"][0]["summary"]
    assert fewest["changes"] <= 6
    # None of those offered is beaten by another (as fair or fairer, no more changes).
    for i, me in enumerate(out["options"]):
        for j, other in enumerate(out["options"]):
            assert i == j or not options._beats(other, me, earlier=j < i)


def test_options_when_nothing_needs_to_change():
    inst = make_instance("S", 2)
    inst["previous"] = fair_roster(2)
    out = solve_options(inst, time_limit=2)
    assert [o["key"] for o in out["options"]] == ["no_change"]
    assert out["options"][0]["summary"]["changes"] == 0
    assert [n["code"] for n in out["notes"]] == ["no_change_needed"]
    assert out["notes"][0]["text"].startswith("Nothing needs to change")


def test_options_without_a_previous_version_offer_the_fairest_only():
    out = solve_options(small_roster(2), time_limit=1)
    assert [o["key"] for o in out["options"]] == ["fairest"]
    assert [n["code"] for n in out["notes"]] == ["no_previous"]


def test_dominated_options_are_left_out_with_a_note():
    def option(changes, spread, unfilled=0):
        return {
            "metrics": {
                "changes": changes,
                "spread_hours": spread,
                "unfilled_seats": unfilled,
                "night_spread": 1,
                "weekend_spread": 1,
            }
        }

    built = {
        "fewest_changes": option(4, 36),
        "balanced": option(8, 36),  # no fairer than fewest, and more changes
        "fairest": option(10, 24),
    }
    kept, notes = options._undominated(["fewest_changes", "balanced", "fairest"], built)
    assert kept == ["fewest_changes", "fairest"]
    assert notes == [{"code": "dominated", "option": "balanced", "by": "fewest_changes"}]
    assert options.render_note(notes[0]) == (
        "The “balanced” roster is left out: the “fewest changes” one is at least as fair "
        "with no more changes."
    )


# --- several hotlines ------------------------------------------------------------------------


def province(**extra):
    """Two city lines sharing three volunteers; their shifts overlap in time."""
    return instance(
        [
            {**shift("a1", at(3, 8), at(3, 14)), "hotline": "A"},
            {**shift("b1", at(3, 9), at(3, 15)), "hotline": "B"},
            {**shift("a2", at(3, 20), at(3, 23)), "hotline": "A"},
            {**shift("b2", at(3, 14), at(3, 20)), "hotline": "B"},
        ],
        [vol("c1"), vol("c2"), vol("c3", per_week=1)],
        hotlines=[
            {"id": "A", "min_rest_hours": 4, "allow_back_to_back": True},
            {"id": "B", "min_rest_hours": 8},
        ],
        rest=11,
        **extra,
    )


def test_several_hotlines_share_one_pool_under_every_rule():
    inst = province()
    parsed = parse_instance(inst)
    assert parsed.multi_hotline and [h.id for h in parsed.hotlines] == ["A", "B"]
    result = solve(inst, time_limit=2)
    assert check_solution(inst, result["assignments"]) == []
    m = result["metrics"]
    assert m["unfilled_seats"] == 0
    assert m["by_hotline"] == {
        "A": {"seats": 2, "assigned": 2, "unfilled": 0},
        "B": {"seats": 2, "assigned": 2, "unfilled": 0},
    }
    on = {}
    for a in result["assignments"]:
        on.setdefault(a["volunteer"], set()).add(a["shift"])
    for shifts in on.values():
        assert not {"a1", "b1"} <= shifts  # overlap across hotlines
        # a1 (A, ends 14:00) then b2 (B, starts 14:00): B's 8 h rest, and back-to-back is
        # only ever within one hotline.
        assert not {"a1", "b2"} <= shifts


def test_rest_between_hotlines_is_the_longer_one():
    inst = province()
    # b2 (B) ends 20:00 and a2 (A) starts then: back-to-back is allowed on A, never across.
    pairs = [("b2", "c1", "counsellor"), ("a2", "c1", "counsellor")]
    assert [(v.code, v.shift) for v in check_solution(inst, pairs)] == [("rest", "a2")]
    # Within A alone 4 h is enough (a1 ends 14:00, a2 starts 20:00).
    assert check_solution(inst, [("a1", "c1", "counsellor"), ("a2", "c1", "counsellor")]) == []
    # a1 (A, 4 h rest) ends 14:00, b3 (B, 8 h rest) starts 19:00: whichever is filled
    # first, the rule layer checks the longer rest once both are there.
    inst["shifts"].append({**shift("b3", at(3, 19), at(3, 23)), "hotline": "B"})
    pairs = [("a1", "c1", "counsellor"), ("b3", "c1", "counsellor")]
    assert [(v.code, v.shift) for v in check_solution(inst, pairs)] == [("rest", "b3")]
    alone = instance(
        [inst["shifts"][0], inst["shifts"][-1]], [vol("c1")], hotlines=inst["hotlines"]
    )
    result = solve(alone, time_limit=1)
    assert len(result["assignments"]) == 1
    assert result["unfilled"][0]["reason_code"] == "rest"


def test_weekly_limit_counts_every_hotline():
    inst = province()
    found = check_solution(inst, [("a1", "c3", "counsellor"), ("b2", "c3", "counsellor")])
    assert "weekly_limit" in {v.code for v in found}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["shifts"][1].update(hotline="Z"), "shifts[1].hotline: unknown hotline id 'Z'"),
        (lambda d: d["hotlines"][1].update(id="A"), "hotlines[1].id: duplicate id 'A'"),
        (
            lambda d: d["hotlines"][0].update(min_rest_hours=-2),
            "hotlines[0].min_rest_hours: must be a number of hours from 0 to 336",
        ),
        (
            lambda d: d.update(previous=[{"shift": "zz", "volunteer": "c1", "role": "counsellor"}]),
            "previous[0].shift: unknown shift id 'zz'",
        ),
        (
            lambda d: d.update(previous=[{"shift": "a1", "volunteer": "x", "role": "counsellor"}]),
            "previous[0].volunteer: unknown volunteer id 'x'",
        ),
        (
            lambda d: d["volunteers"][0].update(time_off=["zz"]),
            "volunteers[0].time_off[0]: unknown shift id",
        ),
        (
            lambda d: d["volunteers"][0].update(active="no"),
            "volunteers[0].active: must be true or false",
        ),
    ],
)
def test_bad_multi_hotline_and_previous_input_names_the_field(change, message, tmp_path, capsys):
    data = province()
    change(data)
    with pytest.raises(InstanceError) as caught:
        parse_instance(data)
    assert str(caught.value).startswith(message)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    assert cli_main([str(path)]) == 2
    assert message in capsys.readouterr().err


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_repair_mode_reports_changes_and_spread(tmp_path, capsys):
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(chain_instance()))
    assert (
        cli_main([str(path), "--mode", "repair", "--spread-tolerance", "6", "--time-limit", "1"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    m = result["metrics"]
    assert m["mode"] == "repair" and m["spread_tolerance_hours"] == 6
    assert {"changes", "moved_volunteers", "spread_hours", "spread_floor_hours"} <= set(m)
    assert result["changes"]

    assert cli_main([str(path), "--mode", "fairest", "--time-limit", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["mode"] == "fairest"

    assert cli_main([str(path), "--options", "--time-limit", "1"]) == 0
    options = json.loads(capsys.readouterr().out)
    assert options["options"] and "notes" in options


@pytest.mark.parametrize("value", ["-1", "abc", "nan"])
def test_cli_bad_tolerance_exits_2(value, tmp_path, capsys):
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(chain_instance()))
    with pytest.raises(SystemExit) as caught:
        cli_main([str(path), "--spread-tolerance", value])
    assert caught.value.code == 2
    assert "--spread-tolerance" in capsys.readouterr().err
