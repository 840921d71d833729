"""Shift patterns: local wall times kept across DST, nights crossing midnight, idempotent."""

import datetime as dt
import zoneinfo

import pytest

from scheduling import services
from scheduling.models import Shift, ShiftPattern
from tests.support import factories as f

LONDON = zoneinfo.ZoneInfo("Europe/London")
UTC = dt.UTC
EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]

pytestmark = pytest.mark.django_db


@pytest.fixture
def london():
    return f.hotline(time_zone="Europe/London", phone_number="+442079460000", language="en")


def pattern(hotline, start, end, **kw):
    kw.setdefault("weekdays", EVERY_DAY)
    kw.setdefault("required_counsellors", 2)
    kw.setdefault("crisis_trained_required", 1)
    return ShiftPattern.objects.create(
        hotline=hotline,
        name=f"{start}-{end}",
        start_time=dt.time(start),
        end_time=dt.time(end),
        **kw,
    )


def test_daily_0800_pattern_stays_0800_local_across_march_dst(london):
    pattern(london, 8, 14)
    # The UK moves to BST on Sunday 29 March 2026.
    roster = services.roster_create(
        hotline=london, first_day=dt.date(2026, 3, 27), last_day=dt.date(2026, 3, 31)
    )
    shifts = list(roster.shifts.order_by("starts_at"))
    assert [s.local_start.strftime("%m-%d %H:%M") for s in shifts] == [
        "03-27 08:00",
        "03-28 08:00",
        "03-29 08:00",
        "03-30 08:00",
        "03-31 08:00",
    ]
    assert [s.starts_at.astimezone(UTC).hour for s in shifts] == [8, 8, 7, 7, 7]
    assert all(s.hours == 6 for s in shifts)
    assert all(s.required_counsellors == 2 and s.crisis_trained_required == 1 for s in shifts)


def test_night_pattern_crosses_midnight_and_dst(london):
    pattern(london, 20, 8)
    roster = services.roster_create(
        hotline=london, first_day=dt.date(2026, 3, 27), last_day=dt.date(2026, 3, 29)
    )
    shifts = list(roster.shifts.order_by("starts_at"))
    assert [
        (s.local_start.strftime("%d %H:%M"), s.local_end.strftime("%d %H:%M")) for s in shifts
    ] == [
        ("27 20:00", "28 08:00"),
        ("28 20:00", "29 08:00"),
        ("29 20:00", "30 08:00"),
    ]
    # The night the clocks go forward is one hour shorter.
    assert [s.hours for s in shifts] == [12, 11, 12]


def test_daily_patterns_cover_the_day_in_shanghai():
    hotline = f.hotline()
    for start, end in ((8, 14), (14, 20), (20, 8)):
        pattern(hotline, start, end)
    roster = services.roster_create(
        hotline=hotline, first_day=dt.date(2026, 3, 2), last_day=dt.date(2026, 3, 3)
    )
    spans = [(s.starts_at, s.ends_at) for s in roster.shifts.order_by("starts_at")]
    assert len(spans) == 6
    # Back to back: each shift starts when the previous one ends.
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert spans[0][0] == f.at(2026, 3, 2, 8)
    assert spans[-1][1] == f.at(2026, 3, 4, 8)


def test_pattern_weekdays_are_respected():
    hotline = f.hotline()
    pattern(hotline, 9, 12, weekdays=[5, 6])  # weekends only
    roster = services.roster_create(
        hotline=hotline, first_day=dt.date(2026, 3, 2), last_day=dt.date(2026, 3, 8)
    )
    assert [s.local_start.weekday() for s in roster.shifts.all()] == [5, 6]


def test_inactive_pattern_ignored():
    hotline = f.hotline()
    pattern(hotline, 9, 12, is_active=False)
    roster = services.roster_create(
        hotline=hotline, first_day=dt.date(2026, 3, 2), last_day=dt.date(2026, 3, 8)
    )
    assert not roster.shifts.exists()


def test_generation_is_idempotent(london):
    pattern(london, 8, 14)
    pattern(london, 20, 8)
    roster = services.roster_create(
        hotline=london, first_day=dt.date(2026, 3, 27), last_day=dt.date(2026, 3, 31)
    )
    assert roster.shifts.count() == 10
    assert services.roster_generate_shifts(roster=roster) == []
    assert Shift.objects.filter(roster=roster).count() == 10


def test_generation_fills_only_missing_shifts(london):
    morning = pattern(london, 8, 14)
    roster = services.roster_create(
        hotline=london, first_day=dt.date(2026, 3, 27), last_day=dt.date(2026, 3, 28)
    )
    roster.shifts.order_by("starts_at").first().delete()
    created = services.roster_generate_shifts(roster=roster, patterns=[morning])
    assert len(created) == 1
    assert roster.shifts.count() == 2


def test_pattern_spans_pure():
    p = ShiftPattern(start_time=dt.time(20), end_time=dt.time(8), weekdays=[6])
    spans = services.pattern_spans([p], dt.date(2026, 3, 29), dt.date(2026, 3, 29), LONDON)
    assert spans == [
        (p, dt.datetime(2026, 3, 29, 19, tzinfo=UTC), dt.datetime(2026, 3, 30, 7, tzinfo=UTC))
    ]


def test_patterns_expand_at_most_400_days_in_one_go(london, admin_client):
    """A roster's dates bound the expansion (and the one transaction writing its shifts)."""
    from django.core.exceptions import ValidationError

    from scheduling.models import Roster

    pattern(london, 8, 14)
    with pytest.raises(ValidationError) as exc:
        services.roster_create(
            hotline=london, first_day=dt.date(2026, 1, 1), last_day=dt.date(2036, 1, 1)
        )
    # The roster itself is refused first (scheduling/validators.py: at most a year).
    assert "at most a year" in str(exc.value.message_dict["last_day"])
    assert not Shift.objects.exists() and not Roster.objects.exists()
    # A year is fine.
    roster = services.roster_create(
        hotline=london, first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 12, 31)
    )
    assert roster.shifts.count() == 365
    # The admin action says why instead of failing.
    long = Roster.objects.create(
        hotline=london, first_day=dt.date(2030, 1, 1), last_day=dt.date(2040, 1, 1)
    )
    response = admin_client.post(
        "/admin/scheduling/roster/",
        {"action": "generate_shifts", "_selected_action": [long.pk]},
        follow=True,
    )
    assert "at most 400 days" in response.content.decode()
    assert not long.shifts.exists()
