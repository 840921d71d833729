import datetime as dt
import io

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
