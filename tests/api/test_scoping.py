"""Coordinators see and change only their own organisation and the organisations under it
(a city federation over its county branches), on every API resource; superusers see all.
Rows out of scope answer 404 exactly like ids that do not exist."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from hotline.models import Escalation, Hotline, Organisation, Volunteer
from scheduling.models import Assignment, Roster, SwapRequest
from tests.support import factories as f
from tests.support.orgs import MANAGES, NOW, ORGS, federation, keys_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def fed(clock):
    clock.set(NOW)
    return federation()


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def listed(client, url) -> set[int]:
    response = client.get(url, {"page_size": 500})
    assert response.status_code == 200, response.content
    body = response.json()
    return {row["id"] for row in (body["results"] if isinstance(body, dict) else body)}


# resource → (list URL, the scene's rows it lists, keyed by organisation)
SURFACES = {
    "hotlines": ("/api/v1/hotlines/", "hotline"),
    "organisations": ("/api/v1/organisations/", "org"),
    "rosters": ("/api/v1/rosters/", "draft"),
    "shifts": ("/api/v1/shifts/", "shift"),
    "assignments": ("/api/v1/assignments/", "assignment"),
    "volunteers": ("/api/v1/volunteers/", "volunteer"),
    "calls": ("/api/v1/calls/", "call"),
    "callbacks": ("/api/v1/callbacks/", "callback"),
    "escalations": ("/api/v1/escalations/", "escalation"),
    "swaps": ("/api/v1/swaps/", "swap"),
}


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("who", ORGS)
def test_coordinator_lists_only_their_organisation_and_its_branches(fed, who, surface):
    url, rows = SURFACES[surface]
    seen = keys_of(getattr(fed, rows), listed(client_of(fed.coordinator[who]), url))
    assert seen == MANAGES[who]


@pytest.mark.parametrize("surface", SURFACES)
def test_superuser_lists_everything(fed, surface):
    url, rows = SURFACES[surface]
    seen = keys_of(getattr(fed, rows), listed(client_of(fed.superuser), url))
    assert seen == set(ORGS)


def test_availability_and_time_off_scoped_by_the_volunteers_organisation(fed):
    client = client_of(fed.coordinator["county_a"])
    for url in ("/api/v1/availability/", "/api/v1/time-off/"):
        owners = {row["volunteer"] for row in client.get(url, {"page_size": 500}).json()["results"]}
        assert owners == {fed.volunteer["county_a"].pk}, url


def test_coordinator_sees_no_roster_of_another_organisation_not_even_published(fed):
    ids = listed(client_of(fed.coordinator["county_a"]), "/api/v1/rosters/")
    assert ids == {fed.draft["county_a"].pk, fed.published["county_a"].pk}


def test_the_federation_sees_a_branch_added_later():
    top = f.organisation()
    coordinator = f.volunteer(roles=(), user=f.coordinator_user(), organisation=top).user
    branch = f.organisation(parent=f.organisation(parent=top))  # two levels down
    line = f.hotline(organisation=branch)
    assert listed(client_of(coordinator), "/api/v1/hotlines/") == {line.pk}


# --- object URLs: not yours = does not exist ------------------------------------------------

OBJECT_URLS = [
    ("get", "/api/v1/hotlines/{hotline}/", {}),
    ("patch", "/api/v1/hotlines/{hotline}/", {"name": "Mine now"}),
    ("delete", "/api/v1/hotlines/{hotline}/", {}),
    ("get", "/api/v1/organisations/{org}/", {}),
    ("patch", "/api/v1/organisations/{org}/", {"name": "Mine now"}),
    ("get", "/api/v1/volunteers/{volunteer}/", {}),
    ("patch", "/api/v1/volunteers/{volunteer}/", {"password": "a-new-Secret-77"}),
    ("get", "/api/v1/rosters/{draft}/", {}),
    ("patch", "/api/v1/rosters/{draft}/", {"last_day": "2026-03-16"}),
    ("post", "/api/v1/rosters/{draft}/publish/", {}),
    ("get", "/api/v1/rosters/{draft}/coverage/", {}),
    ("get", "/api/v1/shifts/{shift}/", {}),
    ("delete", "/api/v1/shifts/{shift}/", {}),
    ("patch", "/api/v1/assignments/{assignment}/", {"locked": True}),
    ("delete", "/api/v1/assignments/{assignment}/", {}),
    ("get", "/api/v1/calls/{call}/", {}),
    ("get", "/api/v1/calls/{call}/report/", {}),
    ("get", "/api/v1/callbacks/{callback}/", {}),
    ("post", "/api/v1/callbacks/{callback}/done/", {"note": "x"}),
    ("get", "/api/v1/escalations/{escalation}/", {}),
    ("post", "/api/v1/escalations/{escalation}/acknowledge/", {}),
    ("post", "/api/v1/swaps/{swap}/approve/", {}),
    ("post", "/api/v1/swaps/{swap}/reject/", {"reason": "no"}),
]


@pytest.mark.parametrize(("method", "url", "data"), OBJECT_URLS)
def test_another_organisations_object_answers_like_a_missing_one(fed, method, url, data):
    client = client_of(fed.coordinator["county_a"])
    ids = {name: rows["county_b"].pk for name, rows in vars(fed).items() if isinstance(rows, dict)}
    theirs = getattr(client, method)(url.format(**ids), data, format="json")
    missing = getattr(client, method)(
        url.format(**{k: v + 10_000 for k, v in ids.items()}), data, format="json"
    )
    assert theirs.status_code == missing.status_code == 404, theirs.content
    assert theirs.json() == missing.json()


def test_nothing_of_another_organisation_changed_by_those_attempts(fed):
    client = client_of(fed.coordinator["county_a"])
    b = {name: rows["county_b"] for name, rows in vars(fed).items() if isinstance(rows, dict)}
    for method, url, data in OBJECT_URLS:
        getattr(client, method)(url.format(**{k: v.pk for k, v in b.items()}), data, format="json")
    assert Hotline.objects.get(pk=b["hotline"].pk).name == "Line county_b"
    assert Roster.objects.get(pk=b["draft"].pk).status == "draft"
    assert Assignment.objects.get(pk=b["assignment"].pk).status == "active"
    assert Escalation.objects.get(pk=b["escalation"].pk).status == "open"
    assert SwapRequest.objects.get(pk=b["swap"].pk).status == "claimed"
    user = Volunteer.objects.get(pk=b["volunteer"].pk).user
    assert user.check_password("pw-for-tests-1")


def test_city_coordinator_manages_a_branchs_objects(fed):
    client = client_of(fed.coordinator["city"])
    line = fed.hotline["county_b"]
    r = client.patch(f"/api/v1/hotlines/{line.pk}/", {"min_rest_hours": 9}, format="json")
    assert r.status_code == 200
    r = client.post(f"/api/v1/swaps/{fed.swap['county_b'].pk}/approve/", format="json")
    assert r.status_code == 200, r.content


# --- writes stay inside -----------------------------------------------------------------------


def test_coordinator_creates_rows_only_in_what_they_manage(fed):
    client = client_of(fed.coordinator["county_a"])
    a, b = fed.org["county_a"], fed.org["county_b"]
    # A hotline in their branch, or left out: their own organisation.
    r = client.post(
        "/api/v1/hotlines/",
        {"name": "New", "phone_number": "+8637100000001", "organisation": b.pk},
        format="json",
    )
    assert r.status_code == 400 and "organisation" in r.json()["errors"]
    r = client.post(
        "/api/v1/hotlines/", {"name": "New", "phone_number": "+8637100000001"}, format="json"
    )
    assert r.status_code == 201 and r.json()["organisation"] == a.pk
    # A roster on another branch's hotline: no such hotline, for them.
    r = client.post(
        "/api/v1/rosters/",
        {
            "hotline": fed.hotline["county_b"].pk,
            "first_day": "2026-04-06",
            "last_day": "2026-04-12",
        },
        format="json",
    )
    assert r.status_code == 400 and "hotline" in r.json()["errors"]
    # A shift on another branch's roster; an assignment of another branch's volunteer.
    r = client.post(
        "/api/v1/shifts/",
        {
            "roster": fed.draft["county_b"].pk,
            "starts_at": "2026-03-10T08:00:00+08:00",
            "ends_at": "2026-03-10T14:00:00+08:00",
            "requirements": {"counsellor": 1},
        },
        format="json",
    )
    assert r.status_code == 400 and "roster" in r.json()["errors"]
    shift = f.shift(roster_=fed.draft["county_a"], starts_at=f.at(2026, 3, 10, 8))
    r = client.post(
        "/api/v1/assignments/",
        {"shift": shift.pk, "volunteer": fed.volunteer["county_b"].pk, "role": "counsellor"},
        format="json",
    )
    assert r.status_code == 400 and "volunteer" in r.json()["errors"]
    # A volunteer into another organisation; a top-level organisation; a branch elsewhere.
    r = client.post(
        "/api/v1/volunteers/",
        {
            "username": "newbie",
            "name": "Newbie",
            "phone_number": "+8613900009999",
            "roles": ["counsellor"],
            "organisation": b.pk,
            "password": "a-long-Secret-88",
        },
        format="json",
    )
    assert r.status_code == 400 and "organisation" in r.json()["errors"]
    assert (
        client.post("/api/v1/organisations/", {"name": "Rogue"}, format="json").status_code == 400
    )
    r = client.post("/api/v1/organisations/", {"name": "Rogue", "parent": b.pk}, format="json")
    assert r.status_code == 400 and "parent" in r.json()["errors"]
    r = client.post("/api/v1/organisations/", {"name": "Township", "parent": a.pk}, format="json")
    assert r.status_code == 201
    assert not Organisation.objects.filter(name="Rogue").exists()


def test_organisation_cannot_sit_under_its_own_branch(fed):
    client = client_of(fed.superuser)
    city, a = fed.org["city"], fed.org["county_a"]
    r = client.patch(f"/api/v1/organisations/{city.pk}/", {"parent": a.pk}, format="json")
    assert r.status_code == 400 and "parent" in r.json()["errors"]
    r = client.patch(f"/api/v1/organisations/{city.pk}/", {"parent": city.pk}, format="json")
    assert r.status_code == 400
    city.refresh_from_db()
    assert city.parent is None


def test_scoped_lists_cost_the_same_for_one_and_three_branches():
    top = f.organisation()
    coordinator = f.volunteer(roles=(), user=f.coordinator_user(), organisation=top).user
    counts = []
    for n in (1, 3):
        for _ in range(n):
            branch = f.organisation(parent=top)
            f.volunteer(organisation=branch)
            f.hotline(organisation=branch)
        client = client_of(type(coordinator).objects.get(pk=coordinator.pk))  # nothing cached
        with CaptureQueriesContext(connection) as ctx:
            for url in ("/api/v1/volunteers/", "/api/v1/hotlines/", "/api/v1/organisations/"):
                assert client.get(url).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
