"""The statistics layer, what the mutation run (bin/mutants.py stats) found unpinned: the crisis
figures a supervisor reads, a volunteer's own service record (/me/hours/) in a zone other
than the server's, and the edges of the figures (ties, rounding, the previous period).
docs/testing.md lists the mutants these were written for."""

import datetime as dt
import zoneinfo

import pytest

from hotline.models import Hotline, TaxonomyCategory
from hotline.stats.periods import Period
from hotline.stats.scope import scope_build
from hotline.stats.selectors import (
    activity_stats,
    call_figures,
    crisis_stats,
    escalation_figures,
    report_figures,
    roster_figures,
    volunteer_service,
)
from tests.support import stats as h

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
MARCH = Period(first=dt.date(2026, 3, 1), last=dt.date(2026, 3, 31), tz=SHANGHAI)


@pytest.fixture
def scene(db, coordinator):
    return h.known_history(coordinator=coordinator)


def test_the_crisis_figures_of_a_period_and_the_one_before(scene):
    stats = crisis_stats(
        scope=scope_build(Hotline.objects.filter(pk=scene.hotline.pk)), period=MARCH
    )
    assert stats == {
        "period": {"from": "2026-03-01", "to": "2026-03-31"},
        "by_risk": h.BY_RISK,
        "escalations": h.ESCALATIONS,
        "previous": {
            "period": {"from": "2026-01-29", "to": "2026-02-28"},
            "by_risk": {"0": 0, "1": 0, "2": 1, "3": 0, "4": 0},
            "escalations": {
                "opened": 0,
                "acknowledged": 0,
                "resolved": 0,
                "ack_seconds": {"median": None, "max": None},
                "by_outcome": {o: 0 for o in h.ESCALATIONS["by_outcome"]},
                "reached_tier": {"1": 0, "2": 0, "3": 0},
            },
        },
    }


def _march_roster(line):
    """A roster of March 2026 on `line`, published."""
    return h.f.roster(
        hotline_=line,
        first_day=dt.date(2026, 3, 1),
        last_day=dt.date(2026, 3, 31),
        status="published",
    )


def _served_shift(volunteer, starts_at, hours, *, status="published", assignment="active"):
    roster = h.f.roster(
        hotline_=h.f.hotline(),
        first_day=starts_at.date() - dt.timedelta(days=1),
        last_day=starts_at.date() + dt.timedelta(days=1),
        status=status,
    )
    shift = h.f.shift(
        roster_=roster,
        starts_at=starts_at,
        hours=hours,
        required_counsellors=1,
        required_family_educators=0,
        required_supervisors=0,
    )
    return h.f.assignment(shift_=shift, volunteer_=volunteer, status=assignment)


def test_a_volunteers_record_counts_served_shifts_and_answered_calls_only(db):
    """Only active assignments on published rosters whose shift is over count; only calls
    the volunteer answered."""
    v = h.f.volunteer(display_name="Eve")
    now = h.at(2026, 3, 20, 12)
    _served_shift(v, h.at(2026, 3, 2, 8), 6)  # counted
    _served_shift(v, h.at(2026, 3, 3, 8), 5, assignment="cancelled")
    _served_shift(v, h.at(2026, 3, 4, 8), 4, status="draft")
    _served_shift(v, h.at(2026, 3, 20, 8), 8)  # not over at `now`
    line = h.f.hotline()
    h.call(line, h.at(2026, 3, 2, 9), outcome="answered", wait=3, by=v)
    h.call(line, h.at(2026, 3, 2, 10), outcome="voicemail", by=v)  # not an answered call
    record = volunteer_service(volunteer=v, now=now, tz=SHANGHAI)
    assert record == {
        "months": [
            {
                "month": "2026-03",
                "hours": 6.0,
                "shifts": 1,
                "nights": 0,
                "weekends": 0,
                "calls": 1,
            }
        ],
        "total": {"hours": 6.0, "shifts": 1, "nights": 0, "weekends": 0, "calls": 1},
        "since": "2026-03",
    }


