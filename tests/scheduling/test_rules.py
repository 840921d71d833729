"""The rule layer: every hard rule of DESIGN.md, checked by `check_assignment`."""

import datetime as dt
import zoneinfo

import pytest

from scheduling import rules
from scheduling.models import Availability
from scheduling.rules import availability_of, check_assignment, gap_between, local_week_bounds
from tests.support import factories as f

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
LONDON = zoneinfo.ZoneInfo("Europe/London")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = dt.UTC

pytestmark = pytest.mark.django_db


def codes(shift, volunteer, role="counsellor", **kw):
    return [v.code for v in check_assignment(shift=shift, volunteer=volunteer, role=role, **kw)]


@pytest.fixture
def hotline():
    return f.hotline(min_rest_hours=11)


@pytest.fixture
def roster(hotline):
    return f.roster(hotline_=hotline, first_day=dt.date(2026, 3, 2), last_day=dt.date(2026, 3, 15))


# --- each rule refused with its code ---------------------------------------------------


def test_check_assignment_valid_has_no_violations(roster):
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8))
    assert codes(shift, f.volunteer()) == []


def test_role_refused_when_volunteer_lacks_it(roster):
    shift = f.shift(roster_=roster)
    violations = check_assignment(
        shift=shift, volunteer=f.volunteer(roles=("family_educator",)), role="counsellor"
    )
    assert [v.code for v in violations] == [rules.ROLE]
    assert "does not hold the role" in violations[0].message


def test_unknown_role_refused(roster):
    assert codes(f.shift(roster_=roster), f.volunteer(), role="astronaut") == [rules.ROLE]


def test_crisis_training_refused_for_last_counsellor_seat(roster):
    shift = f.shift(roster_=roster, required_counsellors=2, crisis_trained_required=1)
    untrained = f.volunteer(crisis_trained=False)
    assert codes(shift, untrained) == []  # one untrained seat remains
    f.assignment(shift_=shift, volunteer_=f.volunteer(crisis_trained=False))
    assert codes(shift, untrained) == [rules.CRISIS_TRAINING]
    assert codes(shift, f.volunteer(crisis_trained=True)) == []


def test_crisis_training_satisfied_by_trained_colleague(roster):
    shift = f.shift(roster_=roster, required_counsellors=2, crisis_trained_required=1)
    f.assignment(shift_=shift, volunteer_=f.volunteer(crisis_trained=True))
    assert codes(shift, f.volunteer(crisis_trained=False)) == []


def test_capacity_refused_when_role_seats_full(roster):
    shift = f.shift(roster_=roster, required_counsellors=1)
    f.assignment(shift_=shift)
    violations = check_assignment(shift=shift, volunteer=f.volunteer(), role="counsellor")
    assert [v.code for v in violations] == [rules.CAPACITY]


def test_capacity_refused_for_role_the_shift_does_not_require(roster):
    shift = f.shift(roster_=roster, required_supervisors=0)
    violations = check_assignment(
        shift=shift, volunteer=f.volunteer(roles=("supervisor",)), role="supervisor"
    )
    assert [v.code for v in violations] == [rules.CAPACITY]
    assert "needs no" in violations[0].message


def test_cancelled_assignment_frees_its_seat(roster):
    shift = f.shift(roster_=roster, required_counsellors=1)
    f.assignment(shift_=shift, status="cancelled")
    assert codes(shift, f.volunteer()) == []


def test_overlap_refused_across_hotlines(roster):
    volunteer = f.volunteer()
    f.assignment(
        shift_=f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8)), volunteer_=volunteer
    )
    other = f.roster(hotline_=f.hotline())
    shift = f.shift(roster_=other, starts_at=f.at(2026, 3, 2, 12))
    assert rules.OVERLAP in codes(shift, volunteer)


def test_same_shift_twice_is_overlap(roster):
    volunteer = f.volunteer(roles=("counsellor", "family_educator"))
    shift = f.shift(roster_=roster)
    f.assignment(shift_=shift, volunteer_=volunteer, role="counsellor")
    assert codes(shift, volunteer, role="family_educator") == [rules.OVERLAP]


