import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from scheduling.builder import autofill_start
from scheduling.models import Assignment, AutofillRun
from tests.support import factories as f

pytestmark = pytest.mark.django_db


def _roster(*, trained=True):
    roster = f.roster()
    f.daily_shifts(
        roster_=roster,
        days=2,
        hour=20,
        hours=12,
        required_counsellors=1,
        crisis_trained_required=1,
        required_family_educators=0,
    )
    f.volunteer(roles=("counsellor",), crisis_trained=trained, display_name="Wang Fang")
    return roster


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("build_roster", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_build_roster_fills_and_prints_a_summary():
    roster = _roster()

    out, err = _run("--roster", str(roster.pk), "--time-limit", "2")

    assert Assignment.objects.filter(shift__roster=roster, status="active").count() == 2
    assert "Saved: 2 added, 0 removed, 0 refused by the rules." in out
    assert "Coverage: 100.0% (2 of 2 seats filled)" in out
    assert "Load spread:" in out
    assert "Every seat is filled." in out
    # The progress bar: one line per stage when not on a terminal, ending at 100%.
    assert "Reading the roster" in err
    assert err.strip().splitlines()[-1].startswith("[" + "#" * 30 + "] 100%")
    run = AutofillRun.objects.get(roster=roster)
    assert run.status == AutofillRun.Status.DONE


def test_build_roster_lists_unfilled_seats_with_reasons():
    roster = _roster(trained=False)

    out, _err = _run("--roster", str(roster.pk), "--greedy")

    assert "Coverage: 0.0% (0 of 2 seats filled)" in out
    assert "Crisis-trained seats missing: 2" in out
    assert "Unfilled seats:" in out
    assert "  - [1] Mon 2026-03-02 20:00–08:00: no crisis-trained counsellor is available" in out


def test_build_roster_summary_in_another_language():
    roster = _roster(trained=False)
    out, _err = _run("--roster", str(roster.pk), "--greedy", "--language", "zh-hans")
    assert "2026-03-02" in out  # rendered through gettext; the text follows the catalogue
    assert "空缺席位：" in out and "Unfilled seats:" not in out


def test_build_roster_rebuild_keeps_locked_ones():
    # Ahead of the real clock (the command has no --now): a rebuild keeps every shift that
    # has already started, locked or not.
    roster = f.roster(first_day=dt.date(2030, 3, 4))
    shift = f.shift(
        roster_=roster,
        starts_at=f.at(2030, 3, 4, 20),
        hours=12,
        required_counsellors=1,
        crisis_trained_required=1,
        required_family_educators=0,
    )
    f.volunteer(roles=("counsellor",), crisis_trained=True)
    other = f.volunteer(roles=("counsellor",), crisis_trained=True)
    locked = f.assignment(shift_=shift, volunteer_=other, locked=True)
    # Off the hotline now: only the lock keeps the assignment through a rebuild.
    other.is_active = False
    other.save(update_fields=["is_active"])

    _run("--roster", str(roster.pk), "--rebuild", "--time-limit", "2")

    locked.refresh_from_db()
    assert locked.is_active


def test_build_roster_refuses_while_another_runs():
    roster = _roster()
    autofill_start(roster=roster, enqueue=False)

    with pytest.raises(CommandError, match="already running"):
        _run("--roster", str(roster.pk))


def test_build_roster_bad_arguments():
    with pytest.raises(CommandError, match="No roster"):
        _run("--roster", "999999")
    roster = _roster()
    with pytest.raises(CommandError, match="between"):
        _run("--roster", str(roster.pk), "--time-limit", "0")


def _week_of_nights(first_day=dt.date(2030, 3, 4)):
    """Ahead of the real clock (the command has no --now): a week of nights, Wang Fang on
    Mon, Thu and Sun, Li Lei on Tue and Fri, Zhao Min on Wed and Sat; Wang Fang then takes
    Thursday off."""
    roster = f.roster(first_day=first_day)
    nights = f.daily_shifts(
        roster_=roster,
        days=7,
        hour=20,
        hours=12,
        required_counsellors=1,
        crisis_trained_required=0,
        required_family_educators=0,
    )
    names = ("Wang Fang", "Li Lei", "Zhao Min")
    people = [f.volunteer(display_name=name) for name in names]
    for night, i in zip(nights, [0, 1, 2, 0, 1, 2, 0], strict=True):
        f.assignment(shift_=night, volunteer_=people[i])
    f.time_off(volunteer_=people[0], starts_at=nights[3].starts_at, ends_at=nights[3].ends_at)
    return roster, nights, people


def test_build_roster_rebuild_repairs_and_prints_each_change_with_its_reason():
    roster, nights, people = _week_of_nights()

    out, _err = _run("--roster", str(roster.pk), "--rebuild", "--time-limit", "2")

    assert "Saved: 1 added, 1 removed, 0 refused by the rules." in out
    assert "Changes: 2 (2 people moved, repair mode)" in out
    assert "− Wang Fang 2030-03-07 20:00: Wang Fang has time off at Thu 03-07 20:00" in out
    assert "to cover after Wang Fang's time off" in out


def test_build_roster_fairest_mode_and_tolerance():
    roster, _nights, _people = _week_of_nights()
    out, _err = _run(
        "--roster", str(roster.pk), "--rebuild", "--mode", "fairest", "--time-limit", "1"
    )
    assert "fairest mode" in out
    run = AutofillRun.objects.filter(roster=roster).latest("id")
    assert run.result["request"]["strategy"] == "fairest"
    assert run.result["metrics"]["mode"] == "fairest"


@pytest.mark.parametrize("value", ["-1", "abc", "inf"])
def test_build_roster_bad_tolerance_is_refused(value):
    roster, _nights, _people = _week_of_nights()
    with pytest.raises(CommandError, match="spread-tolerance"):
        _run("--roster", str(roster.pk), "--rebuild", "--spread-tolerance", value)
    assert not AutofillRun.objects.filter(roster=roster).exists()


def test_build_roster_bad_tolerance_exits_2_from_the_command_line():
    done = subprocess.run(
        [sys.executable, "manage.py", "build_roster", "--roster", "1", "--spread-tolerance", "-3"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"},
    )
    assert done.returncode == 2
    assert "--spread-tolerance" in done.stderr


def test_build_roster_options_then_apply_one():
    roster, nights, people = _week_of_nights()
    before = set(Assignment.objects.filter(shift__roster=roster, status="active"))

    out, _err = _run("--roster", str(roster.pk), "--rebuild", "--options", "--time-limit", "2")

    assert set(Assignment.objects.filter(shift__roster=roster, status="active")) == before
    run = AutofillRun.objects.get(roster=roster)
    assert f"Options (run {run.pk}), nothing saved yet:" in out
    assert "* fewest_changes: 7 of 7 seats filled, 2 changes, 2 people moved" in out
    assert f"--apply-option KEY --run {run.pk}" in out

    out, _err = _run(
        "--roster", str(roster.pk), "--apply-option", "fewest_changes", "--run", str(run.pk)
    )
    assert "Saved: 1 added, 1 removed, 0 refused by the rules." in out
    assert not Assignment.objects.filter(shift=nights[3], volunteer=people[0], status="active")
    with pytest.raises(CommandError, match="changed since"):
        _run("--roster", str(roster.pk), "--apply-option", "fewest_changes", "--run", str(run.pk))


def test_build_roster_several_hotlines_together():
    first, second = f.roster(first_day=dt.date(2030, 3, 4)), f.roster(first_day=dt.date(2030, 3, 4))
    for roster, hour in ((first, 8), (second, 9)):
        f.daily_shifts(
            roster_=roster,
            days=2,
            hour=hour,
            required_counsellors=1,
            crisis_trained_required=0,
            required_family_educators=0,
        )
    for name in ("Ann", "Bo"):
        f.volunteer(display_name=name)

    out, _err = _run("--roster", str(first.pk), "--roster", str(second.pk), "--time-limit", "2")

    assert out.count("Coverage: 100.0% (2 of 2 seats filled)") == 2
    assert {r.status for r in AutofillRun.objects.filter(roster__in=[first, second])} == {"done"}
    # The 08–14 and 09–15 shifts of a day overlap: never one volunteer on both.
    for day in (4, 5):
        on_day = Assignment.objects.filter(
            shift__roster__in=[first, second], shift__starts_at__day=day
        ).values_list("volunteer", flat=True)
        assert len(set(on_day)) == 2
    other = f.roster(first_day=dt.date(2030, 4, 1))
    with pytest.raises(CommandError, match="same period"):
        _run("--roster", str(first.pk), "--roster", str(other.pk))
