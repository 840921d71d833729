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


def _nights_with_time_off(first_day=None):
    """A week of nights, one counsellor each: Wang Fang on Mon, Thu, Sun, Li Lei on Tue
    and Fri, Zhao Min on Wed and Sat; then Wang Fang takes Thursday off."""
    import datetime as dt

    roster = f.roster(first_day=first_day or dt.date(2030, 3, 4))
    nights = f.daily_shifts(
        roster_=roster,
        days=7,
        hour=20,
        hours=12,
        required_counsellors=1,
        crisis_trained_required=0,
        required_family_educators=0,
    )
    people = [f.volunteer(display_name=n) for n in ("Wang Fang", "Li Lei", "Zhao Min")]
    for night, i in zip(nights, [0, 1, 2, 0, 1, 2, 0], strict=True):
        f.assignment(shift_=night, volunteer_=people[i])
    f.time_off(volunteer_=people[0], starts_at=nights[3].starts_at, ends_at=nights[3].ends_at)
    return roster, nights, people


def _active(roster):
    return set(
        Assignment.objects.filter(shift__roster=roster, status="active").values_list(
            "shift", "volunteer", "role"
        )
    )


def test_autofill_options_computes_choices_and_saves_nothing(
    coordinator_api, django_capture_on_commit_callbacks
):
    roster, _nights, people = _nights_with_time_off()
    before = _active(roster)

    with django_capture_on_commit_callbacks(execute=True):
        body = coordinator_api.post(
            f"/api/v1/rosters/{roster.pk}/autofill/",
            {"options": True, "time_limit": 2},
            format="json",
        ).json()

    status = coordinator_api.get(body["status_url"], HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert status["status"] == "done"
    assert status["mode"] == "rebuild" and status["strategy"] == "options"
    assert _active(roster) == before
    keys = [o["key"] for o in status["options"]]
    assert keys[0] == "fewest_changes" and len(set(keys)) == len(keys)
    fewest = status["options"][0]
    assert fewest["summary"]["changes"] == 2
    assert fewest["summary"]["moved_volunteers"] == 2
    assert {"spread_hours", "night_spread", "weekend_spread", "seats_filled"} <= set(
        fewest["summary"]
    )
    wang = next(row for row in fewest["diff"] if row["volunteer"] == people[0].pk)
    assert wang["removed"][0]["reason_code"] == "time_off"
    assert wang["removed"][0]["reason"] == "Wang Fang在周四 03-07 20:00请假"
    assert len(status["options"]) + len(status["option_notes"]) >= 1
    raw = status["result"]["options"][0]
    assert raw["assignments"] and raw["changes"]


def test_autofill_rebuild_reports_changes_with_reasons(
    coordinator_api, django_capture_on_commit_callbacks
):
    roster, _nights, _people = _nights_with_time_off()

    with django_capture_on_commit_callbacks(execute=True):
        body = coordinator_api.post(
            f"/api/v1/rosters/{roster.pk}/autofill/",
            {"mode": "rebuild", "strategy": "repair", "spread_tolerance": 6, "time_limit": 2},
            format="json",
        ).json()

    status = coordinator_api.get(body["status_url"]).json()
    assert (status["strategy"], status["spread_tolerance"]) == ("repair", 6)
    metrics = status["result"]["metrics"]
    assert (metrics["mode"], metrics["changes"], metrics["moved_volunteers"]) == ("repair", 2, 2)
    assert metrics["spread_tolerance_hours"] == 6
    assert status["change_reasons"][0] == "Wang Fang has time off at Thu 03-07 20:00"
    assert status["change_reasons"][1] == "to cover after Wang Fang's time off"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "rebuild", "spread_tolerance": -1}, "spread_tolerance"),
        ({"mode": "rebuild", "spread_tolerance": "lots"}, "spread_tolerance"),
        ({"mode": "rebuild", "strategy": "kindest"}, "strategy"),
        ({"options": True, "mode": "fill"}, "mode"),
        ({"options": True, "greedy": True}, "greedy"),
    ],
)
def test_autofill_bad_repair_input_names_the_field(coordinator_api, body, field):
    roster, _shifts = _roster()
    response = coordinator_api.post(f"/api/v1/rosters/{roster.pk}/autofill/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {field}
    assert not AutofillRun.objects.exists()


def test_autofill_options_on_a_roster_with_nothing_to_change(
    coordinator_api, django_capture_on_commit_callbacks
):
    roster, _nights, _people = _nights_with_time_off()
    from scheduling.models import TimeOff

    TimeOff.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        body = coordinator_api.post(
            f"/api/v1/rosters/{roster.pk}/autofill/", {"options": True}, format="json"
        ).json()
    status = coordinator_api.get(body["status_url"]).json()
    assert [o["key"] for o in status["options"]] == ["no_change"]
    assert status["options"][0]["diff"] == []
    assert status["option_notes"][0].startswith("Nothing needs to change")