def test_back_to_back_is_no_overlap_but_rest_applies(roster):
    volunteer = f.volunteer()
    f.assignment(
        shift_=f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8)), volunteer_=volunteer
    )
    next_shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 14))
    assert codes(next_shift, volunteer) == [rules.REST]


def test_back_to_back_allowed_on_same_hotline_by_setting():
    hotline = f.hotline(allow_back_to_back=True)
    roster = f.roster(hotline_=hotline)
    volunteer = f.volunteer()
    f.assignment(
        shift_=f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8)), volunteer_=volunteer
    )
    assert codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 14)), volunteer) == []
    # A gap that is not zero still needs the full rest.
    assert codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 15)), volunteer) == [rules.REST]


def test_back_to_back_setting_does_not_apply_across_hotlines():
    first = f.roster(hotline_=f.hotline(allow_back_to_back=True))
    second = f.roster(hotline_=f.hotline(allow_back_to_back=True))
    volunteer = f.volunteer()
    f.assignment(shift_=f.shift(roster_=first, starts_at=f.at(2026, 3, 2, 8)), volunteer_=volunteer)
    assert codes(f.shift(roster_=second, starts_at=f.at(2026, 3, 2, 14)), volunteer) == [rules.REST]


def test_rest_refused_across_hotlines_and_met_exactly(roster):
    volunteer = f.volunteer()
    other = f.roster(hotline_=f.hotline())
    f.assignment(shift_=f.shift(roster_=other, starts_at=f.at(2026, 3, 2, 8)), volunteer_=volunteer)
    # Ends 14:00; 11 h rest → 01:00 next day at the earliest.
    assert codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 20)), volunteer) == [rules.REST]
    assert codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 3, 1)), volunteer) == []


def test_rest_applies_before_an_existing_later_shift(roster):
    volunteer = f.volunteer()
    f.assignment(
        shift_=f.shift(roster_=roster, starts_at=f.at(2026, 3, 3, 8)), volunteer_=volunteer
    )
    assert codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 20), hours=4), volunteer) == [
        rules.REST
    ]


def test_shift_crossing_midnight_overlaps_next_morning(roster):
    volunteer = f.volunteer()
    night = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 20), hours=12)  # 20:00–08:00
    assert night.local_end == f.at(2026, 3, 3, 8)
    f.assignment(shift_=night, volunteer_=volunteer)
    assert rules.OVERLAP in codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 3, 7)), volunteer)
    assert codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 3, 19)), volunteer) == []


def test_weekly_limit_refused_at_maximum(roster):
    volunteer = f.volunteer(max_shifts_per_week=2)
    for day in (2, 4):
        f.assignment(
            shift_=f.shift(roster_=roster, starts_at=f.at(2026, 3, day, 8)), volunteer_=volunteer
        )
    violations = check_assignment(
        shift=f.shift(roster_=roster, starts_at=f.at(2026, 3, 6, 8)),
        volunteer=volunteer,
        role="counsellor",
    )
    assert [v.code for v in violations] == [rules.WEEKLY_LIMIT]
    # The next Monday starts a new week.
    assert codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 9, 8)), volunteer) == []


def test_weekly_limit_week_boundary_in_shanghai(roster):
    """Sunday 08:00 and Monday 02:00 Shanghai are one UTC week but two local weeks."""
    volunteer = f.volunteer(max_shifts_per_week=1)
    sunday = f.shift(roster_=roster, starts_at=f.at(2026, 3, 8, 8), hours=5)  # Sun 00:00Z
    monday = f.shift(roster_=roster, starts_at=f.at(2026, 3, 9, 2), hours=5)  # Sun 18:00Z
    assert monday.starts_at.astimezone(UTC).weekday() == 6  # still Sunday in UTC
    f.assignment(shift_=sunday, volunteer_=volunteer)
    assert codes(monday, volunteer) == []
    # A second Sunday shift in the same local week is refused.
    late_sunday = f.shift(roster_=roster, starts_at=f.at(2026, 3, 8, 20), hours=4)
    assert rules.WEEKLY_LIMIT in codes(late_sunday, volunteer)


