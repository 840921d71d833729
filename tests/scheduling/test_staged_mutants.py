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


# --- the decorated services -------------------------------------------------------------------
# mutated since bin/mutants.py writes `@transaction.atomic` as a `with` block in its copy


def test_a_role_change_on_a_published_roster_is_staged_as_a_removal_and_a_new_seat(
    scene,  # noqa: F811
    coordinator,
):
    """Friday is outside the freeze window: Cat keeps her counsellor seat until the publish;
    a pending family-educator seat carries the lock, the source, who made it and the
    override (time off set aside, the reason trimmed). Kills assignment_update 13, 15 and
    the staged branch's 67–94."""
    cat_fri = scene["cat_fri"]
    Assignment.objects.filter(pk=cat_fri.pk).update(locked=True, source="auto")
    f.time_off(
        volunteer_=scene["cat"], starts_at=local(2027, 3, 26, 8), ends_at=local(2027, 3, 26, 16)
    )
    staged = services.assignment_update(
        assignment=cat_fri, by=coordinator, role="family_educator", override_reason="  cover "
    )
    assert staged.pk != cat_fri.pk and staged.change_mode == services.STAGED
    staged = Assignment.objects.get(pk=staged.pk)
    assert (
        staged.role,
        staged.status,
        staged.source,
        staged.locked,
        staged.created_by,
        staged.override_reason,
        staged.overridden_rules,
    ) == ("family_educator", "pending", "auto", True, coordinator, "cover", ["time_off"])
    old = Assignment.objects.get(pk=cat_fri.pk)
    assert (old.role, old.status, old.pending_cancel) == ("counsellor", "active", True)

    services.roster_publish(roster=scene["roster"])
    assert Assignment.objects.get(pk=staged.pk).status == "active"
    assert Assignment.objects.get(pk=cat_fri.pk).status == "cancelled"


def test_a_role_change_of_a_pending_seat_is_made_in_place(scene):  # noqa: F811
    """Nobody has seen a staged seat: its role changes directly, no second seat. Kills
    assignment_update 15."""
    dan = f.volunteer(display_name="Dan", roles=("counsellor", "family_educator"))
    pending = services.assignment_create(shift=scene["friday"], volunteer=dan, role="counsellor")
    changed = services.assignment_update(
        assignment=pending, role="family_educator", override_reason="just in case"
    )
    assert (changed.pk, changed.change_mode) == (pending.pk, services.DIRECT)
    assert Assignment.objects.filter(shift=scene["friday"], volunteer=dan).count() == 1
    changed = Assignment.objects.get(pk=pending.pk)
    assert (changed.role, changed.override_reason) == ("family_educator", "")


def test_a_role_change_in_place_records_the_rule_set_aside(scene, coordinator):  # noqa: F811
    """Kills assignment_update 90, 92 (the reason lost), 91, 94 (a reason with nothing set
    aside)."""
    dan = f.volunteer(display_name="Dan", roles=("counsellor", "family_educator"))
    pending = services.assignment_create(shift=scene["friday"], volunteer=dan, role="counsellor")
    f.time_off(volunteer_=dan, starts_at=local(2027, 3, 26, 8), ends_at=local(2027, 3, 26, 16))
    services.assignment_update(
        assignment=pending, by=coordinator, role="family_educator", override_reason=" cover "
    )
    changed = Assignment.objects.get(pk=pending.pk)
    assert (changed.override_reason, changed.overridden_rules) == ("cover", ["time_off"])


def test_a_staged_role_change_by_nobody_in_particular(scene):  # noqa: F811
    """No coordinator (a script), the lock taken off with the change, a reason given with
    nothing to set aside. Kills assignment_update 68 (the old lock kept), 77 (no `by`
    breaks it), 82, 85 (a reason recorded for nothing)."""
    Assignment.objects.filter(pk=scene["cat_fri"].pk).update(locked=True)
    staged = services.assignment_update(
        assignment=scene["cat_fri"],
        role="family_educator",
        locked=False,
        override_reason="just in case",
    )
    staged = Assignment.objects.get(pk=staged.pk)
    assert (staged.status, staged.locked, staged.created_by, staged.override_reason) == (
        "pending",
        False,
        None,
        "",
    )


