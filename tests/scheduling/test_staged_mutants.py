"""Staged-change behaviours a `make mutants` run of scheduling/services.py (the `staged`
module) found unpinned (issue 19): a second staged edit of a shift keeps the first, the
publish of new times raises the version volunteers' calendars take, putting someone back
takes back only their own staged removal, and a discard reopens only the swaps it undoes.
Each test names the surviving mutants it kills (`scheduling.services.x_…`)."""

import datetime as dt

import pytest

from scheduling import services, swaps
from scheduling.models import Assignment, Shift, SwapRequest
from scheduling.rules import RuleViolation
from tests.scheduling.test_shift_edits import _stage_later, scene  # noqa: F401 - the fixture
from tests.support import factories as f
from tests.support.scenes import local

pytestmark = pytest.mark.django_db


def test_a_second_staged_edit_keeps_the_first(scene):  # noqa: F811
    """Seats for one role, then for another: both are pending. Kills _shift_edit_stage 2,
    17."""
    services.shift_update(shift=scene["thursday"], required_counsellors=3)
    services.shift_update(shift=scene["thursday"], required_family_educators=2)
    thursday = Shift.objects.get(pk=scene["thursday"].pk)
    assert thursday.pending_requirements == {
        "required_counsellors": 3,
        "required_family_educators": 2,
    }
    services.roster_publish(roster=scene["roster"])
    thursday.refresh_from_db()
    assert (thursday.required_counsellors, thursday.required_family_educators) == (3, 2)


def test_publishing_new_times_raises_the_version_of_each_assignment_on_the_shift(
    scene,  # noqa: F811
):
    """What makes calendar apps take the new times (SEQUENCE), raised once; seats alone do
    not raise it. Kills _shift_edits_apply 26 (2, 19 and 21 are equivalent: the publish's
    notice raises the sequence itself when the times told changed, docs/testing.md)."""
    before = {k: Assignment.objects.get(pk=scene[k].pk).sequence for k in ("amy_thu", "cat_fri")}
    _stage_later(scene)
    services.shift_update(shift=scene["friday"], required_counsellors=3)
    services.roster_publish(roster=scene["roster"])
    assert Assignment.objects.get(pk=scene["amy_thu"].pk).sequence == before["amy_thu"] + 1
    assert Assignment.objects.get(pk=scene["cat_fri"].pk).sequence == before["cat_fri"]


def test_putting_back_someone_whose_removal_is_staged_takes_it_back(scene):  # noqa: F811
    """Kills _undo_staged_removal 27 (the mode the board and the API report)."""
    removed = services.assignment_cancel(assignment=scene["amy_thu"])
    assert removed.change_mode == services.STAGED and removed.pending_cancel
    back = services.assignment_create(
        shift=scene["thursday"], volunteer=scene["amy"], role="counsellor"
    )
    assert back.pk == scene["amy_thu"].pk
    assert back.change_mode == services.STAGED
    assert not Assignment.objects.get(pk=back.pk).pending_cancel


def test_putting_back_in_another_role_is_a_new_staged_assignment(scene):  # noqa: F811
    """Kills _undo_staged_removal 9."""
    services.assignment_cancel(assignment=scene["cat_fri"])
    new = services.assignment_create(
        shift=scene["friday"], volunteer=scene["cat"], role="family_educator"
    )
    assert new.pk != scene["cat_fri"].pk
    assert (new.role, new.status) == ("family_educator", Assignment.Status.PENDING)
    assert Assignment.objects.get(pk=scene["cat_fri"].pk).pending_cancel


def test_adding_someone_already_on_the_shift_is_refused(scene):  # noqa: F811
    """Not taken for the undoing of a removal nobody staged. Kills _undo_staged_removal
    11."""
    with pytest.raises(RuleViolation):
        services.assignment_create(
            shift=scene["thursday"], volunteer=scene["amy"], role="counsellor"
        )
    assert not Assignment.objects.get(pk=scene["amy_thu"].pk).pending_cancel


