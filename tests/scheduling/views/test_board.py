"""The coverage board: grid, assign/unassign in place, inline refusals, auto-fill, publish."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from hotline.sms import backends
from scheduling import services
from scheduling.models import Assignment, AutofillRun, Roster
from tests.support import factories as f
from tests.support.html import inline_code

pytestmark = pytest.mark.django_db

WEEK = "2026-03-02"


def _roster(days=7, volunteers=4):
    roster = f.roster(
        first_day=dt.date(2026, 3, 2), last_day=dt.date(2026, 3, 1) + dt.timedelta(days=days)
    )
    shifts = []
    for d in range(days):
        for hour, hours in ((8, 6), (14, 6), (20, 12)):
            shifts.append(
                f.shift(
                    roster_=roster,
                    starts_at=f.at(2026, 3, 2) + dt.timedelta(days=d, hours=hour),
                    hours=hours,
                    required_counsellors=2,
                    crisis_trained_required=1,
                    required_family_educators=1 if hour < 20 else 0,
                )
            )
    people = [
        f.volunteer(roles=("counsellor",), crisis_trained=i % 2 == 0, display_name=f"Person {i}")
        for i in range(volunteers)
    ]
    return roster, shifts, people


def _board(client, roster, **params):
    return client.get(
        reverse("scheduling:roster-board", args=[roster.pk]), {"week": WEEK, **params}
    )


@pytest.fixture
def coord_client(client, coordinator):
    client.force_login(coordinator)
    return client


def test_board_shows_the_week_grid_with_coverage(coord_client):
    roster, shifts, people = _roster(days=2)
    f.assignment(shift_=shifts[0], volunteer_=people[0])  # crisis-trained counsellor

    response = _board(coord_client, roster)

    assert response.status_code == 200
    html = response.content.decode()
    assert "08:00–14:00" in html and "20:00–08:00" in html
    assert "counsellor 1/2" in html
    assert "crisis-trained 1/1" in html
    assert "Person 0" in html
    assert 'class="warn"' in html  # the first shift: half full
    assert 'class="gap"' in html  # the others: empty
    assert response.context["grid"]["seats_missing"] == 2 * 3 * 2 + 2 * 2 - 1


def test_board_is_for_coordinators_only(client, volunteer):
    roster, _shifts, _people = _roster(days=1)
    client.force_login(volunteer.user)
    assert _board(client, roster).status_code == 403
    client.logout()
    assert _board(client, roster).status_code == 302  # to the login page


def test_board_week_navigation_stays_within_the_roster(coord_client):
    roster, _shifts, _people = _roster(days=14)

    first = _board(coord_client, roster, week="2020-01-01")
    second = _board(coord_client, roster, week="2026-03-11")  # a Wednesday

    assert first.context["week"] == dt.date(2026, 3, 2)
    assert first.context["prev_week"] is None
    assert first.context["next_week"] == dt.date(2026, 3, 9)
    assert second.context["week"] == dt.date(2026, 3, 9)
    assert second.context["next_week"] is None
    assert "03-09" in second.content.decode()


def test_board_query_count_does_not_grow_with_the_roster(coord_client):
    small, small_shifts, small_people = _roster(days=2, volunteers=2)
    f.assignment(shift_=small_shifts[0], volunteer_=small_people[0])
    big, big_shifts, big_people = _roster(days=28, volunteers=12)
    for i, shift in enumerate(big_shifts[:21]):
        f.assignment(shift_=shift, volunteer_=big_people[i % 12])
    for roster in (small, big):
        AutofillRun.objects.create(
            roster=roster, status=AutofillRun.Status.DONE, result={"unfilled": []}
        )

    _board(coord_client, small)  # warm the session and the user's groups
    with CaptureQueriesContext(connection) as few:
        _board(coord_client, small)
    with CaptureQueriesContext(connection) as many:
        response = _board(coord_client, big)

    assert response.status_code == 200
    assert len(many) == len(few)
    # 8, one that finds the coordinator's organisation (whose rosters they manage), and two
    # for the volunteers' time off and windows (conflicts on the board).
    assert len(many) <= 11


def test_board_opens_a_shift_with_candidates_and_reasons(coord_client):
    roster, shifts, people = _roster(days=1)
    f.time_off(volunteer_=people[2], starts_at=shifts[0].starts_at, ends_at=shifts[0].ends_at)
    f.assignment(shift_=f.shift(starts_at=shifts[0].starts_at), volunteer_=people[1])  # elsewhere

    response = _board(coord_client, roster, shift=shifts[0].pk)

    groups = {g["role"]: g for g in response.context["candidates"]}
    counsellors = groups["counsellor"]
    assert [c["volunteer"] for c in counsellors["eligible"]] == [people[0], people[3]]
    assert [c["volunteer"] for c in counsellors["overridable"]] == [people[2]]
    assert [c["volunteer"] for c in counsellors["refused"]] == [people[1]]
    html = response.content.decode()
    assert inline_code(html) == []  # CSS and JS come from static files only
    assert "already has an overlapping shift" in html
    assert "has declared time off" in html
    # Nobody holds the family-education role: the open seat says so.
    assert groups["family_educator"]["eligible"] == []


def test_assign_from_the_board(coord_client, coordinator):
    roster, shifts, people = _roster(days=1)

    response = coord_client.post(
        reverse("scheduling:roster-board-assign", args=[roster.pk]),
        {"week": WEEK, "shift": shifts[0].pk, "volunteer": people[0].pk, "role": "counsellor"},
    )

    assert response.status_code == 302
    assert f"shift={shifts[0].pk}" in response["Location"]
    a = Assignment.objects.get(shift=shifts[0])
    assert (a.volunteer, a.role, a.created_by, a.source) == (
        people[0],
        "counsellor",
        coordinator,
        "manual",
    )


def test_board_shows_the_rules_refusal_inline(coord_client):
    roster, shifts, people = _roster(days=1)
    f.assignment(shift_=shifts[0], volunteer_=people[1])  # untrained: the other seat needs training

    response = coord_client.post(
        reverse("scheduling:roster-board-assign", args=[roster.pk]),
        {"week": WEEK, "shift": shifts[0].pk, "volunteer": people[3].pk, "role": "counsellor"},
    )

    # Back to the board's GET page, at the shift's panel: a reload does not post again.
    assert response.status_code == 302
    assert response["Location"].endswith(f"shift={shifts[0].pk}#shift-{shifts[0].pk}")
    page = coord_client.get(response["Location"])
    html = page.content.decode()
    assert 'class="error refusal"' in html
    assert "needs crisis-intervention training, which Person 3 does not have" in html
    assert page.context["open_shift"] == shifts[0]
    assert Assignment.objects.filter(shift=shifts[0]).count() == 1
    # Shown once: reloading the page does not show the refusal again.
    again = coord_client.get(response["Location"])
    assert 'class="error refusal"' not in again.content.decode()


def test_board_refusal_comes_in_the_coordinators_language(coord_client):
    roster, shifts, people = _roster(days=1)
    f.assignment(shift_=shifts[0], volunteer_=people[1])
    coord_client.cookies["django_language"] = "zh-hans"

    response = coord_client.post(
        reverse("scheduling:roster-board-assign", args=[roster.pk]),
        {"week": WEEK, "shift": shifts[0].pk, "volunteer": people[3].pk, "role": "counsellor"},
        follow=True,
    )

    assert response.status_code == 200
    assert "危机干预" in response.context["error"]
    assert response["Content-Language"] == "zh-hans"


def test_override_from_the_board_needs_a_reason(coord_client):
    roster, shifts, people = _roster(days=1)
    f.time_off(volunteer_=people[0], starts_at=shifts[0].starts_at, ends_at=shifts[0].ends_at)
    url = reverse("scheduling:roster-board-assign", args=[roster.pk])
    data = {"week": WEEK, "shift": shifts[0].pk, "volunteer": people[0].pk, "role": "counsellor"}

    refused = coord_client.post(url, data, follow=True)
    empty = coord_client.post(url, {**data, "override": "1", "override_reason": " "}, follow=True)
    accepted = coord_client.post(url, {**data, "override_reason": "She offered by phone"})

    assert "has declared time off" in refused.content.decode()
    # "Assign anyway" with no reason asks for one, instead of repeating the rule.
    assert "Give a reason to assign Person 0 anyway" in empty.content.decode()
    assert accepted.status_code == 302
    a = Assignment.objects.get(shift=shifts[0])
    assert a.overridden_rules == ["time_off"]


def test_unassign_and_lock_from_the_board(coord_client):
    roster, shifts, people = _roster(days=1)
    a = services.assignment_create(shift=shifts[0], volunteer=people[0], role="counsellor")

    locked = coord_client.post(
        reverse("scheduling:roster-board-lock", args=[roster.pk, a.pk]),
        {"week": WEEK, "locked": "1"},
    )
    a.refresh_from_db()
    assert locked.status_code == 302 and a.locked
    removed = coord_client.post(
        reverse("scheduling:roster-board-unassign", args=[roster.pk, a.pk]), {"week": WEEK}
    )
    a.refresh_from_db()
    assert removed.status_code == 302
    assert a.status == Assignment.Status.CANCELLED


def test_board_cannot_touch_another_rosters_assignment(coord_client):
    roster, _shifts, _people = _roster(days=1)
    stranger = f.assignment()
    response = coord_client.post(
        reverse("scheduling:roster-board-unassign", args=[roster.pk, stranger.pk])
    )
    assert response.status_code == 404
    stranger.refresh_from_db()
    assert stranger.is_active


def test_volunteer_cannot_post_to_the_board(client, volunteer):
    roster, shifts, _people = _roster(days=1)
    client.force_login(volunteer.user)
    response = client.post(
        reverse("scheduling:roster-board-assign", args=[roster.pk]),
        {"shift": shifts[0].pk, "volunteer": volunteer.pk, "role": "counsellor"},
    )
    assert response.status_code == 403
    assert not Assignment.objects.exists()


def test_autofill_from_the_board(coord_client, django_capture_on_commit_callbacks):
    roster, _shifts, _people = _roster(days=1, volunteers=6)
    f.volunteer(roles=("family_educator",), display_name="Educator")
    f.volunteer(roles=("family_educator",), display_name="Educator 2")

    with django_capture_on_commit_callbacks(execute=True):
        response = coord_client.post(
            reverse("scheduling:roster-board-autofill", args=[roster.pk]),
            {"week": WEEK, "mode": "fill", "time_limit": "5"},
        )

    assert response.status_code == 302
    run = AutofillRun.objects.get(roster=roster)
    assert run.status == AutofillRun.Status.DONE
    board = coord_client.get(response["Location"])
    html = board.content.decode()
    assert "Last auto-fill" in html
    assert board.context["grid"]["seats_missing"] == 0


def test_board_shows_progress_of_a_live_run_and_refuses_a_second(coord_client):
    roster, _shifts, _people = _roster(days=1)
    run = AutofillRun.objects.create(
        roster=roster, status=AutofillRun.Status.RUNNING, progress=40, message="fairness_hours"
    )

    page = _board(coord_client, roster)
    second = coord_client.post(
        reverse("scheduling:roster-board-autofill", args=[roster.pk]), {"mode": "fill"}, follow=True
    )
    status = coord_client.get(
        reverse("scheduling:roster-board-autofill-status", args=[roster.pk, run.pk])
    )

    html = page.content.decode()
    assert '<progress max="100" value="40">' in html
    assert "Balancing hours" in html
    assert 'http-equiv="refresh"' in html  # without JavaScript; with it, board.js polls
    assert "data-autofill-status-url=" in html and "/static/scheduling/board/board.js" in html
    assert inline_code(html) == []
    assert "already running" in second.content.decode()
    assert AutofillRun.objects.filter(roster=roster).count() == 1
    assert status.json() == {
        "id": run.pk,
        "status": "running",
        "status_label": "running",
        "progress": 40,
        "stage": "fairness_hours",
        "stage_label": "Balancing hours",
        "live": True,
    }


def test_board_lists_unfilled_seat_reasons_of_the_last_run(coord_client):
    roster, shifts, _people = _roster(days=1)
    entry = {
        "shift": shifts[0].pk,
        "role": "counsellor",
        "count": 1,
        "crisis_trained": True,
        "reason_code": "no_crisis_trained",
        "counts": {"unavailable": 2},
        "candidates": 2,
        "starts_at": "2026-03-03T20:00:00+08:00",
        "ends_at": "2026-03-04T08:00:00+08:00",
    }
    AutofillRun.objects.create(
        roster=roster,
        status=AutofillRun.Status.DONE,
        result={
            "created": 3,
            "cancelled": 0,
            "refused": [],
            "unfilled": [entry],
            "coverage": {"percent": 80.0},
            "metrics": {},
        },
    )

    html = _board(coord_client, roster).content.decode()

    assert "Tue 2026-03-03 20:00–08:00: no crisis-trained counsellor is available" in html


def test_publish_from_the_board_calls_the_service(coord_client, coordinator, monkeypatch):
    roster, _shifts, _people = _roster(days=1)
    calls = []
    real = services.roster_publish

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "roster_publish", spy)
    response = coord_client.post(
        reverse("scheduling:roster-board-publish", args=[roster.pk]), {"week": WEEK}
    )

    assert response.status_code == 302
    assert calls == [{"roster": roster, "by": coordinator}]
    roster.refresh_from_db()
    assert roster.status == Roster.Status.PUBLISHED


def test_republish_from_the_board_notifies_only_changed_volunteers(
    coord_client, django_capture_on_commit_callbacks
):
    # Shifts ahead of the real clock: notices are only sent for shifts not yet over.
    roster = f.roster(first_day=dt.date(2030, 3, 4), last_day=dt.date(2030, 3, 6))
    shifts = f.daily_shifts(
        roster_=roster,
        days=3,
        hour=20,
        hours=12,
        required_counsellors=1,
        required_family_educators=0,
    )
    a, b, c, newcomer = (f.volunteer(display_name=n) for n in ("A", "B", "C", "New"))
    for shift, person in zip(shifts, (a, b, c), strict=True):
        services.assignment_create(shift=shift, volunteer=person, role="counsellor")
    publish = reverse("scheduling:roster-board-publish", args=[roster.pk])
    backends.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        coord_client.post(publish, {"week": "2030-03-04"})
    assert {m["to"] for m in backends.outbox} == {a.phone_number, b.phone_number, c.phone_number}

    # On the board: A leaves, the newcomer takes the seat; B and C are untouched.
    backends.outbox.clear()
    first = Assignment.objects.get(shift=shifts[0], volunteer=a)
    coord_client.post(
        reverse("scheduling:roster-board-unassign", args=[roster.pk, first.pk]),
        {"week": "2030-03-04"},
    )
    coord_client.post(
        reverse("scheduling:roster-board-assign", args=[roster.pk]),
        {
            "week": "2030-03-04",
            "shift": shifts[0].pk,
            "volunteer": newcomer.pk,
            "role": "counsellor",
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        coord_client.post(publish, {"week": "2030-03-04"})

    assert sorted(m["to"] for m in backends.outbox) == sorted(
        [a.phone_number, newcomer.phone_number]
    )