def test_an_urgent_role_change_is_made_at_once_and_told(scene, outbox):  # noqa: F811
    """Sunday is inside the freeze window. Kills assignment_update 114–120."""
    cat_sun = f.assignment(shift_=scene["sunday"], volunteer_=scene["cat"], role="family_educator")

    def to_cat():
        return [m["body"] for m in outbox if m["to"] == scene["cat"].phone_number]

    told = len(to_cat())
    changed = services.assignment_update(assignment=cat_sun, role="counsellor")
    assert (changed.pk, changed.change_mode, changed.role) == (
        cat_sun.pk,
        services.URGENT,
        "counsellor",
    )
    (sms,) = to_cat()[told:]
    assert sms.startswith("Your hotline shifts changed:")


def test_changing_a_cancelled_assignment_is_refused_in_words(scene):  # noqa: F811
    """Kills assignment_update 6, 8–10."""
    from django.core.exceptions import ValidationError

    gone = services.assignment_cancel(assignment=scene["amy_sun"])
    assert gone.status == Assignment.Status.CANCELLED
    with pytest.raises(ValidationError) as exc:
        services.assignment_update(assignment=gone, locked=True)
    assert exc.value.messages == ["A cancelled assignment cannot be changed."]


def test_confirming_someone_elses_shift_is_refused_in_words(scene):  # noqa: F811
    """Kills assignment_confirm 2, 4–6."""
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied) as exc:
        services.assignment_confirm(assignment=scene["amy_thu"], volunteer=scene["bob"])
    assert str(exc.value) == "You can only confirm your own shifts."
    assert Assignment.objects.get(pk=scene["amy_thu"].pk).confirmed_at is None


def test_taking_back_a_seat_a_coordinator_approved_by_swap_reopens_the_swap(
    scene,  # noqa: F811
    coordinator,
    client,
):
    """The approval was staged; the coordinator takes the new seat back on the board: the
    board says so, the seat is gone, and the swap waits for a decision again. Kills
    assignment_cancel 12, 14–16."""
    from django.urls import reverse

    dan = f.volunteer(display_name="Dan")
    swap = swaps.swap_offer(assignment=scene["cat_fri"], volunteer=scene["cat"])
    swap = swaps.swap_claim(swap=swap, volunteer=dan)
    swap = swaps.swap_approve(swap=swap, by=coordinator)
    seat = swap.new_assignment
    assert seat.status == Assignment.Status.PENDING
    client.force_login(coordinator)
    response = client.post(
        reverse("scheduling:roster-board-unassign", args=[scene["roster"].pk, seat.pk]), follow=True
    )
    assert "The pending addition of Dan is taken back." in response.content.decode()
    assert not Assignment.objects.filter(pk=seat.pk).exists()
    assert SwapRequest.objects.get(pk=swap.pk).status == SwapRequest.Status.CLAIMED


def test_a_volunteers_own_swap_cancels_the_old_seat_at_once(scene):  # noqa: F811
    """`immediate` (an automatic approval), outside the freeze window: cancelled now, not
    staged. Kills assignment_cancel 20."""
    gone = services.assignment_cancel(assignment=scene["cat_fri"], immediate=True)
    assert gone.change_mode == services.IMMEDIATE
    cat_fri = Assignment.objects.get(pk=scene["cat_fri"].pk)
    assert (cat_fri.status, cat_fri.pending_cancel) == (Assignment.Status.CANCELLED, False)


def test_cancelling_at_once_a_seat_whose_removal_was_staged_leaves_nothing_pending(
    scene,  # noqa: F811
):
    """Staged removal first, then an urgent cancel (an hour before the shift): the removal
    is done, nothing is left for the publish. Kills assignment_cancel 50."""
    services.assignment_cancel(assignment=scene["amy_thu"], change_reason={"code": "x"})
    services.assignment_cancel(assignment=scene["amy_thu"], now=local(2027, 3, 25, 8))
    amy_thu = Assignment.objects.get(pk=scene["amy_thu"].pk)
    assert (amy_thu.status, amy_thu.pending_cancel, amy_thu.pending_reason) == (
        Assignment.Status.CANCELLED,
        False,
        {},
    )
    assert services.roster_publish(roster=scene["roster"]).published_changes["removed"] == 0


