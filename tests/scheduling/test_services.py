"""Writes through scheduling.services: every refusal carries the rule's code."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from scheduling import rules, services
from scheduling.models import Assignment, Roster, Shift
from scheduling.rules import RuleViolation
from tests.support import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator():
    return f.coordinator_user()


@pytest.fixture
def roster():
    return f.roster(hotline_=f.hotline(min_rest_hours=11))


def refused(code, **kw):
    with pytest.raises(RuleViolation) as info:
        services.assignment_create(**kw)
    assert info.value.code == code
    assert info.value.message
    return info.value


def scene(rule, roster):
    """A (shift, volunteer, role) that breaks exactly `rule`."""
    volunteer = f.volunteer(max_shifts_per_week=5)
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 4, 8), required_counsellors=1)
    role = "counsellor"
    if rule == rules.ROLE:
        volunteer = f.volunteer(roles=("family_educator",))
    elif rule == rules.CRISIS_TRAINING:
        shift = f.shift(
            roster_=roster,
            starts_at=f.at(2026, 3, 4, 8),
            required_counsellors=1,
            crisis_trained_required=1,
        )
    elif rule == rules.OVERLAP:
        f.assignment(
            shift_=f.shift(roster_=roster, starts_at=f.at(2026, 3, 4, 10)), volunteer_=volunteer
        )
    elif rule == rules.REST:
        f.assignment(
            shift_=f.shift(roster_=roster, starts_at=f.at(2026, 3, 4, 14)), volunteer_=volunteer
        )
    elif rule == rules.WEEKLY_LIMIT:
        volunteer = f.volunteer(max_shifts_per_week=1)
        f.assignment(
            shift_=f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8)), volunteer_=volunteer
        )
    elif rule == rules.UNAVAILABLE:
        f.availability(volunteer_=volunteer, weekday=2, start=dt.time(18), end=dt.time(23))
    elif rule == rules.TIME_OFF:
        f.time_off(volunteer_=volunteer, starts_at=f.at(2026, 3, 4, 0), ends_at=f.at(2026, 3, 5, 0))
    elif rule == rules.CAPACITY:
        f.assignment(shift_=shift)
    elif rule == rules.INACTIVE:
        volunteer = f.volunteer(is_active=False)
    return shift, volunteer, role


ALL = [*rules.ALL_CODES, rules.INACTIVE]


@pytest.mark.parametrize("rule", ALL)
def test_assignment_create_refuses_each_rule_with_its_code(rule, roster, coordinator):
    shift, volunteer, role = scene(rule, roster)
    before = Assignment.objects.count()
    error = refused(rule, shift=shift, volunteer=volunteer, role=role, by=coordinator)
    assert [v.code for v in error.violations] == [rule]
    assert Assignment.objects.count() == before


def test_assignment_create_records_who_and_how(roster, coordinator):
    shift = f.shift(roster_=roster)
    volunteer = f.volunteer()
    a = services.assignment_create(
        shift=shift, volunteer=volunteer, role="counsellor", by=coordinator, locked=True
    )
    assert (a.status, a.source, a.locked, a.created_by, a.sequence) == (
        "active",
        "manual",
        True,
        coordinator,
        0,
    )
    assert a.overridden_rules == [] and a.override_reason == ""


@pytest.mark.parametrize("rule", [rules.UNAVAILABLE, rules.TIME_OFF])
def test_coordinator_overrides_soft_rule_with_recorded_reason(rule, roster, coordinator):
    shift, volunteer, role = scene(rule, roster)
    a = services.assignment_create(
        shift=shift,
        volunteer=volunteer,
        role=role,
        by=coordinator,
        override_reason="  agreed by phone ",
    )
    a.refresh_from_db()
    assert a.overridden_rules == [rule]
    assert a.override_reason == "agreed by phone"


@pytest.mark.parametrize("reason", ["", "   "])
def test_override_needs_a_reason(reason, roster, coordinator):
    shift, volunteer, role = scene(rules.TIME_OFF, roster)
    refused(
        rules.TIME_OFF,
        shift=shift,
        volunteer=volunteer,
        role=role,
        by=coordinator,
        override_reason=reason,
    )
    assert not Assignment.objects.filter(volunteer=volunteer).exists()


def test_volunteer_cannot_override(roster):
    shift, volunteer, role = scene(rules.UNAVAILABLE, roster)
    refused(
        rules.UNAVAILABLE,
        shift=shift,
        volunteer=volunteer,
        role=role,
        by=volunteer.user,
        override_reason="I really can",
    )
    refused(
        rules.UNAVAILABLE, shift=shift, volunteer=volunteer, role=role, by=None, override_reason="x"
    )


@pytest.mark.parametrize(
    "rule",
    [c for c in ALL if c not in (rules.UNAVAILABLE, rules.TIME_OFF)],
)
def test_hard_rules_are_never_overridden(rule, roster, coordinator):
    shift, volunteer, role = scene(rule, roster)
    refused(
        rule, shift=shift, volunteer=volunteer, role=role, by=coordinator, override_reason="please"
    )


def test_hard_rule_refuses_even_alongside_an_overridable_one(roster, coordinator):
    shift, volunteer, role = scene(rules.REST, roster)
    f.time_off(volunteer_=volunteer, starts_at=f.at(2026, 3, 4, 0), ends_at=f.at(2026, 3, 5, 0))
    error = refused(
        rules.REST,
        shift=shift,
        volunteer=volunteer,
        role=role,
        by=coordinator,
        override_reason="ok",
    )
    assert [v.code for v in error.violations] == [rules.REST]


def test_assignment_update_role_change_is_checked_and_sequence_grows(roster, coordinator):
    shift = f.shift(roster_=roster, required_counsellors=1, required_family_educators=1)
    volunteer = f.volunteer(roles=("counsellor", "family_educator"))
    a = services.assignment_create(
        shift=shift, volunteer=volunteer, role="counsellor", by=coordinator
    )
    a = services.assignment_update(assignment=a, by=coordinator, role="family_educator")
    assert (a.role, a.sequence) == ("family_educator", 1)
    with pytest.raises(RuleViolation) as info:
        services.assignment_update(assignment=a, by=coordinator, role="supervisor")
    assert info.value.code == rules.ROLE
    a.refresh_from_db()
    assert (a.role, a.sequence) == ("family_educator", 1)
    a = services.assignment_update(assignment=a, by=coordinator, locked=True)
    assert (a.locked, a.sequence) == (True, 2)
    # No change, no new sequence.
    assert services.assignment_update(assignment=a, by=coordinator, locked=True).sequence == 2


def test_assignment_cancel_keeps_the_row_and_frees_the_seat(roster, coordinator):
    shift = f.shift(roster_=roster, required_counsellors=1)
    a = services.assignment_create(
        shift=shift, volunteer=f.volunteer(), role="counsellor", by=coordinator
    )
    a = services.assignment_cancel(assignment=a, by=coordinator)
    assert (a.status, a.sequence) == ("cancelled", 1)
    assert services.assignment_cancel(assignment=a, by=coordinator).sequence == 1
    services.assignment_create(
        shift=shift, volunteer=f.volunteer(), role="counsellor", by=coordinator
    )
    with pytest.raises(ValidationError):
        services.assignment_update(assignment=a, by=coordinator, locked=True)


def test_same_volunteer_can_return_after_cancellation(roster, coordinator):
    shift = f.shift(roster_=roster)
    volunteer = f.volunteer()
    a = services.assignment_create(
        shift=shift, volunteer=volunteer, role="counsellor", by=coordinator
    )
    services.assignment_cancel(assignment=a, by=coordinator)
    again = services.assignment_create(
        shift=shift, volunteer=volunteer, role="counsellor", by=coordinator
    )
    assert again.pk != a.pk


def test_assignment_confirm_only_own(roster):
    a = f.assignment(shift_=f.shift(roster_=roster))
    with pytest.raises(PermissionDenied):
        services.assignment_confirm(assignment=a, volunteer=f.volunteer())
    confirmed = services.assignment_confirm(assignment=a, volunteer=a.volunteer)
    assert confirmed.confirmed_at is not None


def test_assignment_validate_writes_nothing(roster, coordinator):
    shift, volunteer, role = scene(rules.TIME_OFF, roster)
    with pytest.raises(RuleViolation):
        services.assignment_validate(shift=shift, volunteer=volunteer, role=role, by=coordinator)
    assert services.assignment_validate(
        shift=shift, volunteer=volunteer, role=role, by=coordinator, override_reason="ok"
    ) == [rules.TIME_OFF]
    assert not Assignment.objects.exists()


def test_shift_update_refuses_move_that_breaks_a_hard_rule(roster, coordinator):
    volunteer = f.volunteer()
    morning = f.shift(roster_=roster, starts_at=f.at(2026, 3, 4, 8))
    evening = f.shift(roster_=roster, starts_at=f.at(2026, 3, 5, 8))
    services.assignment_create(
        shift=morning, volunteer=volunteer, role="counsellor", by=coordinator
    )
    a = services.assignment_create(
        shift=evening, volunteer=volunteer, role="counsellor", by=coordinator
    )
    with pytest.raises(RuleViolation) as info:
        services.shift_update(
            shift=evening,
            by=coordinator,
            starts_at=f.at(2026, 3, 4, 12),
            ends_at=f.at(2026, 3, 4, 18),
        )
    assert info.value.code == rules.OVERLAP
    evening.refresh_from_db()
    assert evening.starts_at == f.at(2026, 3, 5, 8)
    # A harmless move bumps the sequence of the assignments on it.
    services.shift_update(
        shift=evening, by=coordinator, starts_at=f.at(2026, 3, 5, 9), ends_at=f.at(2026, 3, 5, 15)
    )
    a.refresh_from_db()
    assert a.sequence == 1


def test_shift_update_refuses_fewer_seats_than_volunteers(roster, coordinator):
    shift = f.shift(roster_=roster, required_counsellors=2)
    for _ in range(2):
        services.assignment_create(
            shift=shift, volunteer=f.volunteer(), role="counsellor", by=coordinator
        )
    with pytest.raises(RuleViolation) as info:
        services.shift_update(shift=shift, by=coordinator, required_counsellors=1)
    assert info.value.code == rules.CAPACITY
    shift.refresh_from_db()
    assert shift.required_counsellors == 2


def test_shift_update_refuses_end_before_start(roster):
    shift = f.shift(roster_=roster)
    with pytest.raises(ValidationError):
        services.shift_update(shift=shift, ends_at=shift.starts_at)


def test_roster_publish(roster, coordinator):
    published = services.roster_publish(roster=roster, by=coordinator)
    assert published.status == "published" and published.published_at is not None


# --- deletes ------------------------------------------------------------------------------------

PUBLISHED_ROSTER = "A published roster cannot be deleted."
VOLUNTEERS_ON = "Volunteers are on this shift; cancel their assignments first."
SHIFT_PUBLISHED = "This shift has been published to volunteers; it cannot be deleted."


def _refusal(delete, **kw) -> list[str]:
    with pytest.raises(ValidationError) as info:
        delete(**kw)
    return info.value.messages


def test_roster_delete_draft_takes_its_shifts_and_assignments(roster):
    f.assignment(shift_=f.shift(roster_=roster))
    services.roster_delete(roster=roster)
    assert not Roster.objects.exists() and not Shift.objects.exists()
    assert not Assignment.objects.exists()


def test_roster_delete_refuses_a_published_roster(roster):
    Roster.objects.filter(pk=roster.pk).update(status="published")
    # Even through a copy that still says "draft": the service reads the row it locks.
    assert _refusal(services.roster_delete, roster=roster) == [PUBLISHED_ROSTER]
    assert Roster.objects.filter(pk=roster.pk).exists()


def test_shift_delete(roster):
    shift = f.shift(roster_=roster)
    services.shift_delete(shift=shift)
    assert not Shift.objects.exists()


def test_shift_delete_refuses_a_shift_with_volunteers(roster):
    shift = f.shift(roster_=roster)
    f.assignment(shift_=shift)
    assert _refusal(services.shift_delete, shift=shift) == [VOLUNTEERS_ON]


def test_shift_delete_of_a_published_roster(roster):
    Roster.objects.filter(pk=roster.pk).update(status="published")
    empty, cancelled_only = f.shift(roster_=roster), f.shift(roster_=roster)
    f.assignment(shift_=cancelled_only, status="cancelled")
    # Its cancelled assignments are what volunteers' calendars show as cancelled.
    assert _refusal(services.shift_delete, shift=cancelled_only) == [SHIFT_PUBLISHED]
    services.shift_delete(shift=empty)  # nobody was ever on it
    assert list(Shift.objects.all()) == [cancelled_only]


def test_shift_delete_in_a_draft_roster_takes_cancelled_assignments(roster):
    shift = f.shift(roster_=roster)
    f.assignment(shift_=shift, status="cancelled")
    services.shift_delete(shift=shift)
    assert not Assignment.objects.exists()