def test_a_volunteers_nights_and_weekends_are_counted_in_the_zone_asked_for(db):
    """New York: a Friday shift 21:00–22:30 local is neither a night nor a weekend there,
    though it is Saturday 01:00 in UTC and Saturday 09:00 in Shanghai (the server's zone,
    whichever the process uses); one from Thursday 23:00 to 03:00 local is a night."""
    v = h.f.volunteer(display_name="Eve")
    _served_shift(v, dt.datetime(2026, 3, 13, 21, tzinfo=NEW_YORK), 1.5)
    _served_shift(v, dt.datetime(2026, 3, 12, 23, tzinfo=NEW_YORK), 4)
    record = volunteer_service(volunteer=v, now=h.at(2026, 3, 20, 12), tz=NEW_YORK)
    assert record["total"] == {"hours": 5.5, "shifts": 2, "nights": 1, "weekends": 0, "calls": 0}


def test_hours_are_shown_to_the_hundredth_and_months_without_calls_show_none(db):
    """Five 20-hour shifts and one of 6 h 20 min in one month: 106.33 hours (not 106.333,
    not 106.30 as a division by the wrong number of seconds would give); no calls."""
    v = h.f.volunteer(display_name="Eve")
    for day in (2, 3, 4, 5, 6):
        _served_shift(v, h.at(2026, 3, day, 1), 20)
    _served_shift(v, h.at(2026, 3, 9, 8), 6 + 1 / 3)
    record = volunteer_service(volunteer=v, now=h.at(2026, 3, 20, 12), tz=SHANGHAI)
    (month,) = record["months"]
    assert month == {
        "month": "2026-03",
        "hours": 106.33,
        "shifts": 6,
        "nights": 5,
        "weekends": 0,
        "calls": 0,
    }
    assert record["total"]["hours"] == 106.33


def test_waits_count_answered_calls_with_an_answer_time_only(db):
    """An answered call without an answer time (an old row) and a missed call that has one
    stay out of the waits: the median of 10 s and 30 s is 20 s."""
    line = h.f.hotline()
    v = h.f.volunteer()
    h.call(line, h.at(2026, 3, 2, 9), outcome="answered", wait=10, by=v)
    h.call(line, h.at(2026, 3, 2, 10), outcome="answered", wait=30, by=v)
    h.call(line, h.at(2026, 3, 2, 11), outcome="answered", by=v)  # no answer time
    h.call(line, h.at(2026, 3, 2, 12), outcome="missed", wait=1)
    stats = activity_stats(
        scope=scope_build(Hotline.objects.filter(pk=line.pk)), period=MARCH, now=h.NOW
    )
    assert (stats["calls"]["answered"], stats["calls"]["missed"]) == (3, 1)
    assert stats["calls"]["wait_seconds"] == {"median": 20, "p90": 30}


def test_seats_count_every_role_a_shift_needs(db):
    """Two counsellors, one family educator and one supervisor: four seats, two filled by
    two volunteers who served without taking a call."""
    line = h.f.hotline()
    roster = _march_roster(line)
    shift = h.f.shift(
        roster_=roster,
        starts_at=h.at(2026, 3, 2, 8),
        required_counsellors=2,
        required_family_educators=1,
        required_supervisors=1,
    )
    h.f.assignment(shift_=shift)
    h.f.assignment(shift_=shift)
    roster_figures = activity_stats(
        scope=scope_build(Hotline.objects.filter(pk=line.pk)), period=MARCH, now=h.NOW
    )["roster"]
    assert (roster_figures["seats"], roster_figures["filled"], roster_figures["coverage"]) == (
        4,
        2,
        0.5,
    )
    assert [(p["shifts"], p["calls"]) for p in roster_figures["volunteer_hours"]] == [
        (1, 0),
        (1, 0),
    ]


