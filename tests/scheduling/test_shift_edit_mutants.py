"""Shift edits and shifts made from patterns, at the depth of the services: the tests that
kill surviving mutants of `scheduling/services.py` (`make mutants`, module `staged`):
`shift_update`, `_shift_edits_apply`, `_shift_feeds_changed`, `_roster_feeds_changed`,
`pattern_spans`, `_pattern_runs`. Each test names the mutants it kills."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError

from hotline import stamps
from hotline.models import ChangeStamp
from scheduling import services
from scheduling.models import Shift, ShiftPattern
from scheduling.notify import roster_changes_notify
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
LONDON = zoneinfo.ZoneInfo("Europe/London")
MON_TO_FRI = [0, 1, 2, 3, 4]

# The clock stands at Sat 2027-03-20 12:00 UTC (tests/support/scenes.NOW); the freeze window
# is 48 hours: Thursday 25 March is staged until Tuesday noon, urgent after.


# --- an urgent edit applies only what it changes --------------------------------------------


@pytest.fixture
def staged_thursday(clock):
    """A published Thursday 09:00–15:00 with a staged edit to 10:00–16:00 and 3 counsellors;
    then the clock moves to Wednesday noon, inside the freeze window."""
    roster = published_roster(london_hotline())
    thursday = f.shift(roster_=roster, starts_at=local(2027, 3, 25, 9), hours=6)
    staged = services.shift_update(
        shift=thursday,
        starts_at=local(2027, 3, 25, 10),
        ends_at=local(2027, 3, 25, 16),
        required_counsellors=3,
    )
    assert staged.change_mode == services.STAGED
    clock.set(dt.datetime(2027, 3, 24, 12, tzinfo=dt.UTC))
    return thursday


def test_an_urgent_start_change_keeps_the_staged_end_and_seats(staged_thursday):
    """Kills shift_update 47, 48, 49 (the staged start kept), 53 (the staged end dropped),
    56, 57 (the staged seats dropped)."""
    updated = services.shift_update(shift=staged_thursday, starts_at=local(2027, 3, 25, 8))
    assert updated.change_mode == services.URGENT
    shift = Shift.objects.get(pk=staged_thursday.pk)
    assert shift.starts_at == local(2027, 3, 25, 8)
    assert shift.pending_starts_at is None
    assert shift.pending_ends_at == local(2027, 3, 25, 16)
    assert shift.pending_requirements == {"required_counsellors": 3}
    # What a publish would make of it: the urgent start, the staged end and seats.
    planned = shift.planned()
    assert (planned.starts_at, planned.ends_at) == (local(2027, 3, 25, 8), local(2027, 3, 25, 16))
    assert planned.required_counsellors == 3


def test_an_urgent_end_change_keeps_the_staged_start(staged_thursday):
    """Kills shift_update 51, 52 (the staged end kept over the urgent one), 49 (the staged
    start dropped)."""
    services.shift_update(shift=staged_thursday, ends_at=local(2027, 3, 25, 14))
    shift = Shift.objects.get(pk=staged_thursday.pk)
    assert shift.ends_at == local(2027, 3, 25, 14)
    assert shift.pending_ends_at is None
    assert shift.pending_starts_at == local(2027, 3, 25, 10)
    planned = shift.planned()
    assert (planned.starts_at, planned.ends_at) == (local(2027, 3, 25, 10), local(2027, 3, 25, 14))


def test_an_urgent_seat_change_replaces_the_staged_one(staged_thursday):
    """Kills shift_update 57 (only the fields just applied kept as staged)."""
    services.shift_update(shift=staged_thursday, required_counsellors=1)
    shift = Shift.objects.get(pk=staged_thursday.pk)
    assert shift.required_counsellors == 1
    assert shift.pending_requirements == {}
    assert shift.planned().required_counsellors == 1


def test_an_unknown_field_is_refused_and_named(clock):
    """Kills shift_update 13 (any field written), 16–19 (the message names no fields)."""
    shift = f.shift(roster_=f.roster(hotline_=london_hotline()), starts_at=local(2027, 3, 25, 9))
    with pytest.raises(TypeError, match=r"^not a shift field: notes, pattern_id$"):
        services.shift_update(shift=shift, pattern_id=None, notes="x")


# --- calendar feeds --------------------------------------------------------------------------


def _version(scope: str, key: int) -> int:
    row = ChangeStamp.objects.filter(scope=scope, key=key).first()
    return row.version if row else 0


@pytest.fixture
def draft_shift_with_cat(clock):
    """A draft roster's shift with Cat on it, Cat's id unlike her assignment's."""
    hotline = london_hotline()
    roster = f.roster(hotline_=hotline, first_day=dt.date(2027, 3, 22))
    shift = f.shift(roster_=roster, starts_at=local(2027, 3, 25, 9))
    f.volunteer(), f.volunteer()
    cat = f.volunteer(display_name="Cat")
    on_it = f.assignment(shift_=shift, volunteer_=cat)
    assert on_it.pk != cat.pk  # the feed is the volunteer's, not the assignment's
    return hotline, roster, shift, cat, on_it


