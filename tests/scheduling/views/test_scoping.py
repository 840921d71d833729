"""The roster pages for a coordinator scoped to their organisation and its branches: the
home page, a roster, the coverage board (its candidates and what it assigns), swaps. Another
organisation's roster or swap answers 404 like a missing one; a non-numeric id too."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scheduling.models import Assignment, SwapRequest
from tests.support import factories as f
from tests.support.orgs import NOW, federation

pytestmark = pytest.mark.django_db


@pytest.fixture
def fed(clock):
    clock.set(NOW)
    return federation()


@pytest.fixture
def a_client(client, fed):
    client.force_login(fed.coordinator["county_a"])
    return client


def test_home_lists_only_managed_rosters(fed, a_client):
    page = a_client.get("/").content.decode()
    assert "Line county_a" in page
    assert "Line county_b" not in page and "Line city" not in page


@pytest.mark.parametrize(
    "name", ["scheduling:roster-detail", "scheduling:roster-board"], ids=["roster", "board"]
)
def test_another_organisations_roster_is_not_found(fed, a_client, name):
    theirs = a_client.get(reverse(name, args=[fed.draft["county_b"].pk]))
    missing = a_client.get(reverse(name, args=[fed.draft["county_b"].pk + 10_000]))
    assert theirs.status_code == missing.status_code == 404
    assert a_client.get(reverse(name, args=[fed.draft["county_a"].pk])).status_code == 200


def test_board_offers_and_assigns_only_managed_volunteers(fed, a_client):
    roster = fed.draft["county_a"]
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 10, 8), required_counsellors=3)
    board = reverse("scheduling:roster-board", args=[roster.pk])
    page = a_client.get(board, {"week": "2026-03-09", "shift": shift.pk}).content.decode()
    assert "Volunteer county_a" in page
    assert "Volunteer county_b" not in page and "Volunteer city" not in page
    assign = reverse("scheduling:roster-board-assign", args=[roster.pk])
    stranger = fed.volunteer["county_b"]
    r = a_client.post(assign, {"shift": shift.pk, "volunteer": stranger.pk, "role": "counsellor"})
    assert r.status_code == 404
    assert not Assignment.objects.filter(shift=shift).exists()
    ours = f.volunteer(organisation=fed.org["county_a"])  # free all week
    r = a_client.post(assign, {"shift": shift.pk, "volunteer": ours.pk, "role": "counsellor"})
    assert r.status_code == 302 and Assignment.objects.filter(shift=shift).count() == 1


@pytest.mark.parametrize("bad", ["abc", "1e3", "-1", "9" * 30, ""])
def test_board_non_numeric_ids_are_not_found_not_errors(fed, a_client, bad):
    roster = fed.draft["county_a"]
    assign = reverse("scheduling:roster-board-assign", args=[roster.pk])
    r = a_client.post(assign, {"shift": bad, "volunteer": bad, "role": "counsellor"})
    assert r.status_code == 404
    board = reverse("scheduling:roster-board", args=[roster.pk])
    assert a_client.get(board, {"shift": bad, "week": bad}).status_code == 200


def test_board_huge_roster_id_is_not_found(a_client):
    assert a_client.get("/rosters/99999999999999999999999/board/").status_code == 404
    assert a_client.get("/rosters/99999999999999999999999/").status_code == 404


def test_swaps_page_shows_and_decides_only_managed_swaps(fed, a_client):
    page = a_client.get(reverse("scheduling:swap-list")).content.decode()
    assert "Line county_a" in page and "Line county_b" not in page
    theirs = fed.swap["county_b"]
    r = a_client.post(reverse("scheduling:swap-approve", args=[theirs.pk]))
    assert r.status_code == 404
    r = a_client.post(reverse("scheduling:swap-reject", args=[theirs.pk]), {"reason": "no"})
    assert r.status_code == 404
    assert SwapRequest.objects.get(pk=theirs.pk).status == "claimed"
    r = a_client.post(reverse("scheduling:swap-approve", args=[fed.swap["county_a"].pk]))
    assert r.status_code == 302
    assert SwapRequest.objects.get(pk=fed.swap["county_a"].pk).status == "done"
