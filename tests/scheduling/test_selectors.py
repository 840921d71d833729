"""Reads: who sees which rosters, who is on shift now (one query, any roster size) and roster
coverage."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from scheduling.models import Assignment, Roster, Shift
from scheduling.selectors import (
    board_week,
    coverage_summary,
    roster_coverage,
    roster_visibility_q,
    rosters_managed_by,
    rosters_visible_to,
    shift_candidates,
    shift_people,
    volunteers_on_shift,
)
from tests.support import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    return f.roster(hotline_=f.hotline(), status=Roster.Status.PUBLISHED)


def test_volunteers_on_shift_half_open(published):
    shift = f.shift(roster_=published, starts_at=f.at(2026, 3, 2, 8))  # 08:00–14:00
    a = f.assignment(shift_=shift)
    hotline = published.hotline
    assert list(volunteers_on_shift(hotline, f.at(2026, 3, 2, 8))) == [a.volunteer]
    assert list(volunteers_on_shift(hotline, f.at(2026, 3, 2, 13, 59))) == [a.volunteer]
    assert list(volunteers_on_shift(hotline, f.at(2026, 3, 2, 14))) == []
    assert list(volunteers_on_shift(hotline, f.at(2026, 3, 2, 7, 59))) == []


def test_volunteers_on_shift_leaves_out_draft_cancelled_inactive_and_other_hotlines(published):
    at = f.at(2026, 3, 2, 9)
    shift = f.shift(roster_=published, starts_at=f.at(2026, 3, 2, 8), required_counsellors=4)
    on = f.assignment(shift_=shift)
    f.assignment(shift_=shift, status=Assignment.Status.CANCELLED)
    f.assignment(shift_=shift, volunteer_=f.volunteer(is_active=False))
    f.assignment(shift_=f.shift(roster_=f.roster(hotline_=published.hotline)))  # draft roster
    other = f.roster(status=Roster.Status.PUBLISHED)
    f.assignment(shift_=f.shift(roster_=other, starts_at=f.at(2026, 3, 2, 8)))
    assert list(volunteers_on_shift(published.hotline, at)) == [on.volunteer]


def test_volunteers_on_shift_by_role(published):
    shift = f.shift(roster_=published, required_supervisors=1)
    counsellor = f.assignment(shift_=shift, role="counsellor")
    supervisor = f.assignment(
        shift_=shift, role="supervisor", volunteer_=f.volunteer(roles=("supervisor",))
    )
    at = shift.starts_at + dt.timedelta(hours=1)
    assert list(volunteers_on_shift(published.hotline, at, role="supervisor")) == [
        supervisor.volunteer
    ]
    assert list(volunteers_on_shift(published.hotline, at, role="counsellor")) == [
        counsellor.volunteer
    ]


def test_volunteers_on_shift_night_shift_after_midnight(published):
    night = f.shift(roster_=published, starts_at=f.at(2026, 3, 2, 20), hours=12)
    a = f.assignment(shift_=night)
    assert list(volunteers_on_shift(published.hotline, f.at(2026, 3, 3, 3))) == [a.volunteer]


def _fill(roster, count):
    shift = f.shift(roster_=roster, required_counsellors=count)
    Assignment.objects.bulk_create(
        [Assignment(shift=shift, volunteer=f.volunteer(), role="counsellor") for _ in range(count)]
    )
    return shift


def _queries_for_on_shift(hotline, at):
    with CaptureQueriesContext(connection) as ctx:
        volunteers = [
            (v.pk, v.display_name, v.phone_number) for v in volunteers_on_shift(hotline, at)
        ]
    return len(ctx.captured_queries), len(volunteers)


def test_volunteers_on_shift_query_count_same_for_3_and_300():
    small = f.roster(status=Roster.Status.PUBLISHED)
    big = f.roster(status=Roster.Status.PUBLISHED)
    _fill(small, 3)
    _fill(big, 300)
    at = f.at(2026, 3, 2, 9)
    small_queries, small_count = _queries_for_on_shift(small.hotline, at)
    big_queries, big_count = _queries_for_on_shift(big.hotline, at)
    assert (small_count, big_count) == (3, 300)
    assert small_queries == big_queries == 1


def test_roster_coverage_counts_and_crisis_missing(published):
    shift = f.shift(
        roster_=published,
        required_counsellors=2,
        crisis_trained_required=1,
        required_family_educators=1,
    )
    f.assignment(shift_=shift, volunteer_=f.volunteer(crisis_trained=False))
    f.assignment(shift_=shift, volunteer_=f.volunteer(crisis_trained=False), status="cancelled")
    f.assignment(
        shift_=shift, role="family_educator", volunteer_=f.volunteer(roles=("family_educator",))
    )
    empty = f.shift(
        roster_=published,
        starts_at=f.at(2026, 3, 3, 8),
        required_counsellors=1,
        required_family_educators=0,
    )
    coverage = roster_coverage(published)
    assert [c.shift for c in coverage] == [shift, empty]
    first = coverage[0]
    assert (first.roles["counsellor"].required, first.roles["counsellor"].filled) == (2, 1)
    assert first.roles["family_educator"].missing == 0
    assert first.roles["supervisor"].required == 0
    assert first.crisis_trained_missing == 1
    assert not first.complete
    assert coverage_summary(coverage) == {
        "seats_required": 4,
        "seats_filled": 2,
        "seats_missing": 2,
        "crisis_trained_missing": 1,
        "percent": 50.0,
    }


def test_roster_coverage_query_count_fixed():
    small, big = f.roster(), f.roster()
    _fill(small, 2)
    for _ in range(6):
        _fill(big, 2)
    counts = []
    for roster in (small, big):
        with CaptureQueriesContext(connection) as ctx:
            coverage = roster_coverage(roster)
            [(c.shift.local_start, c.missing) for c in coverage]
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 2
    assert Shift.objects.filter(roster=big).count() == 6


def test_coverage_summary_empty_is_full():
    assert coverage_summary([])["percent"] == 100.0


# --- who sees which rosters ---------------------------------------------------------------------


@pytest.fixture
def two_rosters(published):
    draft = f.roster(hotline_=published.hotline, first_day=dt.date(2026, 3, 9))
    return published, draft


def test_rosters_visible_to_volunteers_published_only_coordinators_all(
    two_rosters, coordinator, volunteer, outsider
):
    published, draft = two_rosters
    assert set(rosters_visible_to(coordinator)) == {published, draft}
    for user in (volunteer.user, outsider, AnonymousUser()):
        assert list(rosters_visible_to(user)) == [published]


def test_roster_visibility_through_a_path(two_rosters, coordinator, volunteer):
    published, draft = two_rosters
    on_published = f.shift(roster_=published)
    on_draft = f.shift(roster_=draft, starts_at=f.at(2026, 3, 9, 8))
    a = f.assignment(shift_=on_published, volunteer_=volunteer)
    b = f.assignment(shift_=on_draft, volunteer_=volunteer)
    shifts = Shift.objects.filter(roster_visibility_q(volunteer.user, "roster__"))
    assert list(shifts) == [on_published]
    assert set(Shift.objects.filter(roster_visibility_q(coordinator, "roster__"))) == {
        on_published,
        on_draft,
    }
    mine = Assignment.objects.filter(roster_visibility_q(volunteer.user, "shift__roster__"))
    assert list(mine) == [a]
    assert set(Assignment.objects.filter(roster_visibility_q(coordinator, "shift__roster__"))) == {
        a,
        b,
    }


def test_rosters_managed_by_coordinators_only(two_rosters, coordinator, volunteer):
    assert set(rosters_managed_by(coordinator)) == set(two_rosters)
    assert list(rosters_managed_by(volunteer.user)) == []


def test_every_roster_read_agrees_with_rosters_visible_to(
    two_rosters, coordinator, volunteer, client
):
    """The roster page, and the API's rosters, shifts, assignments and me/assignments, all
    hide a draft from a volunteer on it and show it to a coordinator (five copies of the
    published-only filter before rosters_visible_to)."""
    published, draft = two_rosters
    on_draft = f.shift(roster_=draft, starts_at=f.at(2026, 3, 9, 8))
    on_published = f.shift(roster_=published)
    f.assignment(shift_=on_draft, volunteer_=volunteer)
    f.assignment(shift_=on_published, volunteer_=volunteer)
    coordinator_record = f.volunteer(user=coordinator)
    f.assignment(shift_=on_draft, volunteer_=coordinator_record)

    def seen(user):
        api = APIClient()
        api.force_authenticate(user)
        client.force_login(user)
        rosters = {r["id"] for r in api.get("/api/v1/rosters/").json()["results"]}
        shifts = {s["roster"] for s in api.get("/api/v1/shifts/").json()["results"]}
        assignments = {
            Shift.objects.get(pk=a["shift"]).roster_id
            for a in api.get("/api/v1/assignments/").json()["results"]
        }
        mine = {
            Shift.objects.get(pk=a["shift"]).roster_id
            for a in api.get("/api/v1/me/assignments/").json()["results"]
        }
        page = client.get(f"/rosters/{draft.pk}/").status_code
        return rosters, shifts, assignments, mine, page

    assert seen(volunteer.user) == (
        {published.pk},
        {published.pk},
        {published.pk},
        {published.pk},
        404,
    )
    all_ = {published.pk, draft.pk}
    assert seen(coordinator) == (all_, all_, all_, {draft.pk}, 200)


# --- the coverage board ---------------------------------------------------------------------


def _board_roster():
    """Mon 2 – Wed 4 March 2026 (Shanghai): a day shift each day, a night shift on Monday."""
    roster = f.roster(first_day=dt.date(2026, 3, 2), last_day=dt.date(2026, 3, 4))
    days = [
        f.shift(
            roster_=roster,
            starts_at=f.at(2026, 3, 2 + d, 8),
            required_counsellors=2,
            crisis_trained_required=1,
            required_family_educators=0,
        )
        for d in range(3)
    ]
    night = f.shift(
        roster_=roster,
        starts_at=f.at(2026, 3, 2, 20),
        hours=12,
        required_counsellors=1,
        required_family_educators=0,
    )
    return roster, days, night


def test_board_week_grid(db):
    roster, days, night = _board_roster()
    trained = f.volunteer(crisis_trained=True, display_name="Trained")
    f.assignment(shift_=days[0], volunteer_=trained)
    f.assignment(shift_=night, volunteer_=f.volunteer(display_name="Night owl"))
    roster = Roster.objects.select_related("hotline").get(pk=roster.pk)

    with CaptureQueriesContext(connection) as queries:
        grid = board_week(roster, dt.date(2026, 3, 2))

    # Shifts, assignments, and the volunteers' time off and windows (conflicts).
    assert len(queries) == 4
    assert grid["columns"] == [(dt.time(8), dt.time(14)), (dt.time(20), dt.time(8))]
    assert [row["day"] for row in grid["rows"]] == [dt.date(2026, 3, 2 + d) for d in range(7)]
    assert [row["in_roster"] for row in grid["rows"]] == [True] * 3 + [False] * 4
    monday_day, monday_night = grid["rows"][0]["cells"]
    assert [c.state for c in monday_day] == ["warn"]  # one of two counsellors, trained
    assert [c.state for c in monday_night] == ["ok"]
    assert [a.volunteer.display_name for a in monday_night[0].people] == ["Night owl"]
    assert grid["rows"][1]["cells"][1] == []  # no night shift on Tuesday
    assert [c.state for c in grid["rows"][1]["cells"][0]] == ["gap"]
    assert grid["seats_required"] == 3 * 2 + 1
    assert grid["seats_missing"] == 1 + 2 + 2
    assert grid["crisis_trained_missing"] == 2
    assert set(grid["shifts"]) == {s.pk for s in [*days, night]}


def test_shift_candidates_sorts_volunteers_by_what_the_rules_say(db):
    roster, days, _night = _board_roster()
    shift = Shift.objects.select_related("roster__hotline").get(pk=days[0].pk)
    free = f.volunteer(crisis_trained=True, display_name="A free")
    off = f.volunteer(crisis_trained=True, display_name="B off")
    f.time_off(volunteer_=off, starts_at=shift.starts_at, ends_at=shift.ends_at)
    busy = f.volunteer(crisis_trained=True, display_name="C busy")
    f.assignment(shift_=f.shift(starts_at=shift.starts_at), volunteer_=busy)
    on = f.volunteer(display_name="D on")
    on_shift = [f.assignment(shift_=shift, volunteer_=on)]
    f.volunteer(roles=("family_educator",), display_name="E other role")
    f.volunteer(is_active=False, display_name="F inactive")

    assert shift_people(shift) == on_shift
    (group,) = shift_candidates(shift, on_shift)

    assert group["role"] == "counsellor" and group["open"] == 1
    assert [c["volunteer"] for c in group["eligible"]] == [free]
    assert [c["volunteer"] for c in group["overridable"]] == [off]
    assert [c["volunteer"] for c in group["refused"]] == [busy]
    assert "declared time off" in group["overridable"][0]["reason"]
    assert group["not_eligible"] == 2


def test_shift_candidates_skips_full_roles(db):
    roster, days, _night = _board_roster()
    shift = Shift.objects.select_related("roster__hotline").get(pk=days[0].pk)
    on_shift = [
        f.assignment(shift_=shift, volunteer_=f.volunteer(crisis_trained=True)),
        f.assignment(shift_=shift, volunteer_=f.volunteer()),
    ]
    assert shift_candidates(shift, on_shift) == []
