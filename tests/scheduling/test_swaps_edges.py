"""Swap and drop edges a mutation check found untested (issue 19): a seat on a fully
staffed shift, a second claim, who may approve and offer, the start time as the edge, and a
TAKE from a volunteer who was never asked. Each test names the mutation of
scheduling/swaps.py it was checked against (made by hand, test seen failing, code
reverted)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from scheduling import services, swaps
from scheduling.models import Assignment, DropAsk, SwapRequest
from scheduling.rules import RuleViolation
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(clock, outbox):
    """A fully staffed shift: one counsellor seat, and Amy holds it."""
    hotline = london_hotline()
    roster = published_roster(hotline)
    giver = f.volunteer(display_name="Amy", language="en")
    taker = f.volunteer(display_name="Ben", language="en")
    shift = f.shift(
        roster_=roster,
        starts_at=local(2027, 3, 24, 9),
        hours=6,
        required_counsellors=1,
        required_family_educators=0,
    )
    offered = f.assignment(shift_=shift, volunteer_=giver)
    return {
        "hotline": hotline,
        "giver": giver,
        "taker": taker,
        "shift": shift,
        "offered": offered,
    }


def offer(scene, kind="offer"):
    return swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"], kind=kind)


def claimed(scene):
    return swaps.swap_claim(swap=offer(scene), volunteer=scene["taker"])


def refused_code(call) -> str:
    with pytest.raises(RuleViolation) as exc:
        call()
    return exc.value.code


# --- a fully staffed shift --------------------------------------------------------------------


def test_swap_on_a_fully_staffed_shift_hands_the_seat_over(scene, coordinator, clock):
    """Mutations: `ignore=a` → `ignore=None` in swap_violations refuses the claim (capacity);
    creating the new assignment before cancelling the old one in _execute refuses the
    approval (capacity)."""
    swap = offer(scene)
    assert swaps.swaps_claimable(scene["taker"], now=clock.now) == [swap]
    swap = swaps.swap_claim(swap=swap, volunteer=scene["taker"])
    assert swap.status == SwapRequest.Status.CLAIMED
    swap = swaps.swap_approve(swap=swap, by=coordinator)
    assert swap.status == SwapRequest.Status.DONE
    # On a published roster the approved swap is a pending change until it is published;
    # publishing checks the seat again (the capacity rule with the old seat handed over).
    services.roster_publish(roster=scene["shift"].roster)
    active = Assignment.objects.filter(shift=scene["shift"], status=Assignment.Status.ACTIVE)
    assert [a.volunteer for a in active] == [scene["taker"]]


def test_drop_on_a_fully_staffed_shift_asks_and_is_taken_by_sms(scene):
    """Mutation: `ignore=a` → `ignore=None` leaves nobody eligible to ask."""
    scene["hotline"].auto_approve_swaps = True
    scene["hotline"].save()
    swap = offer(scene, kind="drop")
    assert DropAsk.objects.filter(swap=swap, volunteer=scene["taker"]).exists()
    reply = swaps.sms_take_reply(from_number=scene["taker"].phone_number, body=f"TAKE {swap.pk}")
    assert reply == "Done: the shift is yours."
    active = Assignment.objects.filter(shift=scene["shift"], status=Assignment.Status.ACTIVE)
    assert [a.volunteer for a in active] == [scene["taker"]]


def test_api_claim_on_a_fully_staffed_shift(scene):
    swap = offer(scene)
    api = APIClient()
    api.force_authenticate(scene["taker"].user)
    r = api.post(f"/api/v1/swaps/{swap.pk}/claim/")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "claimed"


# --- a second claim -----------------------------------------------------------------------------


def test_a_second_claim_is_refused_and_keeps_the_first(scene):
    """Mutation: accepting a claim while `CLAIMED` (`status not in (OPEN, CLAIMED)`) lets
    the second claimant overwrite the first."""
    swap = claimed(scene)
    cai = f.volunteer(display_name="Cai")
    assert refused_code(lambda: swaps.swap_claim(swap=swap, volunteer=cai)) == swaps.NOT_OPEN
    swap.refresh_from_db()
    assert swap.status == SwapRequest.Status.CLAIMED and swap.claimant == scene["taker"]


def test_api_second_claim_is_409(scene):
    swap = claimed(scene)
    api = APIClient()
    api.force_authenticate(f.volunteer(display_name="Cai").user)
    r = api.post(f"/api/v1/swaps/{swap.pk}/claim/")
    assert r.status_code == 409 and r.json()["code"] == "not_open"
    assert SwapRequest.objects.get(pk=swap.pk).claimant == scene["taker"]


# --- who may approve, who may offer --------------------------------------------------------------


def test_a_non_coordinator_calling_approve_is_refused(scene):
    """Mutation: removing the `can_decide_swaps` check in swap_approve lets the claimant
    approve their own claim (the page and the API check permission first; the service is
    the last word for every other caller)."""
    swap = claimed(scene)
    for who in (scene["taker"].user, scene["giver"].user, f.user()):
        assert refused_code(lambda who=who: swaps.swap_approve(swap=swap, by=who)) == (
            swaps.NOT_YOURS
        )
    assert SwapRequest.objects.get(pk=swap.pk).status == SwapRequest.Status.CLAIMED
    assert Assignment.objects.get(pk=scene["offered"].pk).is_active


def test_api_approve_by_a_volunteer_is_403(scene):
    swap = claimed(scene)
    api = APIClient()
    api.force_authenticate(scene["taker"].user)
    assert api.post(f"/api/v1/swaps/{swap.pk}/approve/").status_code == 403
    assert SwapRequest.objects.get(pk=swap.pk).status == SwapRequest.Status.CLAIMED


def test_offering_someone_elses_assignment_is_refused(scene):
    """Mutation: removing the owner check in swap_offer lets Ben offer Amy's shift."""
    code = refused_code(
        lambda: swaps.swap_offer(assignment=scene["offered"], volunteer=scene["taker"])
    )
    assert code == swaps.NOT_YOURS
    assert not SwapRequest.objects.exists()


