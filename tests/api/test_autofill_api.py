"""POST /rosters/{id}/autofill/, GET /autofill/{id}/, GET /rosters/{id}/coverage/."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling.builder import autofill_start
from scheduling.models import Assignment, AutofillRun, Roster
from tests.support import factories as f

pytestmark = pytest.mark.django_db


def _roster(days=2, **kw):
    roster = f.roster(**kw)
    shifts = f.daily_shifts(
        roster_=roster,
        days=days,
        hour=8,
        required_counsellors=1,
        crisis_trained_required=1,
        required_family_educators=1,
    )
    return roster, shifts


def _people():
    return (
        f.volunteer(roles=("counsellor",), crisis_trained=True),
        f.volunteer(roles=("family_educator",)),
    )


def test_autofill_starts_a_task_and_reports_its_result(
    coordinator_api, django_capture_on_commit_callbacks
):
    roster, _shifts = _roster()
    _people()

    with django_capture_on_commit_callbacks(execute=True):
        response = coordinator_api.post(
            f"/api/v1/rosters/{roster.pk}/autofill/",
            {"mode": "fill", "time_limit": 2},
            format="json",
        )

    assert response.status_code == 202
    body = response.json()
    run = AutofillRun.objects.get(roster=roster)
    assert body["task_id"] == str(run.pk)
    assert body["status_url"] == f"http://testserver/api/v1/autofill/{run.pk}/"
    status = coordinator_api.get(body["status_url"]).json()
    assert status["status"] == "done"
    assert status["progress"] == 100
    assert status["mode"] == "fill"
    assert status["queue_task_id"]  # django-q2's own id
    assert status["result"]["coverage"]["seats_missing"] == 0
    assert status["result"]["created"] == 4
    assert status["unfilled_reasons"] == []


def test_autofill_second_start_is_refused_with_409(coordinator_api):
    roster, _shifts = _roster()
    first = autofill_start(roster=roster, enqueue=False)

    response = coordinator_api.post(
        f"/api/v1/rosters/{roster.pk}/autofill/", {"mode": "rebuild"}, format="json"
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "autofill_running"
    assert "already running" in body["detail"]
    assert body["run"] == first.pk
    assert AutofillRun.objects.filter(roster=roster).count() == 1


def test_autofill_validates_its_input(coordinator_api):
    roster, _shifts = _roster()
    response = coordinator_api.post(
        f"/api/v1/rosters/{roster.pk}/autofill/",
        {"mode": "everything", "time_limit": 0},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"mode", "time_limit"}
    assert not AutofillRun.objects.exists()


def test_autofill_is_for_coordinators_only(volunteer_api, api):
    roster, _shifts = _roster(status=Roster.Status.PUBLISHED)
    assert (
        volunteer_api.post(f"/api/v1/rosters/{roster.pk}/autofill/", {}, format="json").status_code
        == 403
    )
    assert api.post(f"/api/v1/rosters/{roster.pk}/autofill/", {}, format="json").status_code in (
        401,
        403,
    )
    run = AutofillRun.objects.create(roster=roster)
    assert volunteer_api.get(f"/api/v1/autofill/{run.pk}/").status_code == 403
    assert not Assignment.objects.exists()


def test_autofill_run_reports_unfilled_seats_with_reasons(
    coordinator_api, django_capture_on_commit_callbacks
):
    roster, _shifts = _roster(days=1)
    f.volunteer(roles=("counsellor",), crisis_trained=False)

    with django_capture_on_commit_callbacks(execute=True):
        body = coordinator_api.post(
            f"/api/v1/rosters/{roster.pk}/autofill/", {"greedy": True}, format="json"
        ).json()

    status = coordinator_api.get(body["status_url"]).json()
    assert status["unfilled_reasons"] == [
        "Mon 2026-03-02 08:00–14:00: no crisis-trained counsellor is available",
        "Mon 2026-03-02 08:00–14:00: no volunteer holds the role family-education expert",
    ]


def test_autofill_runs_list_filters_by_roster(coordinator_api):
    roster, _shifts = _roster()
    other, _ = _roster()
    AutofillRun.objects.create(roster=roster, status="done")
    AutofillRun.objects.create(roster=other, status="done")

    body = coordinator_api.get("/api/v1/autofill/", {"roster": roster.pk}).json()

    results = body["results"] if isinstance(body, dict) else body
    assert [r["roster"] for r in results] == [roster.pk]


def test_coverage_per_shift_and_role(coordinator_api):
    roster, shifts = _roster()
    trained, _educator = _people()
    f.assignment(shift_=shifts[0], volunteer_=trained)

    response = coordinator_api.get(f"/api/v1/rosters/{roster.pk}/coverage/")

    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {
        "seats_required": 4,
        "seats_filled": 1,
        "seats_missing": 3,
        "crisis_trained_missing": 1,
        "percent": 25.0,
    }
    first = body["shifts"][0]
    assert first["shift"] == shifts[0].pk
    assert first["crisis_trained_missing"] == 0
    assert {r["role"]: (r["required"], r["filled"], r["missing"]) for r in first["roles"]} == {
        "counsellor": (1, 1, 0),
        "family_educator": (1, 0, 1),
        "supervisor": (0, 0, 0),
    }
    assert first["complete"] is False


def test_coverage_for_volunteers_only_on_published_rosters(volunteer_api):
    draft, _ = _roster()
    published, _ = _roster(status=Roster.Status.PUBLISHED)
    assert volunteer_api.get(f"/api/v1/rosters/{draft.pk}/coverage/").status_code == 404
    assert volunteer_api.get(f"/api/v1/rosters/{published.pk}/coverage/").status_code == 200


def test_coverage_query_count_does_not_grow(coordinator_api):
    small, _ = _roster(days=1)
    big, shifts = _roster(days=20)
    for s in shifts:
        f.assignment(shift_=s, volunteer_=f.volunteer())

    coordinator_api.get(f"/api/v1/rosters/{small.pk}/coverage/")
    with CaptureQueriesContext(connection) as few:
        coordinator_api.get(f"/api/v1/rosters/{small.pk}/coverage/")
    with CaptureQueriesContext(connection) as many:
        coordinator_api.get(f"/api/v1/rosters/{big.pk}/coverage/")

    assert len(many) == len(few)
