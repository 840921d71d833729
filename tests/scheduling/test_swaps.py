"""Swaps and drops through the rule layer, in one transaction, with SMS to both sides."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hotline.models import Message, Volunteer
from hotline.sms import backends
from scheduling import swaps
from scheduling.feeds import tokens
from scheduling.models import Assignment, DropAsk, SwapRequest
from scheduling.rules import RuleViolation
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(clock, outbox):
    hotline = london_hotline()
    roster = published_roster(hotline)
    giver = f.volunteer(display_name="Amy", language="en")
    taker = f.volunteer(display_name="Ben", language="en")
    shift = f.shift(roster_=roster, starts_at=local(2027, 3, 24, 9), hours=6)
    offered = f.assignment(shift_=shift, volunteer_=giver)
    return {
        "hotline": hotline,
        "roster": roster,
        "giver": giver,
        "taker": taker,
        "shift": shift,
        "offered": offered,
    }


def test_swap_offer_claim_approve_cancels_old_creates_new_and_sms_both(
    scene, coordinator, outbox, clock, client
):
    token = tokens.calendar_token_get(user=scene["giver"].user)
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert swaps.swaps_claimable(scene["taker"], now=clock.now) == [swap]
    assert swaps.swaps_claimable(scene["giver"], now=clock.now) == []
    swap = swaps.swap_claim(swap=swap, volunteer=scene["taker"])
    assert swap.status == SwapRequest.Status.CLAIMED
    swap = swaps.swap_approve(swap=swap, by=coordinator)
    assert swap.status == SwapRequest.Status.DONE and not swap.auto_approved
    old = Assignment.objects.get(pk=scene["offered"].pk)
    new = swap.new_assignment
    assert old.status == "cancelled" and old.sequence == 1
    assert new.volunteer == scene["taker"] and new.source == "swap" and new.is_active
    to = {m["to"] for m in outbox}
    assert {scene["giver"].phone_number, scene["taker"].phone_number} <= to
    assert any("Swap done" in m["body"] and m["to"] == scene["taker"].phone_number for m in outbox)
    # The giver's feed shows the old entry cancelled.
    body = client.get(
        reverse("scheduling:calendar-feed", kwargs={"token": token.token})
    ).content.decode()
    assert f"UID:assignment-{old.pk}@testserver" in body and "STATUS:CANCELLED" in body


def test_auto_approve_when_hotline_allows(scene):
    scene["hotline"].auto_approve_swaps = True
    scene["hotline"].save()
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    swap = swaps.swap_claim(swap=swap, volunteer=scene["taker"])
    assert swap.status == SwapRequest.Status.DONE and swap.auto_approved
    assert Message.objects.filter(dedupe_key=f"swap:{swap.pk}:done:taker").exists()


def test_claim_breaking_a_rule_is_refused_with_its_message(scene):
    busy = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 24, 10), hours=2)
    f.assignment(shift_=busy, volunteer_=scene["taker"])
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert swaps.swaps_claimable(scene["taker"], now=scene["shift"].starts_at.replace(day=20)) == []
    with pytest.raises(RuleViolation) as exc:
        swaps.swap_claim(swap=swap, volunteer=scene["taker"])
    assert exc.value.code == "overlap"
    assert "overlapping" in exc.value.message
    assert SwapRequest.objects.get(pk=swap.pk).status == "open"


def test_claim_needs_the_role(scene):
    educator = f.volunteer(roles=("family_educator",))
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    with pytest.raises(RuleViolation) as exc:
        swaps.swap_claim(swap=swap, volunteer=educator)
    assert exc.value.code == "role"


def test_swap_of_started_shift_refused(scene, clock):
    clock.now = local(2027, 3, 24, 9, 30)
    with pytest.raises(RuleViolation) as exc:
        swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert exc.value.code == "started"


def test_claim_after_start_refused_and_drops_expire(scene, clock):
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    clock.now = local(2027, 3, 24, 9, 1)
    with pytest.raises(RuleViolation) as exc:
        swaps.swap_claim(swap=swap, volunteer=scene["taker"])
    assert exc.value.code == "started"
    swaps.drops_ask_due(now=clock.now)
    assert SwapRequest.objects.get(pk=swap.pk).status == "expired"


def test_approval_rechecks_rules(scene, coordinator):
    swap = swaps.swap_claim(
        swap=swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"]),
        volunteer=scene["taker"],
    )
    f.time_off(
        volunteer_=scene["taker"], starts_at=local(2027, 3, 24, 0), ends_at=local(2027, 3, 25, 0)
    )
    with pytest.raises(RuleViolation) as exc:
        swaps.swap_approve(swap=swap, by=coordinator)
    assert exc.value.code == "time_off"
    assert Assignment.objects.get(pk=scene["offered"].pk).is_active  # nothing half-done


def test_offer_twice_refused_and_only_own(scene):
    swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    with pytest.raises(RuleViolation) as exc:
        swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert exc.value.code == "already_offered"
    with pytest.raises(RuleViolation):
        swaps.swap_offer(assignment=scene["offered"], volunteer=scene["taker"])


def test_reject_keeps_the_shift_with_the_giver(scene, coordinator, outbox):
    swap = swaps.swap_claim(
        swap=swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"]),
        volunteer=scene["taker"],
    )
    swap = swaps.swap_reject(swap=swap, by=coordinator, reason="needs experience")
    assert swap.status == "rejected"
    assert Assignment.objects.get(pk=scene["offered"].pk).is_active


def test_drop_asks_eligible_volunteers_in_fair_order_in_waves(scene, clock, outbox, settings):
    settings.DROP_WAVE_SIZE = 2
    settings.DROP_WAVE_MINUTES = 30
    busy, idle1, idle2 = (f.volunteer(display_name=n) for n in ("Busy", "Idle1", "Idle2"))
    other = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 22, 9), hours=6)
    f.assignment(shift_=other, volunteer_=busy)
    f.assignment(shift_=other, volunteer_=scene["taker"])  # the taker has hours too
    f.volunteer(roles=("family_educator",), display_name="NoRole")
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"], kind="drop")
    first_wave = list(
        DropAsk.objects.filter(swap=swap).values_list("volunteer__display_name", flat=True)
    )
    assert first_wave == ["Idle1", "Idle2"]  # no hours that week, by id
    assert swaps.drops_ask_due(now=clock.now) == 0  # next wave not yet due
    clock.advance(minutes=31)
    assert swaps.drops_ask_due(now=clock.now) == 2
    asked = set(
        DropAsk.objects.filter(swap=swap, wave=1).values_list("volunteer__display_name", flat=True)
    )
    assert asked == {"Busy", "Ben"}
    clock.advance(minutes=31)
    assert swaps.drops_ask_due(now=clock.now) == 0  # nobody left: uncovered
    assert list(swaps.drops_uncovered(now=clock.now)) == [SwapRequest.objects.get(pk=swap.pk)]
    assert SwapRequest.objects.get(pk=swap.pk).next_ask_at is None
    assert len([m for m in outbox if "TAKE" in m["body"]]) == 4


def test_drop_taken_by_sms_reply(scene, clock, outbox):
    scene["hotline"].auto_approve_swaps = True
    scene["hotline"].save()
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"], kind="drop")
    assert DropAsk.objects.filter(swap=swap, volunteer=scene["taker"]).exists()
    reply = swaps.sms_take_reply(
        from_number=scene["taker"].phone_number, body=f"take {swap.pk}", now=clock.now
    )
    assert reply == "Done: the shift is yours."
    assert SwapRequest.objects.get(pk=swap.pk).status == "done"
    assert swaps.sms_take_reply(from_number="+447700900999", body="hello", now=clock.now) is None
    again = swaps.sms_take_reply(
        from_number=scene["taker"].phone_number, body=f"TAKE {swap.pk}", now=clock.now
    )
    assert "already taken" in again


def test_pages_offer_claim_approve(scene, coordinator, client):
    client.force_login(scene["giver"].user)
    response = client.post(
        reverse("scheduling:my-shift-offer", args=[scene["offered"].pk]), {"kind": "offer"}
    )
    assert response.status_code == 302
    swap = SwapRequest.objects.get()
    client.force_login(scene["taker"].user)
    page = client.get(reverse("scheduling:swap-list"))
    assert swap.offered_by.display_name in page.content.decode()
    client.post(reverse("scheduling:swap-claim", args=[swap.pk]))
    client.force_login(coordinator)
    assert "Ben" in client.get(reverse("scheduling:swap-list")).content.decode()
    client.post(reverse("scheduling:swap-approve", args=[swap.pk]))
    assert SwapRequest.objects.get().status == "done"


def test_volunteer_cannot_approve_by_page(scene, client):
    swap = swaps.swap_claim(
        swap=swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"]),
        volunteer=scene["taker"],
    )
    client.force_login(scene["taker"].user)
    assert client.post(reverse("scheduling:swap-approve", args=[swap.pk])).status_code == 403


def test_withdraw_by_page_only_own_and_only_while_open(scene, client):
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    client.force_login(scene["taker"].user)
    client.post(reverse("scheduling:swap-withdraw", args=[swap.pk]))
    assert SwapRequest.objects.get(pk=swap.pk).status == "open"  # not the taker's to withdraw
    client.force_login(scene["giver"].user)
    assert client.post(reverse("scheduling:swap-withdraw", args=[swap.pk])).status_code == 302
    assert SwapRequest.objects.get(pk=swap.pk).status == "withdrawn"
    assert swaps.swaps_claimable(scene["taker"], now=scene["shift"].starts_at.replace(day=20)) == []
    with pytest.raises(RuleViolation) as exc:
        swaps.swap_claim(swap=swap, volunteer=scene["taker"])
    assert exc.value.code == "not_open"


def _more_offers(scene, count):
    for i in range(count):
        giver = f.volunteer()
        shift = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 29, 9 + i), hours=1)
        claimed = swaps.swap_offer(
            assignment=f.assignment(shift_=shift, volunteer_=giver), volunteer=giver
        )
        swaps.swap_claim(swap=claimed, volunteer=f.volunteer())


def test_coordinator_swap_list_query_count_does_not_grow(
    scene, coordinator, client, django_assert_max_num_queries
):
    client.force_login(coordinator)
    _more_offers(scene, 1)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("scheduling:swap-list")).status_code == 200
    _more_offers(scene, 8)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("scheduling:swap-list")).content.decode()
    assert page.count(">Approve<") == 9


def test_drop_candidates_match_one_by_one_checks_in_one_query_each(scene, clock):
    """Candidates for a dropped seat: the same volunteers, in the same order, as checking each
    on its own; with the rules' facts loaded per chunk, about one query per volunteer."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    other = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 24, 12), hours=6)
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"], kind="drop")

    def candidates_and_queries():
        with CaptureQueriesContext(connection) as ctx:
            found = swaps.drop_candidates(swap)
        return found, len(ctx.captured_queries)

    for i in range(12):
        v = f.volunteer(display_name=f"Pool{i}")
        if i % 3 == 0:  # on the overlapping shift: refused by the overlap rule
            f.assignment(shift_=other, volunteer_=v)
        if i % 4 == 1:
            f.time_off(volunteer_=v, starts_at=local(2027, 3, 24), ends_at=local(2027, 3, 25))
    found, queries = candidates_and_queries()
    pool = (
        Volunteer.objects.filter(is_active=True, is_counsellor=True)
        .exclude(pk=scene["giver"].pk)
        .exclude(drop_asks__swap=swap)  # the first wave, asked when the drop was offered
        .order_by("id")
    )
    one_by_one = [v for v in pool if not swaps.swap_violations(swap, v)]
    assert sorted(v.pk for v in found) == sorted(v.pk for v in one_by_one)
    assert 0 < len(found) < pool.count()
    assert queries <= pool.count() + 6, queries