def test_a_shift_edit_raises_the_feeds_of_its_volunteers_and_open_slots(draft_shift_with_cat):
    """Kills _shift_feeds_changed 4 (assignment ids taken for volunteer ids), 6 (nobody on
    the shift), 13 (the hotline's unfilled-slots feed not raised)."""
    hotline, _roster, shift, cat, _on_it = draft_shift_with_cat
    cat_before = _version(stamps.VOLUNTEER, cat.pk)
    open_before = _version(stamps.OPEN, hotline.pk)
    services.shift_update(shift=shift, required_counsellors=3)
    assert _version(stamps.VOLUNTEER, cat.pk) == cat_before + 1
    assert _version(stamps.OPEN, hotline.pk) == open_before + 1


def test_a_roster_edit_raises_the_feeds_of_its_volunteers(draft_shift_with_cat):
    """Kills _roster_feeds_changed 4 (assignment ids taken for volunteer ids)."""
    _hotline, roster, _shift, cat, _on_it = draft_shift_with_cat
    before = _version(stamps.VOLUNTEER, cat.pk)
    services.roster_update(roster=roster, last_day=dt.date(2027, 3, 29))
    assert _version(stamps.VOLUNTEER, cat.pk) == before + 1


def test_a_direct_time_change_dates_the_calendar_entry_now(draft_shift_with_cat, clock):
    """The feed's DTSTAMP is the assignment's `updated_at`. Kills shift_update 64."""
    _hotline, _roster, shift, _cat, on_it = draft_shift_with_cat
    clock.advance(hours=1)
    services.shift_update(
        shift=shift, starts_at=local(2027, 3, 25, 10), ends_at=local(2027, 3, 25, 16)
    )
    on_it.refresh_from_db()
    assert on_it.sequence == 1
    assert on_it.updated_at == clock.now


def test_publishing_a_staged_time_change_dates_the_calendar_entry_then(clock, outbox):
    """The feed's DTSTAMP is the assignment's `updated_at`. Kills _shift_edits_apply 20."""
    roster = published_roster(london_hotline())
    thursday = f.shift(roster_=roster, starts_at=local(2027, 3, 25, 9), hours=6)
    amy = f.assignment(shift_=thursday, volunteer_=f.volunteer(display_name="Amy"))
    roster_changes_notify(roster=roster, now=clock.now)
    services.shift_update(
        shift=thursday, starts_at=local(2027, 3, 25, 10), ends_at=local(2027, 3, 25, 16)
    )
    clock.advance(hours=2)
    services.roster_publish(roster=roster, now=clock.now)
    amy.refresh_from_db()
    assert amy.sequence == 1
    assert amy.updated_at == clock.now


# --- shifts from patterns: the mainland's holidays ------------------------------------------


def _pattern(days, weekdays, name):
    return ShiftPattern(
        name=name,
        days=days,
        weekdays=weekdays,
        start_time=dt.time(9),
        end_time=dt.time(13),
        required_counsellors=1,
    )


