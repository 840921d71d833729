"""The statistics layer against a known history (tests/support/stats.py): every figure, the
previous period, scopes, empty periods, and a query count independent of the calls."""

import datetime as dt
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.models import Hotline
from hotline.stats.periods import Period
from hotline.stats.scope import organisation_hotlines, scope_build
from hotline.stats.selectors import activity_stats
from tests.support import stats as h

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
MARCH = Period(first=dt.date(2026, 3, 1), last=dt.date(2026, 3, 31), tz=SHANGHAI)


@pytest.fixture
def scene(db, coordinator):
    return h.known_history(coordinator=coordinator)


def _stats(hotlines, period=MARCH, **kw):
    return activity_stats(scope=scope_build(hotlines, **kw), period=period, now=h.NOW)


def test_call_figures(scene):
    stats = _stats(Hotline.objects.filter(pk=scene.hotline.pk))
    assert stats["period"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert stats["calls"] == h.CALLS


def test_calls_by_day_and_hour_in_local_time(scene):
    stats = _stats(Hotline.objects.filter(pk=scene.hotline.pk))
    by_hour = {row["hour"]: (row["received"], row["answered"]) for row in stats["by_hour"]}
    assert by_hour == {hour: h.BY_HOUR.get(hour, (0, 0)) for hour in range(24)}
    assert len(stats["by_day"]) == 31
    by_day = {row["date"]: (row["received"], row["answered"]) for row in stats["by_day"]}
    assert {d: v for d, v in by_day.items() if v != (0, 0)} == h.BY_DAY
    assert stats["by_day"][0]["date"] == "2026-03-01"


def test_report_figures(scene):
    stats = _stats(Hotline.objects.filter(pk=scene.hotline.pk))
    assert stats["by_category"] == h.BY_CATEGORY
    assert stats["by_caller_group"] == h.BY_CALLER_GROUP
    assert stats["by_risk"] == h.BY_RISK
    assert stats["reports"] == {"filed": 4, "follow_ups_needed": 2}


def test_escalation_figures(scene):
    stats = _stats(Hotline.objects.filter(pk=scene.hotline.pk))
    assert stats["escalations"] == h.ESCALATIONS


def test_roster_figures(scene):
    roster = _stats(Hotline.objects.filter(pk=scene.hotline.pk))["roster"]
    assert roster["seats"] == 6
    assert roster["filled"] == 5
    assert roster["coverage"] == 0.8333
    assert roster["hours"] == 34.0
    assert roster["active_volunteers"] == 2
    assert roster["volunteer_hours"] == h.expected_volunteers(scene)
    assert roster["by_organisation"] == [
        {
            "organisation": scene.north.pk,
            "name": "North branch",
            "hours": 34.0,
            "shifts": 4,
            "volunteers": 2,
            "calls": 4,
        }
    ]


def test_previous_period_has_the_same_length(scene):
    previous = _stats(Hotline.objects.filter(pk=scene.hotline.pk))["previous"]
    assert previous["period"] == {"from": "2026-01-29", "to": "2026-02-28"}
    assert previous["calls"] == h.PREVIOUS_CALLS
    assert previous["by_risk"] == {"0": 0, "1": 0, "2": 1, "3": 0, "4": 0}
    assert previous["escalations"]["opened"] == 0
    assert previous["roster"]["hours"] == 6.0
    assert previous["roster"]["seats"] == 1
    assert "previous" not in previous


def test_everything_covers_both_hotlines(scene):
    stats = _stats(Hotline.objects.all())
    assert stats["calls"]["received"] == h.CALLS["received"] + 1
    assert stats["roster"]["hours"] == 34.0 + 8.0
    assert stats["scope"]["hotlines"] == [scene.hotline.pk, scene.other.pk]


def test_an_organisation_covers_the_hotlines_it_runs(scene):
    assert list(organisation_hotlines(scene.south)) == [scene.other]
    stats = _stats(organisation_hotlines(scene.south), organisation=scene.south)
    assert stats["calls"]["received"] == 1
    assert stats["roster"]["volunteer_hours"][0]["name"] == "Du Fei"
    assert stats["scope"]["organisation"] == scene.south.pk


def test_an_empty_period_gives_zeros(scene):
    empty = Period(first=dt.date(2030, 1, 1), last=dt.date(2030, 1, 31), tz=SHANGHAI)
    stats = _stats(Hotline.objects.all(), period=empty)
    assert stats["calls"]["received"] == 0
    assert stats["calls"]["answer_rate"] == 0.0
    assert stats["calls"]["wait_seconds"] == {"median": None, "p90": None}
    assert stats["escalations"]["ack_seconds"] == {"median": None, "max": None}
    assert stats["roster"]["coverage"] == 0.0
    assert set(stats["by_risk"].values()) == {0}


def test_an_empty_scope_gives_zeros(db):
    stats = _stats(Hotline.objects.none())
    assert stats["calls"]["received"] == 0
    assert stats["roster"]["volunteer_hours"] == []


def test_night_and_weekend_across_a_dst_change(db):
    """New York: the clocks go forward on Sunday 8 March 2026. A Saturday 22:00 shift that
    ends Sunday 08:00 is a night and a weekend, and lasts 9 real hours."""
    ny = zoneinfo.ZoneInfo("America/New_York")
    line = h.f.hotline(time_zone="America/New_York")
    v = h.f.volunteer(display_name="Eve")
    roster = h.f.roster(hotline_=line, status="published")
    start = dt.datetime(2026, 3, 7, 22, tzinfo=ny)
    shift = h.f.shift(
        roster_=roster,
        starts_at=start,
        ends_at=dt.datetime(2026, 3, 8, 8, tzinfo=ny),
        required_family_educators=0,
    )
    h.f.assignment(shift_=shift, volunteer_=v)
    period = Period(first=dt.date(2026, 3, 1), last=dt.date(2026, 3, 31), tz=ny)
    row = _stats(Hotline.objects.filter(pk=line.pk), period=period)["roster"]["volunteer_hours"]
    assert row[0]["hours"] == 9.0
    assert (row[0]["nights"], row[0]["weekends"]) == (1, 1)


def _history(n_calls: int):
    hotline = h.f.hotline()
    v = h.f.volunteer()
    for i in range(n_calls):
        c = h.call(
            hotline,
            h.at(2026, 3, 1 + i % 28, i % 24),
            outcome="answered",
            wait=i,
            by=v,
            caller="abc"[i % 3],
        )
        h.report(c, "psychological", "parent", i % 5)
        h.escalation(c, f"{i:04d}", c.arrived_at, ack=c.arrived_at + dt.timedelta(minutes=i))
    roster = h.f.roster(
        hotline_=hotline,
        first_day=dt.date(2026, 3, 1),
        last_day=dt.date(2026, 3, 31),
        status="published",
    )
    for i in range(n_calls):
        h.f.assignment(
            shift_=h.f.shift(roster_=roster, starts_at=h.at(2026, 3, 1 + i % 28, 8)),
            volunteer_=v,
        )
    return hotline


def _count_queries(hotline) -> int:
    with CaptureQueriesContext(connection) as ctx:
        _stats(Hotline.objects.filter(pk=hotline.pk))
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_calls(db):
    small = _count_queries(_history(3))
    large = _count_queries(_history(30))
    assert small == large
    assert large <= 30


@pytest.mark.parametrize(
    ("zone", "local", "day", "hour"),
    [
        ("Asia/Kathmandu", (2026, 3, 2, 9, 50), "2026-03-02", 9),  # UTC+05:45
        ("America/New_York", (2026, 3, 8, 1, 30), "2026-03-08", 1),  # before the change
        ("America/New_York", (2026, 3, 8, 3, 30), "2026-03-08", 3),  # after it
        ("America/New_York", (2026, 3, 31, 23, 59), "2026-03-31", 23),  # the last minute
    ],
)
def test_calls_counted_in_local_hours_of_any_zone(db, zone, local, day, hour):
    tz = zoneinfo.ZoneInfo(zone)
    line = h.f.hotline(time_zone=zone)
    h.call(line, dt.datetime(*local, tzinfo=tz), outcome="missed")
    h.call(line, dt.datetime(2026, 4, 1, 0, 0, tzinfo=tz), outcome="missed")  # outside
    period = Period(first=dt.date(2026, 3, 1), last=dt.date(2026, 3, 31), tz=tz)
    stats = _stats(Hotline.objects.filter(pk=line.pk), period=period)
    assert stats["calls"]["received"] == 1
    assert [r["hour"] for r in stats["by_hour"] if r["received"]] == [hour]
    assert [r["date"] for r in stats["by_day"] if r["received"]] == [day]


def test_offset_changes_are_found_to_the_second():
    from hotline.stats.sql import offset_changes

    ny = zoneinfo.ZoneInfo("America/New_York")
    first, changes = offset_changes(
        ny, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 31, tzinfo=dt.UTC)
    )
    assert first == -5 * 3600
    assert changes == [
        (dt.datetime(2026, 3, 8, 7, tzinfo=dt.UTC), -4 * 3600),
        (dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC), -5 * 3600),
    ]