def test_people_who_answered_calls_without_a_shift_are_listed_with_their_organisation(db):
    """Ann served a shift and answered a call; Bo (West branch) and Cy (no organisation)
    answered calls without serving a shift here (rung as a last resort). A missed call that
    rang Bo and an answered call with nobody recorded count for no one."""
    line = h.f.hotline()
    east, west = h.f.organisation(name="East branch"), h.f.organisation(name="West branch")
    ann = h.f.volunteer(display_name="Ann", organisation=east)
    bo = h.f.volunteer(display_name="Bo", organisation=west)
    cy = h.f.volunteer(display_name="Cy", organisation=None)
    roster = _march_roster(line)
    h.f.assignment(shift_=h.f.shift(roster_=roster, starts_at=h.at(2026, 3, 2, 8)), volunteer_=ann)
    h.call(line, h.at(2026, 3, 2, 9), outcome="answered", wait=5, by=ann)
    h.call(line, h.at(2026, 3, 2, 10), outcome="answered", wait=5, by=bo)
    h.call(line, h.at(2026, 3, 2, 11), outcome="missed", by=bo)
    h.call(line, h.at(2026, 3, 2, 12), outcome="answered", wait=5, by=cy)
    h.call(line, h.at(2026, 3, 2, 13), outcome="answered", wait=5)
    roster_figures = activity_stats(
        scope=scope_build(Hotline.objects.filter(pk=line.pk)), period=MARCH, now=h.NOW
    )["roster"]
    blank = {"hours": 0.0, "shifts": 0, "nights": 0, "weekends": 0}
    assert roster_figures["volunteer_hours"] == [
        {
            "volunteer": ann.pk,
            "name": "Ann",
            "organisation": east.pk,
            "organisation_name": "East branch",
            **blank,
            "hours": 6.0,
            "shifts": 1,
            "calls": 1,
        },
        {
            "volunteer": bo.pk,
            "name": "Bo",
            "organisation": west.pk,
            "organisation_name": "West branch",
            **blank,
            "calls": 1,
        },
        {
            "volunteer": cy.pk,
            "name": "Cy",
            "organisation": None,
            "organisation_name": "",
            **blank,
            "calls": 1,
        },
    ]
    assert roster_figures["by_organisation"] == [
        {
            "organisation": east.pk,
            "name": "East branch",
            "hours": 6.0,
            "shifts": 1,
            "volunteers": 1,
            "calls": 1,
        },
        {"organisation": None, "name": "", "hours": 0.0, "shifts": 0, "volunteers": 1, "calls": 1},
        {
            "organisation": west.pk,
            "name": "West branch",
            "hours": 0.0,
            "shifts": 0,
            "volunteers": 1,
            "calls": 1,
        },
    ]


def test_a_period_without_shifts_has_no_seats(db):
    line = h.f.hotline()
    roster_figures = activity_stats(
        scope=scope_build(Hotline.objects.filter(pk=line.pk)), period=MARCH, now=h.NOW
    )["roster"]
    assert (roster_figures["seats"], roster_figures["filled"], roster_figures["coverage"]) == (
        0,
        0,
        0.0,
    )


# --- survivors of the whole-module run of 2026-11-30 (/work/wt/EQUIV-stats.md) ---------------


def _two_lines():
    line, other = h.f.hotline(), h.f.hotline()
    return line, other, scope_build(Hotline.objects.filter(pk=line.pk))


def test_reports_count_the_scopes_hotlines_and_only_reports_asking_a_follow_up(db):
    """Kills report_figures__mutmut_15 (another hotline's reports counted) and _34 (the
    reports without a follow-up counted as follow-ups)."""
    line, other, scope = _two_lines()
    v = h.f.volunteer()
    for hour, follow_up in ((9, True), (10, False), (11, False)):
        c = h.call(line, h.at(2026, 3, 2, hour), outcome="answered", wait=5, by=v)
        h.report(c, "psychological", "parent", 1, follow_up=follow_up)
    elsewhere = h.call(other, h.at(2026, 3, 2, 12), outcome="answered", wait=5, by=v)
    h.report(elsewhere, "psychological", "parent", 1, follow_up=True)
    figures = report_figures(scope, MARCH)
    assert figures["reports"] == {"filed": 3, "follow_ups_needed": 1}
    assert figures["by_category"]["psychological"] == 3


def test_a_category_no_longer_offered_appears_only_when_used(db):
    """A retired category used twice in the period is counted under its code; a retired one
    nobody used is not listed. Kills _offered__mutmut_11 (retired categories listed) and
    report_figures__mutmut_68, _70 (a code not listed breaks the figures), _71 (counted
    one too many)."""
    line, _, scope = _two_lines()
    for code in ("retired_used", "retired_unused"):
        TaxonomyCategory.objects.create(code=code, label_zh_hans=code, label_en=code, active=False)
    v = h.f.volunteer()
    for hour in (9, 10):
        c = h.call(line, h.at(2026, 3, 2, hour), outcome="answered", wait=5, by=v)
        h.report(c, "retired_used", "parent", 1)
    by_category = report_figures(scope, MARCH)["by_category"]
    assert by_category["retired_used"] == 2
    assert "retired_unused" not in by_category