def test_an_urgent_cancel_is_told_at_the_time_given(scene):  # noqa: F811
    """The volunteer's notice is dated when the change was made. Kills assignment_cancel
    76."""
    from scheduling.models import AssignmentNotice

    at = local(2027, 3, 25, 8)
    services.assignment_cancel(assignment=scene["amy_thu"], now=at)
    assert AssignmentNotice.objects.get(assignment=scene["amy_thu"]).notified_at == at


def test_a_role_change_set_aside_a_rule_only_with_a_reason(scene, coordinator):  # noqa: F811
    """Cat is off on Friday: a coordinator's role change without a reason is refused.
    Kills assignment_update 38 (a reason made up when none is given)."""
    f.time_off(
        volunteer_=scene["cat"], starts_at=local(2027, 3, 26, 8), ends_at=local(2027, 3, 26, 16)
    )
    with pytest.raises(RuleViolation) as exc:
        services.assignment_update(
            assignment=scene["cat_fri"], by=coordinator, role="family_educator"
        )
    assert exc.value.code == "time_off"
    assert not Assignment.objects.get(pk=scene["cat_fri"].pk).pending_cancel


def test_an_urgent_role_change_needs_a_seat_free_now_not_after_the_publish(scene):  # noqa: F811
    """Sunday's counsellor seats are full; one counsellor's removal is staged (the builder),
    so the seat is free only after the publish. Cat, the family educator on Sunday, cannot
    become a counsellor at once. Kills assignment_update 39 (judged against the planned
    roster)."""
    dan = f.volunteer(display_name="Dan")
    dan_sun = f.assignment(shift_=scene["sunday"], volunteer_=dan)
    cat_sun = f.assignment(shift_=scene["sunday"], volunteer_=scene["cat"], role="family_educator")
    services.assignment_cancel(assignment=dan_sun, stage=True)
    with pytest.raises(RuleViolation) as exc:
        services.assignment_update(assignment=cat_sun, role="counsellor")
    assert exc.value.code == "capacity"
    assert Assignment.objects.get(pk=cat_sun.pk).role == "family_educator"


def test_publishing_and_discarding_one_roster_leave_another_alone(scene):  # noqa: F811
    """April's roster has a staged addition, removal and shift edit of its own. Kills
    roster_publish 26, 56, 144, 146 and roster_changes_discard 12, 30, 44."""
    april = f.roster(
        hotline_=scene["hotline"],
        first_day=dt.date(2027, 4, 12),
        last_day=dt.date(2027, 4, 18),
        status="published",
    )
    shift = f.shift(roster_=april, starts_at=local(2027, 4, 14, 9), hours=6)
    eve = f.volunteer(display_name="Eve")
    eve_apr = f.assignment(shift_=shift, volunteer_=eve)
    from scheduling.notify import roster_changes_notify

    roster_changes_notify(roster=april)
    dan = f.volunteer(display_name="Dan")
    added = services.assignment_create(shift=shift, volunteer=dan, role="counsellor")
    services.assignment_cancel(assignment=eve_apr)
    services.shift_update(shift=shift, required_counsellors=3)
    Assignment.objects.create(  # a change in April nobody was told of yet
        shift=f.shift(roster_=april, starts_at=local(2027, 4, 15, 9), hours=6),
        volunteer=f.volunteer(display_name="Fay"),
        role="counsellor",
    )

    def april_as_staged():
        return (
            Assignment.objects.get(pk=added.pk).status,
            Assignment.objects.get(pk=eve_apr.pk).pending_cancel,
            Shift.objects.get(pk=shift.pk).pending_requirements,
        )

    staged = ("pending", True, {"required_counsellors": 3})
    services.assignment_cancel(assignment=scene["cat_fri"])
    services.roster_changes_discard(roster=scene["roster"])
    assert april_as_staged() == staged
    services.assignment_cancel(assignment=scene["cat_fri"])
    from hotline.models import Message

    before = Message.objects.count()
    services.roster_publish(roster=scene["roster"])
    assert april_as_staged() == staged
    assert Message.objects.count() == before + 1  # Cat only, not Fay
    assert Message.objects.order_by("-id").first().recipient == scene["cat"]


