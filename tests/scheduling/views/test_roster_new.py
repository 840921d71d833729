"""Rosters from the site: "New roster" makes a roster with shifts from the hotline's
patterns; Chinese public holidays and make-up working days are marked on the board and
count (or not) as weekends in fairness."""

import datetime as dt

import pytest
from django.urls import reverse

from scheduling import holidays
from scheduling.builder import roster_instance
from scheduling.models import Roster, ShiftPattern
from tests.support import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotline():
    hotline = f.hotline(time_zone="Asia/Shanghai")
    ShiftPattern.objects.create(
        hotline=hotline,
        name="day",
        start_time=dt.time(8),
        end_time=dt.time(14),
        weekdays=[0, 1, 2, 3, 4, 5, 6],
        required_counsellors=1,
    )
    return hotline


def test_new_roster_from_the_home_page(client, coordinator, hotline):
    client.force_login(coordinator)
    home = client.get(reverse("scheduling:home")).content.decode()
    assert 'id="roster-new"' in home
    response = client.post(
        reverse("scheduling:roster-new"),
        {
            "hotline": hotline.pk,
            "first_day": "2026-09-28",
            "last_day": "2026-10-11",
            "with_patterns": "on",
        },
        follow=True,
    )
    roster = Roster.objects.get()
    assert roster.shifts.count() == 14 and roster.status == "draft"
    html = response.content.decode()
    assert "Roster made with 14 shifts." in html
    # The board marks the week's holidays and make-up working day.
    board = client.get(
        reverse("scheduling:roster-board", args=[roster.pk]), {"week": "2026-10-05"}
    ).content.decode()
    assert "public holiday: National Day" in board
    assert "make-up working day (National Day)" in board  # Saturday 10-10


def test_new_roster_refuses_a_backwards_period_and_is_for_coordinators(
    client, coordinator, volunteer, hotline
):
    client.force_login(volunteer.user)
    assert client.get(reverse("scheduling:roster-new")).status_code == 403
    client.force_login(coordinator)
    response = client.post(
        reverse("scheduling:roster-new"),
        {"hotline": hotline.pk, "first_day": "2026-10-11", "last_day": "2026-10-01"},
    )
    assert response.status_code == 400
    assert not Roster.objects.exists()


def test_holidays_count_as_weekends_and_make_up_days_do_not(hotline):
    roster = f.roster(
        hotline_=hotline, first_day=dt.date(2026, 10, 1), last_day=dt.date(2026, 10, 10)
    )
    holiday = f.shift(roster_=roster, starts_at=f.at(2026, 10, 1, 8))  # Thursday, National Day
    makeup = f.shift(roster_=roster, starts_at=f.at(2026, 10, 10, 8))  # Saturday, a working day
    plain = f.shift(roster_=roster, starts_at=f.at(2026, 10, 9, 8))  # Friday
    shifts = {s["id"]: s for s in roster_instance(roster)["shifts"]}
    assert shifts[holiday.pk]["weekend"] is True
    assert shifts[makeup.pk]["weekend"] is False
    assert "weekend" not in shifts[plain.pk]


def test_an_unknown_year_is_said_not_guessed():
    kind = holidays.day_kind(dt.date(2031, 10, 1))
    assert kind.kind == holidays.UNKNOWN
    assert holidays.counts_as_weekend(dt.date(2031, 10, 1)) is None


def test_holiday_patterns_of_their_own(hotline):
    from scheduling import services

    ShiftPattern.objects.filter(hotline=hotline).update(
        days=ShiftPattern.Days.WORKDAYS, weekdays=[0, 1, 2, 3, 4]
    )
    ShiftPattern.objects.create(
        hotline=hotline,
        name="holiday evening",
        start_time=dt.time(18),
        end_time=dt.time(23),
        weekdays=[],
        days=ShiftPattern.Days.HOLIDAYS,
        required_counsellors=2,
    )
    roster = services.roster_create(
        hotline=hotline, first_day=dt.date(2026, 9, 28), last_day=dt.date(2026, 10, 11)
    )
    by_day = {}
    for shift in roster.shifts.select_related("pattern"):
        by_day.setdefault(shift.local_start.date(), []).append(shift.pattern.name)
    assert by_day[dt.date(2026, 9, 28)] == ["day"]  # Monday, a working day
    assert by_day[dt.date(2026, 10, 1)] == ["holiday evening"]  # National Day
    assert dt.date(2026, 10, 4) in by_day and by_day[dt.date(2026, 10, 4)] == ["holiday evening"]
    assert by_day[dt.date(2026, 10, 10)] == ["day"]  # Saturday, a make-up working day
    assert dt.date(2026, 10, 11) not in by_day  # an ordinary Sunday