def test_weekly_limit_sunday_night_shift_belongs_to_its_start_week(roster):
    volunteer = f.volunteer(max_shifts_per_week=1)
    # Sunday 20:00 → Monday 08:00: starts in the week of 2 March.
    f.assignment(
        shift_=f.shift(roster_=roster, starts_at=f.at(2026, 3, 8, 20), hours=12),
        volunteer_=volunteer,
    )
    assert rules.WEEKLY_LIMIT in codes(
        f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8)), volunteer
    )
    assert codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 9, 20)), volunteer) == []


def test_weekly_limit_week_follows_the_hotline_zone():
    """Sunday 20:00 in New York is Monday in UTC and in Shanghai; the week is New York's."""
    hotline = f.hotline(time_zone="America/New_York", phone_number="+12125550100")
    roster = f.roster(
        hotline_=hotline, first_day=dt.date(2026, 4, 6), last_day=dt.date(2026, 4, 19)
    )
    volunteer = f.volunteer(max_shifts_per_week=1)
    sunday = f.shift(roster_=roster, starts_at=f.at(2026, 4, 12, 8, tz=NEW_YORK), hours=4)
    f.assignment(shift_=sunday, volunteer_=volunteer)
    sunday_night = f.shift(roster_=roster, starts_at=f.at(2026, 4, 12, 20, tz=NEW_YORK), hours=3)
    assert sunday_night.starts_at.astimezone(UTC).weekday() == 0  # Monday in UTC
    assert rules.WEEKLY_LIMIT in codes(sunday_night, volunteer)
    monday = f.shift(roster_=roster, starts_at=f.at(2026, 4, 13, 10, tz=NEW_YORK), hours=4)
    assert codes(monday, volunteer) == []


def test_weekly_limit_ignores_cancelled(roster):
    volunteer = f.volunteer(max_shifts_per_week=1)
    f.assignment(
        shift_=f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8)),
        volunteer_=volunteer,
        status="cancelled",
    )
    assert codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 4, 8)), volunteer) == []


def test_time_off_refused_and_touching_time_off_allowed(roster):
    volunteer = f.volunteer()
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8))
    f.time_off(volunteer_=volunteer, starts_at=f.at(2026, 3, 1, 0), ends_at=f.at(2026, 3, 2, 8))
    assert codes(shift, volunteer) == []
    f.time_off(volunteer_=volunteer, starts_at=f.at(2026, 3, 2, 13), ends_at=f.at(2026, 3, 3, 0))
    violations = check_assignment(shift=shift, volunteer=volunteer, role="counsellor")
    assert [v.code for v in violations] == [rules.TIME_OFF]
    assert violations[0].overridable


def test_unavailable_outside_windows(roster):
    volunteer = f.volunteer()
    f.availability(volunteer_=volunteer, weekday=0, start=dt.time(8), end=dt.time(12))
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8))  # Monday 08–14
    violations = check_assignment(shift=shift, volunteer=volunteer, role="counsellor")
    assert [v.code for v in violations] == [rules.UNAVAILABLE]
    assert violations[0].overridable


def test_available_when_windows_join_up(roster):
    volunteer = f.volunteer()
    f.availability(volunteer_=volunteer, weekday=0, start=dt.time(8), end=dt.time(12))
    f.availability(
        volunteer_=volunteer, weekday=0, start=dt.time(12), end=dt.time(14), kind="preferred"
    )
    assert codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8)), volunteer) == []


def test_availability_window_crossing_midnight_covers_night_shift(roster):
    volunteer = f.volunteer()
    f.availability(volunteer_=volunteer, weekday=0, start=dt.time(20), end=dt.time(8))
    night = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 20), hours=12)
    assert codes(night, volunteer) == []
    # The same window does not cover Tuesday night.
    assert codes(f.shift(roster_=roster, starts_at=f.at(2026, 3, 3, 20), hours=12), volunteer) == [
        rules.UNAVAILABLE
    ]


def test_inactive_volunteer_refused(roster):
    volunteer = f.volunteer(is_active=False)
    assert codes(f.shift(roster_=roster), volunteer) == [rules.INACTIVE]