def test_a_publish_judges_an_addition_against_the_roster_as_it_will_be(scene):  # noqa: F811
    """Thursday's two counsellor seats: Bob's removal and Dan's addition are staged
    together; the publish makes both. (roster_publish 79, 84, `view` None or left out, are
    equivalent: the rule layer's default view is the planned one.)"""
    services.assignment_cancel(assignment=scene["bob_thu"])
    dan = f.volunteer(display_name="Dan")
    added = services.assignment_create(shift=scene["thursday"], volunteer=dan, role="counsellor")
    services.roster_publish(roster=scene["roster"])
    assert Assignment.objects.get(pk=added.pk).status == "active"
    assert Assignment.objects.get(pk=scene["bob_thu"].pk).status == "cancelled"


def test_one_broken_addition_refuses_the_whole_publish(scene):  # noqa: F811
    """Dan is staged onto Thursday and Eve onto Friday, and Friday's seats are changed; Dan
    then loses the counsellor role. The publish is refused whatever comes after him. Kills
    roster_publish 85, 93 (a later check forgetting an earlier refusal)."""
    from hotline.models import Volunteer

    dan, eve = f.volunteer(display_name="Dan"), f.volunteer(display_name="Eve")
    services.assignment_cancel(assignment=scene["bob_thu"])
    dan_thu = services.assignment_create(shift=scene["thursday"], volunteer=dan, role="counsellor")
    eve_fri = services.assignment_create(shift=scene["friday"], volunteer=eve, role="counsellor")
    services.shift_update(shift=scene["friday"], required_counsellors=3)
    Volunteer.objects.filter(pk=dan.pk).update(is_counsellor=False)
    # Cat, on Friday, has since taken time off: a rule a coordinator may set aside, so it
    # does not refuse the publish, but the edited Friday now has something to report.
    f.time_off(
        volunteer_=scene["cat"], starts_at=local(2027, 3, 26, 8), ends_at=local(2027, 3, 26, 16)
    )
    with pytest.raises(RuleViolation) as exc:
        services.roster_publish(roster=scene["roster"])
    assert exc.value.code == "role"
    assert Assignment.objects.get(pk=dan_thu.pk).status == "pending"
    assert Assignment.objects.get(pk=eve_fri.pk).status == "pending"


def test_a_published_removal_keeps_the_builders_reason_and_the_time_given(scene):  # noqa: F811
    """Kills roster_publish 112 (the reason dropped), 145, 147 (told at the clock's time)."""
    from scheduling.models import AssignmentNotice

    reason = {"kind": "removed", "why": "rest"}
    services.assignment_cancel(assignment=scene["cat_fri"], change_reason=reason)
    at = local(2027, 3, 21, 7)
    roster = services.roster_publish(roster=scene["roster"], now=at)
    assert roster.published_at == at
    cat_fri = Assignment.objects.get(pk=scene["cat_fri"].pk)
    assert (cat_fri.status, cat_fri.change_reason) == ("cancelled", reason)
    assert AssignmentNotice.objects.get(assignment=cat_fri).notified_at == at


def test_moving_a_shift_to_another_roster_is_refused(scene):  # noqa: F811
    """Kills shift_update 1."""
    from django.core.exceptions import ValidationError

    other = f.roster(hotline_=scene["hotline"], first_day=dt.date(2027, 4, 12))
    with pytest.raises(ValidationError) as exc:
        services.shift_update(shift=scene["thursday"], roster=other, required_counsellors=3)
    assert exc.value.message_dict == {"roster": ["A shift cannot move to another roster."]}


def stamp(scope, key) -> int:
    from hotline.models import ChangeStamp

    row = ChangeStamp.objects.filter(scope=scope, key=key).first()
    return row.version if row else 0


def test_moving_a_roster_to_another_hotline_changes_both_hotlines_feeds(scene):  # noqa: F811
    """And the feeds of everyone on it; a change that breaks the roster is refused. Kills
    roster_update 1–15 (no test of the staged subset reached it)."""
    from django.core.exceptions import ValidationError

    leeds = f.hotline(name="Leeds Line", time_zone="Europe/London")
    london = scene["hotline"]
    before = (
        stamp("open", london.pk),
        stamp("open", leeds.pk),
        stamp("volunteer", scene["amy"].pk),
    )
    roster = services.roster_update(roster=scene["roster"], hotline=leeds)
    assert roster.hotline == leeds
    assert scene["roster"].__class__.objects.get(pk=roster.pk).hotline == leeds
    after = (stamp("open", london.pk), stamp("open", leeds.pk), stamp("volunteer", scene["amy"].pk))
    assert [b + 1 for b in before] == list(after)
    with pytest.raises(ValidationError):
        services.roster_update(roster=roster, last_day=dt.date(2027, 3, 1))
    assert scene["roster"].__class__.objects.get(pk=roster.pk).last_day == dt.date(2027, 4, 11)


