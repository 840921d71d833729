"""Rule-layer edges a mutation check found untested (issue 19): rest across the local week
boundary, time off that starts as a shift ends, and preloaded facts with an assignment to
ignore. Each test names the mutation of scheduling/rules.py it was checked against (the
mutation was made by hand, the test run and seen to fail, the code reverted)."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from scheduling import rules
from scheduling.rules import check_assignment, volunteers_facts
from tests.support import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def roster():
    # Shanghai (the factories' zone); the week of Monday 2 March 2026 ends Sunday 8 March 24:00.
    return f.roster(
        hotline_=f.hotline(min_rest_hours=11),
        first_day=dt.date(2026, 3, 2),
        last_day=dt.date(2026, 3, 15),
    )


def codes(shift, volunteer, *, with_facts=False, **kw):
    if with_facts:
        kw["facts"] = volunteers_facts(
            [volunteer], starts_at=shift.starts_at, ends_at=shift.ends_at
        )[volunteer.pk]
    return [
        v.code for v in check_assignment(shift=shift, volunteer=volunteer, role="counsellor", **kw)
    ]


@pytest.mark.parametrize("with_facts", [False, True])
def test_rest_between_sunday_evening_and_monday_morning_of_the_next_week(roster, with_facts):
    """22:00 Sunday → 06:00 Monday is 8 h of rest, whatever week each shift is in.
    Mutations: `lo = week_start` (the look-back stops at Monday 00:00) and `hi = week_end`
    (the look-ahead stops at Sunday 24:00) each let the second shift through."""
    volunteer = f.volunteer(max_shifts_per_week=5)
    sunday = f.shift(roster_=roster, starts_at=f.at(2026, 3, 8, 18), hours=4)  # 18–22 Sun
    monday = f.shift(roster_=roster, starts_at=f.at(2026, 3, 9, 6), hours=6)  # 06–12 Mon
    f.assignment(shift_=sunday, volunteer_=volunteer)
    assert codes(monday, volunteer, with_facts=with_facts) == [rules.REST]


@pytest.mark.parametrize("with_facts", [False, True])
def test_rest_between_monday_morning_and_the_previous_sunday_evening(roster, with_facts):
    """The same pair the other way round: Monday is held, Sunday evening is asked for."""
    volunteer = f.volunteer(max_shifts_per_week=5)
    sunday = f.shift(roster_=roster, starts_at=f.at(2026, 3, 8, 18), hours=4)
    monday = f.shift(roster_=roster, starts_at=f.at(2026, 3, 9, 6), hours=6)
    f.assignment(shift_=monday, volunteer_=volunteer)
    assert codes(sunday, volunteer, with_facts=with_facts) == [rules.REST]
    # With the full 11 h (Monday 09:00) the pair is allowed: the rule is about rest, not weeks.
    later = f.shift(roster_=roster, starts_at=f.at(2026, 3, 9, 9), hours=4)
    other = f.volunteer(max_shifts_per_week=5)
    f.assignment(shift_=sunday, volunteer_=other)
    assert codes(later, other, with_facts=with_facts) == []


@pytest.mark.parametrize("with_facts", [False, True])
def test_time_off_starting_exactly_when_the_shift_ends_is_allowed(roster, with_facts):
    """Half-open spans: time off from 14:00 does not touch a shift ending 14:00.
    Mutations: `starts_at__lt=shift.ends_at` → `__lte` (query) and `o.starts_at <
    shift.ends_at` → `<=` (facts) each refuse it."""
    volunteer = f.volunteer()
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8), hours=6)  # 08–14
    f.time_off(volunteer_=volunteer, starts_at=f.at(2026, 3, 2, 14), ends_at=f.at(2026, 3, 3, 0))
    assert codes(shift, volunteer, with_facts=with_facts) == []
    # One minute earlier, it is time off.
    f.time_off(
        volunteer_=volunteer, starts_at=f.at(2026, 3, 2, 13, 59), ends_at=f.at(2026, 3, 2, 14)
    )
    assert codes(shift, volunteer, with_facts=with_facts) == [rules.TIME_OFF]


def test_facts_and_ignore_together_leave_the_ignored_assignment_out(roster):
    """A volunteer's own assignment, changed in place (a role change, a swap of one's own
    seat), is left out when the facts were preloaded too. Mutation: dropping `a.pk !=
    ignore_id` from the facts branch refuses it as an overlap with itself."""
    volunteer = f.volunteer(roles=("counsellor",), max_shifts_per_week=1)
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8), required_counsellors=1)
    mine = f.assignment(shift_=shift, volunteer_=volunteer)
    assert codes(shift, volunteer, with_facts=True, ignore=mine) == []
    assert codes(shift, volunteer, with_facts=False, ignore=mine) == []
    # Without `ignore`, the same facts see the seat taken, the overlap and the week full.
    assert set(codes(shift, volunteer, with_facts=True)) == {
        rules.CAPACITY,
        rules.OVERLAP,
        rules.WEEKLY_LIMIT,
    }


def test_api_refuses_monday_morning_after_sunday_evening_with_409_rest(roster, coordinator):
    """What a coordinator sees: the API answers 409 with the rest rule."""
    volunteer = f.volunteer(max_shifts_per_week=5)
    sunday = f.shift(roster_=roster, starts_at=f.at(2026, 3, 8, 18), hours=4)
    monday = f.shift(roster_=roster, starts_at=f.at(2026, 3, 9, 6), hours=6)
    f.assignment(shift_=sunday, volunteer_=volunteer)
    api = APIClient()
    api.force_authenticate(coordinator)
    response = api.post(
        "/api/v1/assignments/",
        {"shift": monday.pk, "volunteer": volunteer.pk, "role": "counsellor"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == rules.REST
    assert "rest" in response.json()["detail"]
