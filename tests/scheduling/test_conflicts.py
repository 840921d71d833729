"""Conflicts surfaced: time off, weekly windows, an imported calendar or a deactivation that
clash with assigned shifts warn the volunteer on the spot (with one-tap offer / drop), mark
the seat on the board, tell the coordinators once per volunteer per change, and are listed
by the API with the rule layer's codes."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from scheduling import services
from scheduling.availability import services as availability_services
from scheduling.models import SwapRequest
from scheduling.notify import roster_changes_notify
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db

THURSDAY_OFF = {"starts_at": "2027-03-25 00:00", "ends_at": "2027-03-26 00:00", "reason": "ill"}


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
    on_thursday = f.assignment(shift_=thursday, volunteer_=amy)
    on_friday = f.assignment(shift_=friday, volunteer_=amy)
    roster_changes_notify(roster=roster, now=clock.now)
    return {
        "roster": roster,
        "amy": amy,
        "boss": boss,
        "thursday": thursday,
        "friday": friday,
        "on_thursday": on_thursday,
        "on_friday": on_friday,
    }


@pytest.fixture
def amy_client(scene):
    client = Client()
    client.force_login(scene["amy"].user)
    return client


def _conflict_sms(outbox, to):
    return [m for m in outbox if m["purpose"] == "conflict" and m["to"] == to]


def test_time_off_over_a_shift_warns_her_lists_it_and_tells_the_coordinator_once(
    scene, amy_client, outbox
):
    url = reverse("scheduling:my-availability")
    response = amy_client.post(url, {"action": "time_off", **THURSDAY_OFF})

    assert response.status_code == 302 and response["Location"].endswith("#conflicts")
    page = amy_client.get(response["Location"]).content.decode()
    assert "This clashes with 1 of your shifts" in page
    assert 'id="conflicts"' in page and f'id="conflict-{scene["on_thursday"].pk}"' in page
    assert "Thu 2027-03-25 09:00" in page and "Amy has declared time off then (ill)" in page
    assert "Offer for swap" in page and "Ask to drop" in page
    sms = _conflict_sms(outbox, scene["boss"].phone_number)
    assert len(sms) == 1
    assert "Amy can no longer keep these shifts:" in sms[0]["body"]
    assert "Thu 2027-03-25 09:00" in sms[0]["body"]

    # A change that adds no clash tells nobody again; a new clash is a new notice.
    amy_client.post(
        url,
        {"action": "time_off", "starts_at": "2027-04-20 00:00", "ends_at": "2027-04-21 00:00"},
    )
    assert len(_conflict_sms(outbox, scene["boss"].phone_number)) == 1
    amy_client.post(
        url,
        {"action": "time_off", "starts_at": "2027-03-26 00:00", "ends_at": "2027-03-27 00:00"},
    )
    assert len(_conflict_sms(outbox, scene["boss"].phone_number)) == 2


def test_one_tap_offer_from_the_warning(scene, amy_client):
    amy_client.post(reverse("scheduling:my-availability"), {"action": "time_off", **THURSDAY_OFF})
    response = amy_client.post(
        reverse("scheduling:my-shift-offer", args=[scene["on_thursday"].pk]),
        {"kind": "drop", "next": "availability"},
    )
    assert response["Location"].endswith("#conflicts")
    swap = SwapRequest.objects.get(assignment=scene["on_thursday"])
    assert swap.kind == "drop" and swap.status == "open"
    page = amy_client.get(reverse("scheduling:my-availability")).content.decode()
    assert "Already offered." in page


def test_the_availability_page_explains_windows_before_the_first(scene, amy_client):
    url = reverse("scheduling:my-availability")
    page = amy_client.get(url).content.decode()
    assert 'id="windows-explained"' in page
    assert "Once you add a window, you are rostered only inside your windows" in page

    # One Monday-evening window: every shift elsewhere now clashes, and she is told so.
    response = amy_client.post(
        url,
        {
            "action": "window",
            "weekday": 0,
            "start_time": "18:00",
            "end_time": "22:00",
            "kind": "available",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "From now on you are rostered only inside your weekly windows." in html
    assert "This clashes with 2 of your shifts" in html
    assert "Amy is not available at Thu 2027-03-25 09:00" in html


def test_board_marks_the_seat_with_the_reason(scene, client, coordinator):
    availability_services.time_off_add(
        volunteer=scene["amy"],
        starts_at=scene["thursday"].starts_at,
        ends_at=scene["thursday"].ends_at,
        reason="ill",
    )
    client.force_login(coordinator)
    page = client.get(
        reverse("scheduling:roster-board", args=[scene["roster"].pk]),
        {"week": "2027-03-22", "shift": scene["thursday"].pk},
    ).content.decode()
    assert "conflict" in page and 'title="Amy has declared time off then (ill).' in page
    assert 'class="clash conflict-reason">⚠ Amy has declared time off then (ill).' in page


def test_api_lists_conflicts_with_rule_codes(scene, coordinator_api, volunteer_api):
    roster = scene["roster"]
    assert coordinator_api.get(f"/api/v1/rosters/{roster.pk}/conflicts/").json()["count"] == 0
    availability_services.time_off_add(
        volunteer=scene["amy"],
        starts_at=scene["thursday"].starts_at,
        ends_at=scene["thursday"].ends_at,
    )
    data = coordinator_api.get(f"/api/v1/rosters/{roster.pk}/conflicts/").json()
    assert data["count"] == 1
    conflict = data["conflicts"][0]
    assert conflict["assignment"] == scene["on_thursday"].pk
    assert [v["code"] for v in conflict["violations"]] == ["time_off"]

    type(scene["amy"]).objects.filter(pk=scene["amy"].pk).update(is_active=False)
    data = coordinator_api.get(f"/api/v1/rosters/{roster.pk}/conflicts/").json()
    assert data["count"] == 2
    assert {v["code"] for c in data["conflicts"] for v in c["violations"]} == {
        "inactive",
        "time_off",
    }
    assert volunteer_api.get(f"/api/v1/rosters/{roster.pk}/conflicts/").status_code == 403


def test_time_off_through_the_api_tells_the_coordinator(scene, outbox):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(scene["amy"].user)
    response = api.post(
        "/api/v1/time-off/",
        {
            "volunteer": scene["amy"].pk,
            "starts_at": scene["friday"].starts_at.isoformat(),
            "ends_at": scene["friday"].ends_at.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201
    assert len(_conflict_sms(outbox, scene["boss"].phone_number)) == 1


def test_an_overridden_rule_is_not_a_conflict(scene):
    from scheduling.selectors import roster_conflicts

    availability_services.time_off_add(
        volunteer=scene["amy"],
        starts_at=scene["thursday"].starts_at,
        ends_at=scene["thursday"].ends_at,
    )
    services.assignment_cancel(assignment=scene["on_thursday"])
    services.roster_publish(roster=scene["roster"])
    boss = f.coordinator_user(username="boss2")
    services.assignment_create(
        shift=scene["thursday"],
        volunteer=scene["amy"],
        role="counsellor",
        by=boss,
        override_reason="she offered by phone",
    )
    assert [
        c.assignment.shift for c in roster_conflicts(scene["roster"], now=local(2027, 3, 20))
    ] == []