def test_shifts_from_patterns_carry_the_patterns_seats_and_only_this_hotlines(
    scene,  # noqa: F811
):
    """Kills roster_generate_shifts 6 (another hotline's patterns), 21, 29 (the pattern not
    linked), 33, 34 (its seats), 51 (the unfilled-slots feed not told)."""
    from scheduling.models import ShiftPattern

    def pattern(hotline, hour):
        return ShiftPattern.objects.create(
            hotline=hotline,
            name=f"{hour}h",
            start_time=dt.time(hour),
            end_time=dt.time(hour + 4),
            weekdays=[0, 1, 2, 3, 4, 5, 6],
            required_counsellors=1,
            required_family_educators=2,
            required_supervisors=1,
        )

    mine = pattern(scene["hotline"], 8)
    pattern(f.hotline(), 14)
    roster = f.roster(hotline_=scene["hotline"], first_day=dt.date(2027, 5, 3))
    before = stamp("open", scene["hotline"].pk)
    made = services.roster_generate_shifts(roster=roster)
    assert len(made) == 7 and stamp("open", scene["hotline"].pk) == before + 1
    shifts = list(roster.shifts.all())
    assert {
        (s.pattern_id, s.required_family_educators, s.required_supervisors) for s in shifts
    } == {(mine.pk, 2, 1)}


def test_a_staged_seats_role_change_is_judged_as_planned_even_in_the_freeze_window(
    scene,  # noqa: F811
):
    """The builder staged Dan onto Sunday (inside the window) and Bob's removal from it:
    as planned, a counsellor seat is free for Dan. Kills assignment_update 29, 36 (judged
    against the live roster, where Bob still holds it; 29 checked by hand)."""
    bob_sun = f.assignment(shift_=scene["sunday"], volunteer_=scene["bob"])
    services.assignment_cancel(assignment=bob_sun, stage=True)
    dan = f.volunteer(display_name="Dan", roles=("counsellor", "family_educator"))
    dan_sun = services.assignment_create(
        shift=scene["sunday"], volunteer=dan, role="family_educator", stage=True
    )
    changed = services.assignment_update(assignment=dan_sun, role="counsellor")
    assert (changed.pk, changed.role, changed.status) == (dan_sun.pk, "counsellor", "pending")


# --- the survivors of the whole-module run of 30 Nov (night) -----------------------------------


def test_a_discard_raises_the_stamps_of_the_feeds_the_staging_raised(scene):  # noqa: F811
    """Dan's staged seat counted in the open slots' SEQUENCE, and Cat's staged removal moved
    the DTSTAMP of her event: staging raised their feeds' stamps, and so must the discard
    that takes both back, or a feed keeps answering 304 (or its cached body) for what is no
    longer so. The bug behind roster_changes_discard 27, 40 (fixed)."""
    dan = f.volunteer(display_name="Dan")
    services.assignment_create(shift=scene["friday"], volunteer=dan, role="counsellor")
    services.assignment_cancel(assignment=scene["cat_fri"])
    hotline = scene["hotline"].pk
    before = (stamp("open", hotline), stamp("volunteer", scene["cat"].pk))
    assert services.roster_changes_discard(roster=scene["roster"]) == {
        "added": 1,
        "removed": 1,
        "shifts": 0,
    }
    after = (stamp("open", hotline), stamp("volunteer", scene["cat"].pk))
    assert after == (before[0] + 1, before[1] + 1)
    # Nothing staged: nothing to take back, no feed told to fetch again.
    services.roster_changes_discard(roster=scene["roster"])
    assert (stamp("open", hotline), stamp("volunteer", scene["cat"].pk)) == after