# --- the start time is the edge ----------------------------------------------------------------


def test_approving_after_the_shift_started_is_refused(scene, coordinator, clock):
    """Mutation: removing `_check_not_started` from _execute swaps a shift already running."""
    swap = claimed(scene)
    clock.set(scene["shift"].starts_at)
    code = refused_code(lambda: swaps.swap_approve(swap=swap, by=coordinator))
    assert code == swaps.STARTED
    assert Assignment.objects.get(pk=scene["offered"].pk).is_active
    assert SwapRequest.objects.get(pk=swap.pk).status == SwapRequest.Status.CLAIMED


def test_offer_at_exactly_the_start_time_is_refused(scene, clock):
    """Mutation: `shift.starts_at <= now` → `<` in _check_not_started."""
    clock.set(scene["shift"].starts_at)
    assert refused_code(lambda: offer(scene)) == swaps.STARTED


def test_claim_at_exactly_the_start_time_is_refused(scene, clock):
    swap = offer(scene)
    clock.set(scene["shift"].starts_at)
    code = refused_code(lambda: swaps.swap_claim(swap=swap, volunteer=scene["taker"]))
    assert code == swaps.STARTED
    assert SwapRequest.objects.get(pk=swap.pk).status == SwapRequest.Status.OPEN


# --- a TAKE from someone never asked -------------------------------------------------------------


def test_take_reply_from_a_volunteer_who_was_never_asked(scene, settings):
    """Mutation: dropping `asks__volunteer=volunteer` from the lookup lets anyone who learns
    a drop's number take it by SMS."""
    settings.DROP_WAVE_SIZE = 1
    swap = offer(scene, kind="drop")
    cai = f.volunteer(display_name="Cai", language="en")  # joined after the asks went out
    assert not DropAsk.objects.filter(swap=swap, volunteer=cai).exists()
    reply = swaps.sms_take_reply(from_number=cai.phone_number, body=f"TAKE {swap.pk}")
    assert reply == "No such request for you."
    swap.refresh_from_db()
    assert swap.status == SwapRequest.Status.OPEN and swap.claimant is None


# --- a seat cancelled while on offer ---------------------------------------------------------------


def test_a_seat_the_coordinator_cancelled_cannot_be_claimed(scene, coordinator):
    """An offer whose seat a coordinator removed since: a claim straight to the API is
    refused and nobody is given the removed seat."""
    swap = offer(scene)
    services.assignment_cancel(assignment=scene["offered"], by=coordinator, immediate=True)
    api = APIClient()
    api.force_authenticate(scene["taker"].user)
    r = api.post(f"/api/v1/swaps/{swap.pk}/claim/")
    assert r.status_code == 409 and r.json()["code"] == "not_open", r.content
    assert SwapRequest.objects.get(pk=swap.pk).status == SwapRequest.Status.OPEN
    assert not Assignment.objects.filter(volunteer=scene["taker"]).exists()


