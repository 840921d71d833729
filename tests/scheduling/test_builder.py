"""The automatic builder end to end: database → solver → rule layer → database."""

import datetime as dt

import pytest
from django.utils import timezone

from scheduling import builder, services
from scheduling.builder import AutofillBusy, autofill_execute, autofill_start, roster_build
from scheduling.models import Assignment, AutofillRun
from scheduling.rules import check_assignment
from tests.support import factories as f

pytestmark = pytest.mark.django_db

BEFORE = f.at(2026, 3, 1, 0)  # "now" for rebuilds: every shift below is still ahead


def _scene(*, trained=2, untrained=1, educators=2, days=3):
    """A roster of `days` days with a day and a night shift, each 2 counsellors
    (1 crisis-trained) and 1 family-education expert by day."""
    roster = f.roster()
    day = f.daily_shifts(
        roster_=roster,
        days=days,
        hour=8,
        required_counsellors=1,
        crisis_trained_required=1,
        required_family_educators=1,
    )
    night = f.daily_shifts(
        roster_=roster,
        days=days,
        hour=20,
        hours=12,
        required_counsellors=1,
        crisis_trained_required=0,
        required_family_educators=0,
    )
    shifts = [s for pair in zip(day, night, strict=True) for s in pair]
    people = [
        f.volunteer(roles=("counsellor",), crisis_trained=True, display_name=f"Trained {i}")
        for i in range(trained)
    ]
    people += [
        f.volunteer(roles=("counsellor",), display_name=f"Untrained {i}") for i in range(untrained)
    ]
    people += [
        f.volunteer(roles=("family_educator",), display_name=f"Educator {i}")
        for i in range(educators)
    ]
    return roster, shifts, people


def _active(roster):
    return set(
        Assignment.objects.filter(
            shift__roster=roster, status=Assignment.Status.ACTIVE
        ).values_list("shift_id", "volunteer_id", "role")
    )


def test_build_fills_every_seat_when_possible():
    roster, shifts, _people = _scene()

    summary = roster_build(roster=roster, time_limit=2)

    assert summary["refused"] == []
    assert summary["unfilled"] == []
    assert summary["coverage"]["seats_missing"] == 0
    assert summary["coverage"]["crisis_trained_missing"] == 0
    assert summary["created"] == len(_active(roster)) == 9
    assert set(
        Assignment.objects.filter(shift__roster=roster).values_list("source", flat=True)
    ) == {Assignment.Source.AUTO}


def test_build_assignments_each_pass_the_rule_layer():
    roster, _shifts, _people = _scene()
    roster_build(roster=roster, time_limit=2)
    built = Assignment.objects.filter(shift__roster=roster).select_related(
        "shift__roster__hotline", "volunteer"
    )
    assert built  # else the loop below checks nothing
    for a in built:
        assert check_assignment(shift=a.shift, volunteer=a.volunteer, role=a.role, ignore=a) == []


def test_build_fill_mode_keeps_every_existing_assignment():
    roster, shifts, people = _scene()
    kept = services.assignment_create(shift=shifts[1], volunteer=people[2], role="counsellor")

    roster_build(roster=roster, time_limit=2)

    kept.refresh_from_db()
    assert kept.is_active
    assert (shifts[1].pk, people[2].pk, "counsellor") in _active(roster)


def test_rebuild_keeps_locked_and_changes_only_unlocked():
    roster, shifts, people = _scene()
    trained, educator = people[0], people[3]
    # Both now have time off over their shift (the assignments predate it).
    locked = f.assignment(shift_=shifts[0], volunteer_=trained, role="counsellor", locked=True)
    loose = f.assignment(shift_=shifts[2], volunteer_=educator, role="family_educator")
    for a in (locked, loose):
        f.time_off(volunteer_=a.volunteer, starts_at=a.shift.starts_at, ends_at=a.shift.ends_at)

    summary = roster_build(roster=roster, rebuild=True, time_limit=2, now=BEFORE)

    locked.refresh_from_db()
    loose.refresh_from_db()
    assert locked.is_active  # kept although its volunteer is now off
    assert loose.status == Assignment.Status.CANCELLED  # moved: its volunteer is off
    assert summary["cancelled"] == 1
    # The seat it held is filled by the other educator.
    assert (shifts[2].pk, people[4].pk, "family_educator") in _active(roster)
    assert summary["coverage"]["seats_missing"] == 0