def test_publishing_one_roster_leaves_another_rosters_staged_times_alone(scene):  # noqa: F811
    """An April shift whose id is that of March's staged seat (on Friday) has new times staged. Kills
    roster_publish 9 (the shifts to apply looked up by the staged assignments' ids)."""
    april = f.roster(
        hotline_=scene["hotline"],
        first_day=dt.date(2027, 4, 12),
        last_day=dt.date(2027, 4, 18),
        status="published",
    )
    dan = f.volunteer(display_name="Dan")
    added = services.assignment_create(shift=scene["friday"], volunteer=dan, role="counsellor")
    free = max(Shift.objects.order_by("-pk")[0].pk, added.pk) + 1
    Assignment.objects.filter(pk=added.pk).update(id=free)
    starts = local(2027, 4, 14, 9)
    shift = f.shift(roster_=april, starts_at=starts, hours=6, pk=free)
    services.shift_update(
        shift=shift, starts_at=local(2027, 4, 14, 11), ends_at=local(2027, 4, 14, 17)
    )
    services.roster_publish(roster=scene["roster"])
    shift.refresh_from_db()
    assert (shift.starts_at, shift.pending_starts_at) == (starts, local(2027, 4, 14, 11))
    assert Assignment.objects.get(pk=free).status == "active"


def test_a_refused_publish_lists_the_problems_in_shift_order(scene):  # noqa: F811
    """Eve is staged onto Friday before Dan onto Thursday; both then lose the counsellor
    role. Kills roster_publish 47 (listed in the order they were staged)."""
    from hotline.models import Volunteer

    dan, eve = f.volunteer(display_name="Dan"), f.volunteer(display_name="Eve")
    services.assignment_cancel(assignment=scene["cat_fri"])
    services.assignment_cancel(assignment=scene["bob_thu"])
    services.assignment_create(shift=scene["friday"], volunteer=eve, role="counsellor")
    services.assignment_create(shift=scene["thursday"], volunteer=dan, role="counsellor")
    Volunteer.objects.filter(pk__in=[dan.pk, eve.pk]).update(is_counsellor=False)
    with pytest.raises(RuleViolation) as exc:
        services.roster_publish(roster=scene["roster"])
    names = [str(v.message) for v in exc.value.violations]
    assert len(names) == 2 and "Dan" in names[0] and "Eve" in names[1]


def test_an_automatic_swap_needs_a_seat_free_now(scene):  # noqa: F811
    """Thursday's two counsellor seats are full; Bob's removal is staged. A volunteer's own
    swap approved automatically takes effect at once, so Dan cannot take a seat that is
    free only after the publish. Kills assignment_create 33, 39 (judged as planned)."""
    services.assignment_cancel(assignment=scene["bob_thu"])
    dan = f.volunteer(display_name="Dan")
    with pytest.raises(RuleViolation) as exc:
        services.assignment_create(
            shift=scene["thursday"], volunteer=dan, role="counsellor", immediate=True
        )
    assert exc.value.code == "capacity"
    assert not Assignment.objects.filter(volunteer=dan).exists()


def test_an_assignment_made_with_its_own_time_is_urgent_and_told_then(scene):  # noqa: F811
    """An hour before Thursday's shift (the clock says days before): active at once, and the
    volunteer's notice is dated then. Kills assignment_create 11 (the mode at the clock's
    time) and 99 (told at the clock's time)."""
    from scheduling.models import AssignmentNotice

    services.assignment_cancel(assignment=scene["bob_thu"], now=local(2027, 3, 25, 7))
    dan = f.volunteer(display_name="Dan")
    at = local(2027, 3, 25, 8)
    added = services.assignment_create(
        shift=scene["thursday"], volunteer=dan, role="counsellor", now=at
    )
    assert added.change_mode == services.URGENT
    assert Assignment.objects.get(pk=added.pk).status == "active"
    assert AssignmentNotice.objects.get(assignment=added).notified_at == at


def test_an_assignment_keeps_its_source_and_reason(scene, coordinator):  # noqa: F811
    """The builder's seat says so (API `source`) and carries its reason for the volunteer; a
    reason given where no rule needed setting aside is not recorded as an override. Kills
    assignment_create 56, 61, 77."""
    dan = f.volunteer(display_name="Dan")
    reason = {"kind": "added", "why": "coverage"}
    added = services.assignment_create(
        shift=scene["friday"],
        volunteer=dan,
        role="counsellor",
        by=coordinator,
        source=Assignment.Source.AUTO,
        change_reason=reason,
        override_reason="she asked",
    )
    added = Assignment.objects.get(pk=added.pk)
    assert (added.source, added.change_reason) == (Assignment.Source.AUTO, reason)
    assert (added.override_reason, added.overridden_rules) == ("", [])