def test_a_claimed_swap_whose_seat_was_cancelled_is_not_approved(scene, coordinator):
    """Claimed, then the seat cancelled by a coordinator: approving gives the claimant
    nothing (it would otherwise hand them the seat that was removed)."""
    swap = claimed(scene)
    services.assignment_cancel(assignment=scene["offered"], by=coordinator, immediate=True)
    code = refused_code(lambda: swaps.swap_approve(swap=swap, by=coordinator))
    assert code == swaps.NOT_OPEN
    assert SwapRequest.objects.get(pk=swap.pk).status == SwapRequest.Status.CLAIMED
    assert not Assignment.objects.filter(volunteer=scene["taker"]).exists()


# --- an offered shift with a staged edit of its times --------------------------------------


@pytest.fixture
def moved(clock, outbox, settings):
    """Amy's shift on Wed 24 Mar, staged (not yet published) to move to Mon 5 Apr, with a
    spare seat. Ben is off all of 5 Apr; Cai is off all of 24 Mar. The clock stands at
    20 Mar, outside the freeze window, so the edit waits for the roster's publish."""
    settings.DROP_WAVE_SIZE = 5
    hotline = london_hotline()
    roster = published_roster(hotline)
    amy = f.volunteer(display_name="Amy", language="en")
    ben = f.volunteer(display_name="Ben", language="en")
    cai = f.volunteer(display_name="Cai", language="en")
    shift = f.shift(roster_=roster, starts_at=local(2027, 3, 24, 9), hours=6)
    seat = f.assignment(shift_=shift, volunteer_=amy)
    f.time_off(volunteer_=ben, starts_at=local(2027, 4, 5, 0), ends_at=local(2027, 4, 6, 0))
    f.time_off(volunteer_=cai, starts_at=local(2027, 3, 24, 0), ends_at=local(2027, 3, 25, 0))
    services.shift_update(
        shift=shift, starts_at=local(2027, 4, 5, 9), ends_at=local(2027, 4, 5, 15)
    )
    shift.refresh_from_db()
    assert (shift.starts_at, shift.pending_starts_at) == (
        local(2027, 3, 24, 9),
        local(2027, 4, 5, 9),
    )
    return {"amy": amy, "ben": ben, "cai": cai, "seat": seat}


def test_an_offer_of_a_shift_staged_to_move_is_listed_for_who_is_free_at_its_new_time(moved, clock):
    """The taker is judged at the shift's planned times (where TAKE judges it), so the list
    never offers a seat that TAKE then refuses. Before the fix, the facts were loaded around
    the published 24 Mar: Ben's time off on 5 Apr was missed and he was listed."""
    swap = swaps.swap_offer(assignment=moved["seat"], volunteer=moved["amy"])

    assert swaps.swaps_claimable(moved["ben"], now=clock.now) == []
    with pytest.raises(RuleViolation) as refused:
        swaps.swap_claim(swap=swap, volunteer=moved["ben"])
    assert [v.code for v in refused.value.violations] == ["time_off"]
    assert swaps.swaps_claimable(moved["cai"], now=clock.now) == [swap]


def test_the_swaps_page_offers_a_moved_shift_only_to_who_is_free_at_its_new_time(moved, client):
    swap = swaps.swap_offer(assignment=moved["seat"], volunteer=moved["amy"])
    take = reverse("scheduling:swap-claim", args=[swap.pk])

    client.force_login(moved["ben"].user)
    assert take not in client.get(reverse("scheduling:swap-list")).content.decode()
    client.force_login(moved["cai"].user)
    assert take in client.get(reverse("scheduling:swap-list")).content.decode()


def test_a_drop_of_a_shift_staged_to_move_asks_only_who_is_free_at_its_new_time(moved):
    """Before the fix Ben was asked by SMS, and his TAKE was then refused (time off)."""
    swap = swaps.swap_offer(assignment=moved["seat"], volunteer=moved["amy"], kind="drop")

    assert list(swap.asks.values_list("volunteer__display_name", flat=True)) == ["Cai"]