def test_ignore_leaves_the_assignment_out_of_the_counts(roster):
    shift = f.shift(roster_=roster, required_counsellors=1)
    mine = f.assignment(shift_=shift)
    assert codes(shift, mine.volunteer, ignore=mine) == []


def test_check_assignment_query_count_is_fixed(roster, django_assert_max_num_queries):
    volunteer = f.volunteer(max_shifts_per_week=20)
    for day in range(2, 9):
        f.assignment(
            shift_=f.shift(roster_=roster, starts_at=f.at(2026, 3, day, 8), hours=2),
            volunteer_=volunteer,
        )
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 12, 8))
    shift = type(shift).objects.select_related("roster__hotline").get(pk=shift.pk)
    with django_assert_max_num_queries(4):
        check_assignment(shift=shift, volunteer=volunteer, role="counsellor")


# --- pure helpers -----------------------------------------------------------------------


def window(weekday, start, end, kind="available"):
    return Availability(
        weekday=weekday, start_time=dt.time(*start), end_time=dt.time(*end), kind=kind
    )


def test_availability_of_no_windows_means_available():
    assert availability_of([], f.at(2026, 3, 2, 8), f.at(2026, 3, 2, 14), SHANGHAI) == "available"


def test_availability_of_preferred_window():
    windows = [window(0, (8,), (14,), "preferred")]
    assert (
        availability_of(windows, f.at(2026, 3, 2, 8), f.at(2026, 3, 2, 14), SHANGHAI) == "preferred"
    )
    assert availability_of(windows, f.at(2026, 3, 2, 8), f.at(2026, 3, 2, 15), SHANGHAI) is None


def test_availability_of_partly_preferred_is_available():
    windows = [window(0, (8,), (10,), "preferred"), window(0, (10,), (14,))]
    assert (
        availability_of(windows, f.at(2026, 3, 2, 8), f.at(2026, 3, 2, 14), SHANGHAI) == "available"
    )


def test_availability_of_sunday_window_into_monday():
    windows = [window(6, (22,), (6,))]  # Sunday 22:00 → Monday 06:00
    assert (
        availability_of(windows, f.at(2026, 3, 9, 0), f.at(2026, 3, 9, 6), SHANGHAI) == "available"
    )
    assert availability_of(windows, f.at(2026, 3, 9, 0), f.at(2026, 3, 9, 7), SHANGHAI) is None


def test_availability_of_reads_windows_in_the_hotline_zone():
    windows = [window(0, (8,), (14,))]  # Monday 08–14 local
    london_start = dt.datetime(2026, 3, 2, 8, tzinfo=LONDON)
    assert availability_of(windows, london_start, london_start + dt.timedelta(hours=6), LONDON)
    assert (
        availability_of(windows, london_start, london_start + dt.timedelta(hours=6), SHANGHAI)
        is None
    )


def test_local_week_bounds_in_shanghai():
    start, end = local_week_bounds(f.at(2026, 3, 8, 23, 30), SHANGHAI)  # Sunday night
    assert start == f.at(2026, 3, 2, 0)
    assert end == f.at(2026, 3, 9, 0)
    assert start.tzinfo == UTC


def test_local_week_bounds_across_dst_is_167_hours():
    start, end = local_week_bounds(dt.datetime(2026, 3, 25, 12, tzinfo=LONDON), LONDON)
    assert start == dt.datetime(2026, 3, 23, 0, tzinfo=LONDON)
    assert end - start == dt.timedelta(hours=167)


def test_gap_between_overlap_touch_and_gap():
    a, b = f.at(2026, 3, 2, 8), f.at(2026, 3, 2, 14)
    assert gap_between(a, b, f.at(2026, 3, 2, 14), f.at(2026, 3, 2, 20)) == dt.timedelta(0)
    assert gap_between(a, b, f.at(2026, 3, 2, 12), f.at(2026, 3, 2, 20)) < dt.timedelta(0)
    assert gap_between(f.at(2026, 3, 2, 16), f.at(2026, 3, 2, 20), a, b) == dt.timedelta(hours=2)