def test_rebuild_keeps_assignments_on_shifts_already_started():
    roster, shifts, people = _scene()
    started = f.assignment(shift_=shifts[0], volunteer_=people[0], role="counsellor")
    f.time_off(volunteer_=people[0], starts_at=shifts[0].starts_at, ends_at=shifts[0].ends_at)

    roster_build(
        roster=roster, rebuild=True, time_limit=2, now=shifts[0].starts_at + dt.timedelta(hours=1)
    )

    started.refresh_from_db()
    assert started.is_active


def test_rebuild_leaves_a_valid_roster_untouched():
    roster, _shifts, _people = _scene()
    roster_build(roster=roster, time_limit=2)
    before = _active(roster)

    summary = roster_build(roster=roster, rebuild=True, time_limit=2, now=BEFORE)

    assert summary["cancelled"] == 0 and summary["created"] == 0
    assert _active(roster) == before


def test_unfilled_seats_come_with_reasons():
    # No crisis-trained counsellor at all: the day shifts' trained seats stay empty.
    roster, shifts, _people = _scene(trained=0, untrained=2)

    summary = roster_build(roster=roster, time_limit=2)

    trained_gaps = [u for u in summary["unfilled"] if u["crisis_trained"]]
    assert {u["shift"] for u in trained_gaps} == {s.pk for s in shifts[0::2]}
    reasons = builder.unfilled_reasons(trained_gaps)
    assert reasons[0] == "Mon 2026-03-02 08:00–14:00: no crisis-trained counsellor is available"
    assert summary["coverage"]["crisis_trained_missing"] == 3
    assert summary["refused"] == []


def test_unfilled_seat_reason_weekly_limit():
    roster, shifts, people = _scene(trained=1, untrained=0, educators=1)
    for v in people:
        v.max_shifts_per_week = 1
        v.save()

    summary = roster_build(roster=roster, time_limit=2)

    assert summary["coverage"]["seats_missing"] == 9 - 2
    codes = {u["reason_code"] for u in summary["unfilled"]}
    assert codes <= {"weekly_limit", "rest", "mixed", "no_crisis_trained", "crisis_blocked"}
    assert any("weekly limit" in r for r in builder.unfilled_reasons(summary["unfilled"]))


def test_a_refusal_at_save_time_is_reported_not_forced():
    roster, shifts, people = _scene()
    volunteer = people[0]
    # The solver saw a free volunteer; before saving, someone put them on another
    # hotline's overlapping shift.
    result = {
        "assignments": [{"shift": shifts[0].pk, "volunteer": volunteer.pk, "role": "counsellor"}]
    }
    elsewhere = f.shift(starts_at=shifts[0].starts_at, hours=2)
    f.assignment(shift_=elsewhere, volunteer_=volunteer)

    applied = builder.roster_apply(roster=roster, result=result, rebuild=False)

    assert applied["created"] == 0
    assert [r["code"] for r in applied["refused"]] == ["overlap"]
    assert applied["refused"][0]["shift"] == shifts[0].pk
    assert "overlapping" in applied["refused"][0]["detail"]
    assert _active(roster) == set()


def test_instance_marks_busy_time_on_the_same_hotline():
    roster, shifts, people = _scene()
    other_roster = f.roster(hotline_=roster.hotline, first_day=dt.date(2026, 3, 9))
    same = f.shift(roster_=other_roster, starts_at=f.at(2026, 3, 5, 8))
    other = f.shift(starts_at=f.at(2026, 3, 5, 20))
    f.assignment(shift_=same, volunteer_=people[0])
    f.assignment(shift_=other, volunteer_=people[1])

    busy = builder.roster_instance(roster)["busy"]

    assert {(b["volunteer"], b["same_hotline"]) for b in busy} == {
        (people[0].pk, True),
        (people[1].pk, False),
    }


def test_instance_keeps_an_inactive_volunteers_fixed_assignment():
    roster, shifts, people = _scene()
    gone = people[0]
    f.assignment(shift_=shifts[0], volunteer_=gone)
    gone.is_active = False
    gone.save()

    instance = builder.roster_instance(roster)

    row = next(v for v in instance["volunteers"] if v["id"] == gone.pk)
    assert row["available"] == [shifts[0].pk]  # nothing new for them
    summary = roster_build(roster=roster, time_limit=2)
    assert summary["refused"] == []


# --- runs -------------------------------------------------------------------------------


def test_autofill_runs_as_a_task_and_records_its_result(
    coordinator, django_capture_on_commit_callbacks
):
    roster, _shifts, _people = _scene()

    with django_capture_on_commit_callbacks(execute=True):
        run = autofill_start(roster=roster, mode="fill", time_limit=2, by=coordinator)

    run.refresh_from_db()
    assert run.status == AutofillRun.Status.DONE
    assert run.progress == 100
    assert run.task_id
    assert run.requested_by == coordinator
    assert run.result["coverage"]["seats_missing"] == 0
    assert run.started_at <= run.finished_at
    assert Assignment.objects.filter(shift__roster=roster, created_by=coordinator).count() == 9


