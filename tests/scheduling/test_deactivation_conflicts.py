"""Deactivating a volunteer who holds upcoming shifts is a conflict the coordinators hear
about: one SMS per coordinator per volunteer per change, through the outbox, on every path
that deactivates (people service, API, admin volunteer page, admin user page); the board
marks the seats and the API lists them with the rule layer's code `inactive`."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from hotline.people import services as people
from scheduling.notify import roster_changes_notify
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(clock, outbox):
    hotline = london_hotline()
    roster = published_roster(hotline)
    amy = f.volunteer(display_name="Amy", language="en", crisis_trained=True)
    boss = f.volunteer(
        display_name="Coco",
        language="en",
        user=f.coordinator_user(username="coco"),
        roles=("supervisor",),
    )
    thursday = f.shift(roster_=roster, starts_at=local(2027, 3, 25, 9), hours=6)
    friday = f.shift(roster_=roster, starts_at=local(2027, 3, 26, 9), hours=6)
    past = f.shift(roster_=roster, starts_at=local(2027, 3, 16, 9), hours=6)
    on_thursday = f.assignment(shift_=thursday, volunteer_=amy)
    on_friday = f.assignment(shift_=friday, volunteer_=amy)
    f.assignment(shift_=past, volunteer_=amy)
    roster_changes_notify(roster=roster, now=clock.now)
    return {
        "roster": roster,
        "amy": amy,
        "boss": boss,
        "thursday": thursday,
        "on_thursday": on_thursday,
        "on_friday": on_friday,
    }


def _conflict_sms(outbox, to):
    return [m for m in outbox if m["purpose"] == "conflict" and m["to"] == to]


def test_deactivating_tells_the_coordinator_once_with_the_upcoming_shifts(scene, outbox):
    people.volunteer_update(by=None, volunteer=scene["amy"], is_active=False)

    sms = _conflict_sms(outbox, scene["boss"].phone_number)
    assert len(sms) == 1
    body = sms[0]["body"]
    assert "Amy can no longer keep these shifts:" in body
    assert "Thu 2027-03-25 09:00" in body and "Fri 2027-03-26 09:00" in body
    assert "Amy is not an active volunteer." in body
    assert "2027-03-16" not in body  # a shift already over is no conflict
    # Amy herself is not told (she is no longer on the line).
    assert _conflict_sms(outbox, scene["amy"].phone_number) == []

    # Deactivating again (or saving the inactive record) sends nothing more.
    people.volunteer_update(by=None, volunteer=scene["amy"], is_active=False)
    people.volunteer_update(by=None, volunteer=scene["amy"], max_shifts_per_week=2)
    assert len(_conflict_sms(outbox, scene["boss"].phone_number)) == 1


def test_deactivating_someone_with_no_upcoming_shift_tells_nobody(scene, outbox):
    idle = f.volunteer(display_name="Idle", language="en")
    people.volunteer_update(by=None, volunteer=idle, is_active=False)
    assert [m for m in outbox if m["purpose"] == "conflict"] == []


def test_deactivating_through_the_api_tells_the_coordinator(scene, outbox):
    api = APIClient()
    api.force_authenticate(f.coordinator_user())
    url = f"/api/v1/volunteers/{scene['amy'].pk}/"
    assert api.patch(url, {"is_active": False}, format="json").status_code == 200
    assert api.patch(url, {"is_active": False}, format="json").status_code == 200
    assert len(_conflict_sms(outbox, scene["boss"].phone_number)) == 1


@pytest.fixture
def admin_client(client):
    client.force_login(f.user(username="root", is_staff=True, is_superuser=True))
    return client


def test_deactivating_on_the_admin_volunteer_page_tells_the_coordinator(
    scene, admin_client, outbox
):
    amy = scene["amy"]
    data = {
        "display_name": amy.display_name,
        "phone_number": amy.phone_number,
        "is_counsellor": "on",
        "crisis_trained": "on",
        "languages": json.dumps(amy.languages),
        "language": amy.language,
        "max_shifts_per_week": amy.max_shifts_per_week,
        # is_active left out: unchecked
    }
    response = admin_client.post(reverse("admin:hotline_volunteer_change", args=[amy.pk]), data)
    assert response.status_code == 302
    assert len(_conflict_sms(outbox, scene["boss"].phone_number)) == 1


def test_deactivating_the_login_on_the_admin_user_page_tells_the_coordinator(
    scene, admin_client, outbox
):
    user = scene["amy"].user
    url = reverse("admin:auth_user_change", args=[user.pk])
    data = {"username": user.username, "date_joined_0": "2026-03-01", "date_joined_1": "08:00:00"}
    assert admin_client.post(url, data).status_code == 302
    assert admin_client.post(url, data).status_code == 302  # saved again, still inactive
    sms = _conflict_sms(outbox, scene["boss"].phone_number)
    assert len(sms) == 1 and "Amy is not an active volunteer." in sms[0]["body"]


def test_reactivating_tells_nobody(scene, outbox):
    people.user_active_set(by=None, user=scene["amy"].user, is_active=False)
    people.user_active_set(by=None, user=scene["amy"].user, is_active=True)
    assert len(_conflict_sms(outbox, scene["boss"].phone_number)) == 1


def test_board_and_api_show_the_seats_of_a_deactivated_volunteer(scene, coordinator_api):
    people.volunteer_update(by=None, volunteer=scene["amy"], is_active=False)

    data = coordinator_api.get(f"/api/v1/rosters/{scene['roster'].pk}/conflicts/").json()
    assert data["count"] == 2
    assert {c["assignment"] for c in data["conflicts"]} == {
        scene["on_thursday"].pk,
        scene["on_friday"].pk,
    }
    assert {v["code"] for c in data["conflicts"] for v in c["violations"]} == {"inactive"}

    client = Client()
    client.force_login(scene["boss"].user)
    page = client.get(
        reverse("scheduling:roster-board", args=[scene["roster"].pk]),
        {"week": "2027-03-22", "shift": scene["thursday"].pk},
    ).content.decode()
    assert 'class="clash conflict-reason">⚠ Amy is not an active volunteer.' in page


def test_each_hotlines_coordinators_hear_of_their_own_shifts(clock, outbox):
    north, south = f.organisation(name="North"), f.organisation(name="South")
    north_line = london_hotline(name="North Line", organisation=north)
    south_line = london_hotline(name="South Line", organisation=south)
    amy = f.volunteer(display_name="Amy", organisation=north)
    nina = f.volunteer(
        display_name="Nina", user=f.coordinator_user(username="nina"), organisation=north
    )
    sam = f.volunteer(
        display_name="Sam", user=f.coordinator_user(username="sam"), organisation=south
    )
    north_shift = f.shift(
        roster_=published_roster(north_line), starts_at=local(2027, 3, 25, 9), hours=6
    )
    south_shift = f.shift(
        roster_=published_roster(south_line), starts_at=local(2027, 3, 27, 9), hours=6
    )
    f.assignment(shift_=north_shift, volunteer_=amy)
    f.assignment(shift_=south_shift, volunteer_=amy)

    people.volunteer_update(by=None, volunteer=amy, is_active=False)

    (to_nina,) = _conflict_sms(outbox, nina.phone_number)
    (to_sam,) = _conflict_sms(outbox, sam.phone_number)
    assert "North Line" in to_nina["body"] and "South Line" not in to_nina["body"]
    assert "South Line" in to_sam["body"] and "North Line" not in to_sam["body"]