def test_escalations_count_the_scopes_hotlines_only(db):
    """Kills escalation_figures__mutmut_5 (another hotline's escalations counted)."""
    line, other, scope = _two_lines()
    for code, hotline in (("0001", line), ("0002", other)):  # codes are four digits
        c = h.call(hotline, h.at(2026, 3, 2, 9), outcome="answered", wait=5, by=h.f.volunteer())
        h.escalation(c, code, h.at(2026, 3, 2, 9, 30))
    assert escalation_figures(scope, MARCH)["opened"] == 1


def test_the_median_of_three_waits_is_the_middle_one_whatever_the_order_they_came_in(db):
    """Waits of 30 s, 10 s and 20 s, in that order: median 20 s, p90 30 s. Kills
    percentiles__mutmut_12 (the mean of the first two for an odd count: 15 s) and _39, _41
    (rows numbered in arrival order, not by wait: median 10 s, p90 20 s)."""
    line, _, scope = _two_lines()
    v = h.f.volunteer()
    for hour, wait in ((9, 30), (10, 10), (11, 20)):
        h.call(line, h.at(2026, 3, 2, hour), outcome="answered", wait=wait, by=v)
    assert call_figures(scope, MARCH)["calls"]["wait_seconds"] == {"median": 20, "p90": 30}


def test_a_shift_ending_at_midnight_is_no_night_one_ending_a_minute_later_is(db):
    """18:00–00:00 does not overlap 00:00–05:00; 20:00–00:01 does (Shanghai). Kills
    with_night_and_weekend__mutmut_82 (midnight counted as night) and _86 (00:01 not)."""
    v = h.f.volunteer()
    _served_shift(v, h.at(2026, 3, 2, 18), 6)  # Monday 18:00 → Tuesday 00:00
    _served_shift(v, h.at(2026, 3, 4, 20), 4 + 1 / 60)  # Wednesday 20:00 → Thursday 00:01
    record = volunteer_service(volunteer=v, now=h.at(2026, 3, 20, 12), tz=SHANGHAI)
    assert (record["total"]["shifts"], record["total"]["nights"]) == (2, 1)


def test_organisation_hours_keep_their_hundredths_and_coverage_stops_at_full(db):
    """A 1.25 h shift needing one counsellor served by two volunteers of one organisation:
    coverage 100 %, not 200 %; the organisation's hours are 1.25 + 1.25 = 2.5, not a whole
    number of hours. Kills roster_figures__mutmut_300
    (coverage capped at 2) and _257, _259 (organisation hours rounded to whole hours)."""
    line, _, scope = _two_lines()
    org = h.f.organisation()
    roster = _march_roster(line)
    shift = h.f.shift(
        roster_=roster,
        starts_at=h.at(2026, 3, 2, 8),
        hours=1.25,
        required_counsellors=1,
        required_family_educators=0,
        required_supervisors=0,
    )
    for name in ("Ann", "Bo"):
        h.f.assignment(shift_=shift, volunteer_=h.f.volunteer(display_name=name, organisation=org))
    figures = roster_figures(scope, MARCH, h.NOW)
    assert (figures["seats"], figures["filled"], figures["coverage"]) == (1, 2, 1.0)
    assert [(o["hours"], o["volunteers"]) for o in figures["by_organisation"]] == [(2.5, 2)]


def test_categories_are_listed_in_the_coordinators_order_then_by_code(db):
    """The stats page and the export list categories in the order the taxonomy gives them,
    equal orders by code. Kills _offered__mutmut_8 (by code only) and _9 (equal orders in
    the database's order)."""
    line, _, scope = _two_lines()
    for code, order in (("zzz_top", 0), ("mmm_b", 500), ("mmm_a", 500), ("aaa_late", 999)):
        TaxonomyCategory.objects.create(code=code, label_zh_hans=code, label_en=code, order=order)
    mine = ["zzz_top", "mmm_a", "mmm_b", "aaa_late"]
    listed = [code for code in report_figures(scope, MARCH)["by_category"] if code in mine]
    assert listed == mine
