"""The calendar link API, rotation, reminders preference and the swaps API (409 refusals)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from scheduling import swaps
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db


def client_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_calendar_urls_and_rotation(volunteer, api):
    me = client_for(volunteer.user)
    first = me.get("/api/v1/me/calendar/").json()
    assert first["url"].startswith("http://testserver/calendar/") and first["url"].endswith(".ics")
    assert first["webcal_url"] == "webcal://" + first["url"].split("://")[1]
    assert me.get("/api/v1/me/calendar/").json() == first  # stable until rotated
    assert api.get(first["url"]).status_code == 200
    rotated = me.post("/api/v1/me/calendar/rotate/").json()
    assert rotated["url"] != first["url"]
    assert api.get(first["url"]).status_code == 404
    assert api.get(rotated["url"]).status_code == 200


def test_calendar_needs_login_and_volunteer(api, coordinator_api):
    assert api.get("/api/v1/me/calendar/").status_code in (401, 403)
    assert coordinator_api.get("/api/v1/me/calendar/").status_code == 404


def test_site_url_setting_used(volunteer, settings):
    settings.SITE_URL = "https://roster.example.org/"
    url = client_for(volunteer.user).get("/api/v1/me/calendar/").json()["url"]
    assert url.startswith("https://roster.example.org/calendar/")


def test_reminders_preference(volunteer):
    me = client_for(volunteer.user)
    assert me.get("/api/v1/me/reminders/").json() == {"reminders_enabled": True}
    assert me.put("/api/v1/me/reminders/", {"reminders_enabled": False}, format="json").json() == {
        "reminders_enabled": False
    }


@pytest.fixture
def scene(clock, outbox):
    roster = published_roster(london_hotline())
    amy, ben = f.volunteer(display_name="Amy"), f.volunteer(display_name="Ben")
    shift = f.shift(roster_=roster, starts_at=local(2027, 3, 24, 9), hours=6)
    return {
        "amy": amy,
        "ben": ben,
        "a": f.assignment(shift_=shift, volunteer_=amy),
        "roster": roster,
    }


def test_swap_api_offer_claim_approve(scene, coordinator_api):
    amy, ben = client_for(scene["amy"].user), client_for(scene["ben"].user)
    response = amy.post(
        "/api/v1/swaps/", {"assignment": scene["a"].pk, "kind": "offer"}, format="json"
    )
    assert response.status_code == 201, response.json()
    swap_id = response.json()["id"]
    assert [s["id"] for s in ben.get("/api/v1/swaps/").json()["results"]] == [swap_id]
    assert ben.post(f"/api/v1/swaps/{swap_id}/claim/").json()["status"] == "claimed"
    assert ben.post(f"/api/v1/swaps/{swap_id}/approve/").status_code == 403
    done = coordinator_api.post(f"/api/v1/swaps/{swap_id}/approve/").json()
    assert done["status"] == "done" and done["new_assignment"]


def test_swap_api_rule_refusal_is_409(scene):
    busy = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 24, 10), hours=2)
    f.assignment(shift_=busy, volunteer_=scene["ben"])
    swap = swaps.swap_offer(assignment=scene["a"], volunteer=scene["amy"])
    response = client_for(scene["ben"].user).post(f"/api/v1/swaps/{swap.pk}/claim/")
    assert response.status_code == 409
    assert response.json()["code"] == "overlap" and "overlapping" in response.json()["detail"]


def test_swap_api_started_shift_is_409(scene, clock):
    clock.now = local(2027, 3, 24, 9, 5)
    response = client_for(scene["amy"].user).post(
        "/api/v1/swaps/", {"assignment": scene["a"].pk, "kind": "drop"}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "started"


def test_swap_api_cannot_offer_others_assignment(scene):
    response = client_for(scene["ben"].user).post(
        "/api/v1/swaps/", {"assignment": scene["a"].pk}, format="json"
    )
    assert response.status_code == 404


def test_swap_api_withdraw_only_own(scene):
    swap = swaps.swap_offer(assignment=scene["a"], volunteer=scene["amy"])
    ben, amy = client_for(scene["ben"].user), client_for(scene["amy"].user)
    response = ben.post(f"/api/v1/swaps/{swap.pk}/withdraw/")
    assert response.status_code == 409 and response.json()["code"] == "not_yours"
    assert amy.post(f"/api/v1/swaps/{swap.pk}/withdraw/").json()["status"] == "withdrawn"
    assert ben.get("/api/v1/swaps/").json()["results"] == []


def test_swap_api_list_query_count_for_coordinators_does_not_grow(
    scene, coordinator_api, django_assert_max_num_queries
):
    swaps.swap_offer(assignment=scene["a"], volunteer=scene["amy"])
    for i in range(8):
        giver = f.volunteer()
        shift = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 29, 9 + i), hours=1)
        swaps.swap_offer(assignment=f.assignment(shift_=shift, volunteer_=giver), volunteer=giver)
    with django_assert_max_num_queries(5):
        response = coordinator_api.get("/api/v1/swaps/")
    assert len(response.json()["results"]) == 9