def _local_days(spans, pattern, tz):
    return [start.astimezone(tz).strftime("%m-%d") for p, start, _end in spans if p is pattern]


# National Day 2025: a holiday 1–8 October; Sunday 28 September and Saturday 11 October are
# make-up working days.
def test_mainland_patterns_follow_holidays_and_make_up_working_days():
    """Kills _pattern_runs 1, 2, 6 (no holiday known), 8, 9, 10 (the holiday test turned),
    11, 12, 13, 14 (the working-day test turned); pattern_spans 19, 20, 21 (the hotline not
    on the mainland calendar), 23, 24, 26, 29 (no day's kind)."""
    workdays = _pattern(ShiftPattern.Days.WORKDAYS, MON_TO_FRI, "workdays")
    holidays = _pattern(ShiftPattern.Days.HOLIDAYS, [], "holidays")
    weekends = _pattern(ShiftPattern.Days.ALL, [5, 6], "weekends")
    spans = services.pattern_spans(
        [workdays, holidays, weekends], dt.date(2025, 9, 27), dt.date(2025, 10, 12), SHANGHAI
    )
    assert _local_days(spans, workdays, SHANGHAI) == [
        "09-28", "09-29", "09-30", "10-09", "10-10", "10-11",
    ]  # fmt: skip
    assert _local_days(spans, holidays, SHANGHAI) == [f"10-0{d}" for d in range(1, 9)]
    assert _local_days(spans, weekends, SHANGHAI) == [
        "09-27", "09-28", "10-04", "10-05", "10-11", "10-12",
    ]  # fmt: skip
    assert spans[0][1] == dt.datetime(2025, 9, 27, 9, tzinfo=SHANGHAI)


def test_a_year_without_a_holiday_notice_is_ordinary_days():
    """Kills _pattern_runs 3, 6 (the unknown year taken as known)."""
    workdays = _pattern(ShiftPattern.Days.WORKDAYS, MON_TO_FRI, "workdays")
    holidays = _pattern(ShiftPattern.Days.HOLIDAYS, [], "holidays")
    spans = services.pattern_spans(
        [workdays, holidays], dt.date(2030, 1, 7), dt.date(2030, 1, 13), SHANGHAI
    )
    assert _local_days(spans, workdays, SHANGHAI) == ["01-07", "01-08", "01-09", "01-10", "01-11"]
    assert _local_days(spans, holidays, SHANGHAI) == []


def test_a_hotline_off_the_mainland_keeps_its_weekdays_on_chinese_holidays():
    """Kills pattern_spans 25 (the mainland calendar applied in every zone)."""
    workdays = _pattern(ShiftPattern.Days.WORKDAYS, MON_TO_FRI, "workdays")
    spans = services.pattern_spans([workdays], dt.date(2025, 9, 27), dt.date(2025, 10, 12), LONDON)
    assert _local_days(spans, workdays, LONDON) == [
        "09-29", "09-30", "10-01", "10-02", "10-03",
        "10-06", "10-07", "10-08", "10-09", "10-10",
    ]  # fmt: skip


# --- shifts from patterns: at most MAX_PATTERN_DAYS days -------------------------------------


def test_patterns_make_shifts_for_400_days_and_refuse_401():
    """Kills pattern_spans 1, 3, 4 (the limit off by one or two), 6, 7 (the error on another
    field), 10, 11, 13, 14 (the message changed)."""
    first = dt.date(2026, 1, 1)
    daily = _pattern(ShiftPattern.Days.ALL, [0, 1, 2, 3, 4, 5, 6], "daily")
    assert services.MAX_PATTERN_DAYS == 400
    spans = services.pattern_spans([daily], first, first + dt.timedelta(days=399), LONDON)
    assert len(spans) == 400
    with pytest.raises(ValidationError) as refused:
        services.pattern_spans([daily], first, first + dt.timedelta(days=400), LONDON)
    assert refused.value.message_dict == {
        "last_day": [
            "Shifts are made from patterns for at most 400 days at a time: "
            "split the period into shorter rosters."
        ]
    }