def test_discard_reopens_only_the_swaps_it_takes_back(scene, coordinator):  # noqa: F811
    """The swap whose staged assignment goes waits for a decision again, with no decider;
    a swap done before stays done. Kills _staged_swaps_reopen 4, 5, 8."""
    dan = f.volunteer(display_name="Dan")
    eve = f.volunteer(display_name="Eve")
    done = swaps.swap_offer(assignment=scene["bob_thu"], volunteer=scene["bob"])
    done = swaps.swap_claim(swap=done, volunteer=dan)
    done = swaps.swap_approve(swap=done, by=coordinator)
    services.roster_publish(roster=scene["roster"])  # the first swap is done and published
    pending = swaps.swap_offer(assignment=scene["cat_fri"], volunteer=scene["cat"])
    pending = swaps.swap_claim(swap=pending, volunteer=eve)
    pending = swaps.swap_approve(swap=pending, by=coordinator)
    assert pending.new_assignment.status == Assignment.Status.PENDING

    services.roster_changes_discard(roster=scene["roster"])

    pending = SwapRequest.objects.get(pk=pending.pk)
    assert (pending.status, pending.new_assignment, pending.decided_by, pending.decided_at) == (
        SwapRequest.Status.CLAIMED,
        None,
        None,
        None,
    )
    done = SwapRequest.objects.get(pk=done.pk)
    assert done.status == SwapRequest.Status.DONE and done.new_assignment is not None
    assert local(2027, 3, 25, 9) == Shift.objects.get(pk=scene["thursday"].pk).starts_at


def test_a_volunteers_own_swap_approved_automatically_takes_effect_at_once(scene):  # noqa: F811
    """`immediate`: not staged, even on a published roster outside the freeze window. Kills
    _mode 7."""
    new = services.assignment_create(
        shift=scene["friday"], volunteer=scene["amy"], role="counsellor", immediate=True
    )
    assert (new.change_mode, new.status) == (services.IMMEDIATE, Assignment.Status.ACTIVE)


def test_the_mode_is_decided_at_the_time_given(scene):  # noqa: F811
    """A change made (or replayed) with its own `now`, an hour before Thursday's shift, is
    urgent whatever the clock says. Kills _mode 3, 5, change_mode 5, 7, shift_edit_mode 11,
    13."""
    an_hour_before = local(2027, 3, 25, 8)
    removed = services.assignment_cancel(assignment=scene["bob_thu"], now=an_hour_before)
    assert removed.change_mode == services.URGENT
    assert services.change_mode(shift=scene["friday"], now=an_hour_before) == services.URGENT
    seats = services.shift_update(
        shift=scene["thursday"], now=an_hour_before, required_counsellors=3
    )
    assert seats.change_mode == services.URGENT
    assert Shift.objects.get(pk=scene["thursday"].pk).required_counsellors == 3


def test_a_shift_starting_exactly_at_the_end_of_the_freeze_window_is_staged(
    scene,  # noqa: F811
    clock,
):
    """The window is half-open: [now, now + ROSTER_FREEZE_HOURS). Kills is_frozen 3 and
    shift_edit_mode 14."""
    edge = clock.now + dt.timedelta(hours=services.freeze_hours())
    shift = f.shift(roster_=scene["roster"], starts_at=edge, hours=4)
    assert not services.is_frozen(shift, now=clock.now)
    assert services.change_mode(shift=shift, now=clock.now) == services.STAGED
    moved = services.shift_update(
        shift=scene["thursday"], starts_at=edge, ends_at=edge + dt.timedelta(hours=6)
    )
    assert moved.change_mode == services.STAGED


def test_moving_a_shift_out_of_the_freeze_window_is_still_urgent_at_the_time_given(
    scene,  # noqa: F811
):
    """An hour before Thursday's shift, moving it to the next week: it was inside the window
    then, so the change is urgent (the volunteers on it are told at once). Kills
    shift_edit_mode 11, 13."""
    an_hour_before = local(2027, 3, 25, 8)
    moved = services.shift_update(
        shift=scene["thursday"],
        now=an_hour_before,
        starts_at=local(2027, 4, 1, 9),
        ends_at=local(2027, 4, 1, 15),
    )
    assert moved.change_mode == services.URGENT
    assert Shift.objects.get(pk=scene["thursday"].pk).starts_at == local(2027, 4, 1, 9)