def test_a_writer_past_the_lock_is_refused_by_the_index_in_words(scene, monkeypatch):  # noqa: F811
    """If the rule layer were passed (a writer slipping past the shift lock), the unique index
    refuses a second active seat, as an overlap, with the volunteer's name. Kills
    assignment_create 80–90."""
    monkeypatch.setattr(services, "assignment_validate", lambda **kw: [])
    with pytest.raises(RuleViolation) as exc:
        services.assignment_create(
            shift=scene["sunday"], volunteer=scene["amy"], role="family_educator"
        )
    assert exc.value.code == "overlap"
    assert [str(v.message) for v in exc.value.violations] == ["Amy is already on this shift."]


def test_an_urgent_change_tells_only_that_volunteer_of_that_rosters_changes(scene, outbox):  # noqa: F811
    """Fay (on this roster) and Amy (on April's) have changes nobody told them of yet, left
    for their publish or the sweep; Amy's Sunday seat is cancelled at once: Amy hears of
    Sunday only. Kills _tell_now 1, 2, 4, 5."""
    april = f.roster(
        hotline_=scene["hotline"],
        first_day=dt.date(2027, 4, 12),
        last_day=dt.date(2027, 4, 18),
        status="published",
    )
    Assignment.objects.create(
        shift=f.shift(roster_=april, starts_at=local(2027, 4, 14, 9), hours=6),
        volunteer=scene["amy"],
        role="counsellor",
    )
    fay = f.volunteer(display_name="Fay")
    Assignment.objects.create(shift=scene["friday"], volunteer=fay, role="counsellor")
    seen = len(outbox)
    services.assignment_cancel(assignment=scene["amy_sun"])
    told = [m for m in list(outbox)[seen:] if m["purpose"] == "roster_change"]
    assert [m["to"] for m in told] == [scene["amy"].phone_number]
    assert "2027-03-21" in told[0]["body"] and "2027-04-14" not in told[0]["body"]


def test_a_form_check_judges_by_the_freeze_window(scene):  # noqa: F811
    """Without `at_once`, a check of Thursday (staged) counts Bob's staged removal, and a
    check of Sunday (urgent) does not count Dan's. Kills assignment_validate 3, 5."""
    services.assignment_cancel(assignment=scene["bob_thu"])
    eve = f.volunteer(display_name="Eve")
    assert (
        services.assignment_validate(shift=scene["thursday"], volunteer=eve, role="counsellor")
        == []
    )
    dan = f.volunteer(display_name="Dan")
    f.assignment(shift_=scene["sunday"], volunteer_=dan)
    Assignment.objects.filter(volunteer=dan).update(pending_cancel=True)  # staged last week
    with pytest.raises(RuleViolation) as exc:
        services.assignment_validate(shift=scene["sunday"], volunteer=eve, role="counsellor")
    assert exc.value.code == "capacity"


def test_a_shift_change_is_judged_for_everyone_on_it(scene):  # noqa: F811
    """Amy, first on Thursday, has lost the counsellor role; Bob is fine. Kills
    shift_hard_violations 16 (only the last assignment's problems kept)."""
    from hotline.models import Volunteer

    Volunteer.objects.filter(pk=scene["amy"].pk).update(is_counsellor=False)
    problems = services.shift_hard_violations(Shift.objects.get(pk=scene["thursday"].pk))
    assert [v.code for v in problems] == ["role"]


def test_no_freeze_window_stages_a_change_up_to_the_shifts_start(scene, settings):  # noqa: F811
    """ROSTER_FREEZE_HOURS = 0: half an hour before Sunday's shift a change still waits for
    the publish. Kills freeze_hours 5, 7, 13, 14."""
    settings.ROSTER_FREEZE_HOURS = 0
    half_an_hour_before = local(2027, 3, 21, 8, 30)
    assert services.change_mode(shift=scene["sunday"], now=half_an_hour_before) == services.STAGED
    assert (
        services.change_mode(shift=scene["sunday"], now=local(2027, 3, 21, 9, 1)) == services.URGENT
    )