# --- a drop ask on WeCom: a card whose signed link takes the shift ----------------------------


@pytest.fixture
def fake_wecom(settings, monkeypatch):
    from django.core.cache import cache

    from hotline.wecom import client as wecom
    from tests.support.wecom import FakeWeCom

    settings.WECOM_CORP_ID, settings.WECOM_AGENT_ID = "ww0000", "1000002"
    settings.WECOM_SECRET = "wecom-secret"
    fake = FakeWeCom(members={"ben"})
    monkeypatch.setattr(wecom, "transport", fake)
    cache.clear()
    return fake


def test_drop_ask_on_wecom_is_taken_through_its_signed_link(
    scene, fake_wecom, outbox, client, django_capture_on_commit_callbacks
):
    from urllib.parse import urlparse

    scene["hotline"].auto_approve_swaps = True
    scene["hotline"].save()
    taker = scene["taker"]
    Volunteer.objects.filter(pk=taker.pk).update(wecom_user_id="ben")
    with django_capture_on_commit_callbacks(execute=True):
        swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"], kind="drop")
    (card,) = fake_wecom.accepted
    assert card["touser"] == "ben" and card["textcard"]["title"] == "Can you take a hotline shift?"
    assert card["textcard"]["description"].startswith("Wed 2027-03-24 09:00")
    assert not [m for m in backends.outbox if m["to"] == taker.phone_number]  # WeCom, not SMS
    link = urlparse(card["textcard"]["url"]).path
    assert link.startswith("/swaps/take/")
    # someone else's login: refused, nothing changed
    client.force_login(scene["giver"].user)
    assert client.post(link).status_code == 403
    assert SwapRequest.objects.get(pk=swap.pk).status == "open"
    # the person asked: a GET shows the shift, the POST takes it through the rules
    client.force_login(taker.user)
    assert "Take it" in client.get(link).content.decode()
    assert SwapRequest.objects.get(pk=swap.pk).status == "open"
    assert client.post(link).status_code == 302
    swap.refresh_from_db()
    assert swap.status == SwapRequest.Status.DONE and swap.claimant == taker


def test_drop_ask_in_plain_text_has_no_reply_code_nor_link(scene, outbox, settings):
    settings.SMS_PLAIN_TEXT = True
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"], kind="drop")
    asks = [m["body"] for m in backends.outbox if m["to"] == scene["taker"].phone_number]
    assert asks and all("TAKE" not in b and "http" not in b for b in asks)
    assert "Take it in WeCom or on the Hotline Roster site." in asks[0]
