"""`/api/v1/follow-ups/`: list with filters, create, retrieve, update, complete, for each
persona (anonymous, the assigned volunteer, another volunteer, a supervisor, a
coordinator). A follow-up someone may not see is a 404."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from hotline.crisis import escalations
from hotline.models import AuditLog, FollowUp
from tests.support import factories as f
from tests.support.crisis import answered_call
from tests.support.followups import follow_up_for
from tests.support.scenes import NOW

PERSONAS = ("anonymous", "volunteer", "other", "supervisor", "coordinator")


@pytest.fixture
def world(db, volunteer, supervisor, coordinator, clock):
    hotline = f.hotline()
    other = f.volunteer(display_name="Other Volunteer")
    fu = follow_up_for(hotline, volunteer, now=NOW, due_at=NOW + dt.timedelta(hours=2))
    late = follow_up_for(hotline, volunteer, now=NOW, due_at=NOW - dt.timedelta(hours=1))
    others = follow_up_for(hotline, other, now=NOW)
    debrief = FollowUp.objects.create(
        kind=FollowUp.Kind.DEBRIEF,
        source=FollowUp.Source.VOLUNTEER,
        volunteer=volunteer,
        due_at=NOW + dt.timedelta(hours=20),
        created_at=NOW,
        updated_at=NOW,
    )
    users = {
        "anonymous": None,
        "volunteer": volunteer.user,
        "other": other.user,
        "supervisor": supervisor.user,
        "coordinator": coordinator,
    }
    return {
        "hotline": hotline,
        "fu": fu,
        "late": late,
        "others": others,
        "debrief": debrief,
        "users": users,
        "other": other,
    }


def client_for(world, persona) -> APIClient:
    client = APIClient()
    if world["users"][persona] is not None:
        client.force_authenticate(world["users"][persona])
    return client


def ids(r):
    assert r.status_code == 200, r.content
    body = r.json()
    return {row["id"] for row in (body["results"] if isinstance(body, dict) else body)}


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_shows_each_persona_what_is_theirs(world, persona):
    r = client_for(world, persona).get("/api/v1/follow-ups/")
    if persona == "anonymous":
        assert r.status_code == 401
        return
    fu, late, others, debrief = (world[k].pk for k in ("fu", "late", "others", "debrief"))
    expected = {
        "volunteer": {fu, late},
        "other": {others},
        "supervisor": {fu, late, others, debrief},
        "coordinator": {fu, late, others},  # never a debrief
    }[persona]
    assert ids(r) == expected


def test_list_rows_carry_no_notes_or_number(world):
    r = client_for(world, "supervisor").get("/api/v1/follow-ups/")
    row = r.json()["results"][0] if isinstance(r.json(), dict) else r.json()[0]
    assert "notes" not in row and "number" not in row and "overdue" in row


def test_filters_status_assignee_overdue(world):
    api = client_for(world, "supervisor")
    volunteer_id = world["fu"].assignee_id
    assert ids(api.get("/api/v1/follow-ups/?overdue=1")) == {world["late"].pk}
    assert ids(api.get(f"/api/v1/follow-ups/?assignee={volunteer_id}")) == {
        world["fu"].pk,
        world["late"].pk,
    }
    assert ids(api.get("/api/v1/follow-ups/?status=done")) == set()
    own = client_for(world, "other").get("/api/v1/follow-ups/?assignee=me")
    assert ids(own) == {world["others"].pk}


@pytest.mark.parametrize("query", ["status=finished", "assignee=someone", "overdue=yes"], ids=str)
def test_bad_filters_are_400_naming_the_parameter(world, query):
    r = client_for(world, "supervisor").get(f"/api/v1/follow-ups/?{query}")
    assert r.status_code == 400
    assert query.split("=")[0] in r.json()["errors"]


RETRIEVE = {"anonymous": 401, "volunteer": 200, "other": 404, "supervisor": 200, "coordinator": 200}


@pytest.mark.parametrize("persona", PERSONAS)
def test_retrieve_is_audited_and_404_when_not_yours(world, persona):
    fu = world["fu"]
    r = client_for(world, persona).get(f"/api/v1/follow-ups/{fu.pk}/")
    assert r.status_code == RETRIEVE[persona]
    if r.status_code == 200:
        body = r.json()
        assert body["number_last4"] == "9000" and "number" not in body
        assert AuditLog.objects.filter(action="followup.view", object_id=fu.pk).exists()


DEBRIEF = {"anonymous": 401, "volunteer": 404, "other": 404, "supervisor": 200, "coordinator": 404}


@pytest.mark.parametrize("persona", PERSONAS)
def test_debriefs_are_for_supervisors_only(world, persona):
    r = client_for(world, persona).get(f"/api/v1/follow-ups/{world['debrief'].pk}/")
    assert r.status_code == DEBRIEF[persona]


COMPLETE = {"anonymous": 401, "volunteer": 200, "other": 404, "supervisor": 200, "coordinator": 200}


@pytest.mark.parametrize("persona", PERSONAS)
def test_complete(world, persona):
    fu = world["fu"]
    r = client_for(world, persona).post(
        f"/api/v1/follow-ups/{fu.pk}/complete/",
        {"status": "done", "notes": "reached her, she is safe"},
        format="json",
    )
    assert r.status_code == COMPLETE[persona], r.content
    fu.refresh_from_db()
    if r.status_code == 200:
        assert r.json()["status"] == "done" and fu.notes == "reached her, she is safe"
    else:
        assert fu.status == "open"


def test_complete_twice_is_409_and_a_bad_status_400(world):
    api = client_for(world, "volunteer")
    url = f"/api/v1/follow-ups/{world['fu'].pk}/complete/"
    assert api.post(url, {"status": "open"}, format="json").status_code == 400
    assert api.post(url, {"status": "not_reached"}, format="json").status_code == 200
    r = api.post(url, {"status": "done"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "follow_up_closed"


UPDATE = {"anonymous": 401, "volunteer": 200, "other": 404, "supervisor": 200, "coordinator": 200}


@pytest.mark.parametrize("persona", PERSONAS)
def test_update_due_time_and_notes(world, persona):
    fu = world["fu"]
    due = (NOW + dt.timedelta(days=2)).isoformat()
    r = client_for(world, persona).patch(
        f"/api/v1/follow-ups/{fu.pk}/", {"due_at": due, "best_time": "mornings"}, format="json"
    )
    assert r.status_code == UPDATE[persona], r.content
    fu.refresh_from_db()
    assert (fu.best_time == "mornings") == (UPDATE[persona] == 200)


def test_update_refuses_a_past_due_time_and_volunteer_reassigning(world):
    api = client_for(world, "volunteer")
    url = f"/api/v1/follow-ups/{world['fu'].pk}/"
    r = api.patch(url, {"due_at": (NOW - dt.timedelta(hours=1)).isoformat()}, format="json")
    assert r.status_code == 400 and "due_at" in r.json()["errors"]
    r = api.patch(url, {"assignee": world["other"].pk}, format="json")
    assert r.status_code == 403
    r = client_for(world, "supervisor").patch(url, {"assignee": world["other"].pk}, format="json")
    assert r.status_code == 200 and r.json()["assignee"] == world["other"].pk


def test_create_from_an_escalation_by_a_supervisor(world, volunteer):
    call = answered_call(world["hotline"], volunteer, at=NOW)
    escalation = escalations.escalation_raise(
        call=call, by=volunteer.user, reason="danger", now=NOW
    )
    payload = {
        "escalation": escalation.pk,
        "due_at": (NOW + dt.timedelta(hours=4)).isoformat(),
        "assignee": volunteer.pk,
    }
    assert client_for(world, "volunteer").post(
        "/api/v1/follow-ups/", payload, format="json"
    ).status_code in (403, 404)
    past = {**payload, "due_at": (NOW - dt.timedelta(hours=1)).isoformat()}
    r = client_for(world, "supervisor").post("/api/v1/follow-ups/", past, format="json")
    assert r.status_code == 400 and "due_at" in r.json()["errors"]
    r = client_for(world, "supervisor").post("/api/v1/follow-ups/", payload, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["kind"] == "confirm_help" and r.json()["assignee"] == volunteer.pk


def test_create_for_a_call_by_its_volunteer(world, volunteer):
    call = answered_call(world["hotline"], volunteer, at=NOW)
    payload = {
        "call": call.pk,
        "due_at": (NOW + dt.timedelta(hours=4)).isoformat(),
        "safe_to_call": False,
    }
    r = client_for(world, "other").post("/api/v1/follow-ups/", payload, format="json")
    assert r.status_code == 403
    r = client_for(world, "volunteer").post("/api/v1/follow-ups/", payload, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["assignee"] == volunteer.pk and r.json()["safe_to_call"] is False


def test_anonymous_cannot_create_or_complete(world):
    api = client_for(world, "anonymous")
    assert api.post("/api/v1/follow-ups/", {}, format="json").status_code == 401
    r = api.post(f"/api/v1/follow-ups/{world['fu'].pk}/call-back/", {}, format="json")
    assert r.status_code == 401