def test_a_second_autofill_on_one_roster_is_refused():
    roster, _shifts, _people = _scene()
    first = autofill_start(roster=roster, enqueue=False)

    with pytest.raises(AutofillBusy) as caught:
        autofill_start(roster=roster, mode="rebuild", enqueue=False)

    assert caught.value.run == first
    assert AutofillRun.objects.filter(roster=roster).count() == 1


def test_another_roster_may_autofill_meanwhile():
    roster, _shifts, _people = _scene()
    autofill_start(roster=roster, enqueue=False)
    autofill_start(roster=f.roster(), enqueue=False)
    assert AutofillRun.objects.filter(status=AutofillRun.Status.QUEUED).count() == 2


def test_a_finished_run_does_not_block_the_next():
    roster, _shifts, _people = _scene()
    run = autofill_start(roster=roster, enqueue=False, time_limit=1)
    autofill_execute(run_id=run.pk)
    assert autofill_start(roster=roster, enqueue=False).status == AutofillRun.Status.QUEUED


def test_a_stale_queued_run_is_given_up_and_never_runs_later():
    roster, _shifts, _people = _scene()
    stale = autofill_start(roster=roster, enqueue=False)
    AutofillRun.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=1)
    )

    fresh = autofill_start(roster=roster, enqueue=False)

    stale.refresh_from_db()
    assert stale.status == AutofillRun.Status.FAILED
    assert fresh.status == AutofillRun.Status.QUEUED
    # The old task reaching a worker after all changes nothing.
    assert autofill_execute(run_id=stale.pk).status == AutofillRun.Status.FAILED
    assert _active(roster) == set()


def test_a_run_executes_once():
    roster, _shifts, _people = _scene()
    run = autofill_start(roster=roster, enqueue=False, time_limit=1)
    autofill_execute(run_id=run.pk)
    before = _active(roster)
    Assignment.objects.filter(shift__roster=roster).update(status=Assignment.Status.CANCELLED)

    again = autofill_execute(run_id=run.pk)  # a duplicate delivery of the task

    assert again.status == AutofillRun.Status.DONE
    assert before and _active(roster) == set()


def test_a_run_given_up_while_it_worked_saves_nothing(monkeypatch):
    roster, _shifts, _people = _scene()
    run = autofill_start(roster=roster, enqueue=False, time_limit=1)
    real_solve = builder.solve

    def solve_then_expire(*args, **kwargs):
        outcome = real_solve(*args, **kwargs)
        AutofillRun.objects.filter(pk=run.pk).update(status=AutofillRun.Status.FAILED)
        return outcome

    monkeypatch.setattr(builder, "solve", solve_then_expire)
    autofill_execute(run_id=run.pk)

    assert _active(roster) == set()


def test_a_failing_build_marks_the_run_failed(monkeypatch):
    roster, _shifts, _people = _scene()
    run = autofill_start(roster=roster, enqueue=False)

    def broken(*args, **kwargs):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(builder, "solve", broken)
    run = autofill_execute(run_id=run.pk)

    assert run.status == AutofillRun.Status.FAILED
    assert "solver exploded" in run.message
    assert autofill_start(roster=roster, enqueue=False).status == AutofillRun.Status.QUEUED


def test_progress_is_reported_in_order():
    roster, _shifts, _people = _scene()
    run = autofill_start(roster=roster, enqueue=False, time_limit=1)
    seen = []

    autofill_execute(run_id=run.pk, progress=lambda percent, stage: seen.append((percent, stage)))

    percents = [p for p, _s in seen]
    assert percents == sorted(percents)
    assert seen[0][1] == "instance" and seen[-1] == (100, "done")
    assert "saving" in {s for _p, s in seen}


def test_time_limit_is_clamped():
    roster, _shifts, _people = _scene()
    assert (
        autofill_start(roster=roster, enqueue=False, time_limit=10_000).time_limit
        == builder.MAX_TIME_LIMIT
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_autofills_started_at_once_exactly_one_is_queued():

    roster, _shifts, _people = _scene()
    results = f.race([lambda: autofill_start(roster=roster, enqueue=False) for _ in range(2)])

    started = [r for r in results if isinstance(r, AutofillRun)]
    refused = [r for r in results if isinstance(r, AutofillBusy)]
    assert len(started) == 1 and len(refused) == 1, results
    assert AutofillRun.objects.filter(roster=roster).count() == 1
