"""Staged changes on published rosters: every write path stages, nobody outside the
coordinators sees a staged change (routing, feeds, reminders, My shifts, the API), publish
applies all of it or nothing and tells only those affected, discard takes it back, and an
urgent change inside the freeze window takes effect and is told at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from scheduling import builder, reminders, services
from scheduling.feeds import tokens
from scheduling.models import Assignment
from scheduling.notify import roster_changes_notify
from scheduling.rules import RuleViolation
from scheduling.selectors import volunteers_on_shift
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db

# The clock stands at Saturday 2027-03-20 12:00 UTC; the freeze window (48 h) ends Monday
# 2027-03-22 12:00 UTC.


@pytest.fixture
def scene(clock, outbox):
    hotline = london_hotline()
    roster = published_roster(hotline)
    amy = f.volunteer(display_name="Amy", language="en", crisis_trained=True)
    ben = f.volunteer(display_name="Ben", language="en", crisis_trained=True)
    now_shift = f.shift(roster_=roster, starts_at=local(2027, 3, 20, 10), hours=6)
    soon = f.shift(roster_=roster, starts_at=local(2027, 3, 21, 9), hours=6)
    later = f.shift(roster_=roster, starts_at=local(2027, 3, 25, 9), hours=6)
    other = f.shift(roster_=roster, starts_at=local(2027, 3, 26, 9), hours=6)
    on_now = f.assignment(shift_=now_shift, volunteer_=amy)
    on_soon = f.assignment(shift_=soon, volunteer_=amy)
    on_later = f.assignment(shift_=later, volunteer_=amy)
    roster_changes_notify(roster=roster, now=clock.now)  # everyone told of the roster
    told = len(outbox)
    return {
        "hotline": hotline,
        "roster": roster,
        "amy": amy,
        "ben": ben,
        "now": now_shift,
        "soon": soon,
        "later": later,
        "other": other,
        "on_now": on_now,
        "on_soon": on_soon,
        "on_later": on_later,
        "told": told,
    }


@pytest.fixture
def coord_client(client, coordinator):
    client.force_login(coordinator)
    return client


def _new_sms(scene, outbox) -> list[dict]:
    """Change notices since the scene was set (reminders left out)."""
    return [m for m in list(outbox)[scene["told"] :] if m["purpose"] != "reminder"]


def _feed(client, volunteer) -> str:
    token = tokens.calendar_token_get(user=volunteer.user)
    return client.get(
        reverse("scheduling:calendar-feed", kwargs={"token": token.token})
    ).content.decode()


# --- the board ----------------------------------------------------------------------------


def test_board_remove_waits_for_publish_and_then_tells_only_that_volunteer(
    scene, coord_client, outbox, clock
):
    roster, amy, later = scene["roster"], scene["amy"], scene["later"]
    response = coord_client.post(
        reverse("scheduling:roster-board-unassign", args=[roster.pk, scene["on_later"].pk]),
        {"week": "2027-03-22"},
        follow=True,
    )
    assert "Pending: volunteers see it once you publish the changes." in response.content.decode()
    a = Assignment.objects.get(pk=scene["on_later"].pk)
    assert a.is_active and a.pending_cancel

    # Nobody outside the coordinators sees the removal yet.
    assert amy in volunteers_on_shift(scene["hotline"], later.starts_at + dt.timedelta(hours=1))
    assert roster_changes_notify(now=clock.now) == 0  # the sweep does not tell it
    assert reminders.reminders_send_due(now=later.starts_at - dt.timedelta(hours=2)) >= 1
    feed = _feed(APIClient(), amy)
    assert f"UID:assignment-{a.pk}@" in feed and "STATUS:CANCELLED" not in feed
    own = Client()
    own.force_login(amy.user)
    mine = own.get(reverse("scheduling:my-shifts")).content.decode()
    assert "Cancelled" not in mine and "cancelled" not in mine
    # The board shows the pending diff.
    board = coord_client.get(
        reverse("scheduling:roster-board", args=[roster.pk]), {"week": "2027-03-22"}
    ).content.decode()
    assert 'id="pending-changes"' in board and "removed: Thu 03-25 09:00" in board
    assert _new_sms(scene, outbox) == []

    published = coord_client.post(
        reverse("scheduling:roster-board-publish", args=[roster.pk]),
        {"week": "2027-03-22"},
        follow=True,
    )
    assert "Changes published: 0 added, 1 removed." in published.content.decode()
    a.refresh_from_db()
    assert a.status == "cancelled" and not a.pending_cancel and a.sequence == 1
    sms = _new_sms(scene, outbox)
    assert [m["to"] for m in sms] == [amy.phone_number]
    assert "Cancelled: Thu 2027-03-25 09:00" in sms[0]["body"]
    assert "STATUS:CANCELLED" in _feed(APIClient(), amy)


def test_board_add_is_pending_until_published(scene, coord_client, outbox, clock):
    roster, ben, later = scene["roster"], scene["ben"], scene["later"]
    coord_client.post(
        reverse("scheduling:roster-board-assign", args=[roster.pk]),
        {"week": "2027-03-22", "shift": later.pk, "volunteer": ben.pk, "role": "counsellor"},
    )
    a = Assignment.objects.get(shift=later, volunteer=ben)
    assert a.status == "pending"
    assert ben not in volunteers_on_shift(scene["hotline"], later.starts_at)
    assert f"assignment-{a.pk}@" not in _feed(APIClient(), ben)
    api = APIClient()
    api.force_authenticate(ben.user)
    assert api.get("/api/v1/me/assignments/").json()["count"] == 0
    assert api.get("/api/v1/assignments/").json()["count"] == 0
    reminders.reminders_send_due(now=later.starts_at - dt.timedelta(hours=2))
    assert all(m["to"] != ben.phone_number for m in outbox)  # no reminder of a staged seat

    services.roster_publish(roster=roster, now=clock.now)
    a.refresh_from_db()
    assert a.is_active
    assert ben in volunteers_on_shift(scene["hotline"], later.starts_at)
    assert [m["to"] for m in _new_sms(scene, outbox)] == [ben.phone_number]


def test_removing_then_keeping_takes_the_staged_removal_back(scene, coord_client):
    roster, later = scene["roster"], scene["later"]
    coord_client.post(
        reverse("scheduling:roster-board-unassign", args=[roster.pk, scene["on_later"].pk]),
        {"week": "2027-03-22"},
    )
    coord_client.post(
        reverse("scheduling:roster-board-assign", args=[roster.pk]),
        {
            "week": "2027-03-22",
            "shift": later.pk,
            "volunteer": scene["amy"].pk,
            "role": "counsellor",
        },
    )
    a = Assignment.objects.get(pk=scene["on_later"].pk)
    assert a.is_active and not a.pending_cancel
    assert Assignment.objects.filter(shift=later).count() == 1


def test_urgent_change_in_the_freeze_window_takes_effect_and_tells_at_once(
    scene, coord_client, outbox
):
    roster, soon, ben = scene["roster"], scene["soon"], scene["ben"]
    page = coord_client.get(
        reverse("scheduling:roster-board", args=[roster.pk]),
        {"week": "2027-03-15", "shift": soon.pk},
    ).content.decode()
    assert 'id="urgent-note"' in page and "Assign now (urgent)" in page

    response = coord_client.post(
        reverse("scheduling:roster-board-unassign", args=[roster.pk, scene["on_soon"].pk]),
        {"week": "2027-03-15"},
        follow=True,
    )
    assert "Urgent change: it took effect now" in response.content.decode()
    assert Assignment.objects.get(pk=scene["on_soon"].pk).status == "cancelled"
    coord_client.post(
        reverse("scheduling:roster-board-assign", args=[roster.pk]),
        {"week": "2027-03-15", "shift": soon.pk, "volunteer": ben.pk, "role": "counsellor"},
    )
    assert Assignment.objects.get(shift=soon, volunteer=ben).is_active
    sms = _new_sms(scene, outbox)
    assert {m["to"] for m in sms} == {scene["amy"].phone_number, ben.phone_number}
    assert any("Cancelled: Sun 2027-03-21 09:00" in m["body"] for m in sms)
    assert scene["ben"] in volunteers_on_shift(scene["hotline"], soon.starts_at)


# --- the API ------------------------------------------------------------------------------


def test_api_changes_publish_and_discard(scene, coordinator_api, outbox):
    roster, amy, ben = scene["roster"], scene["amy"], scene["ben"]
    # Amy moves from Thursday to Friday, Ben is added on Thursday: all staged.
    assert coordinator_api.delete(f"/api/v1/assignments/{scene['on_later'].pk}/").status_code == 204
    for volunteer, shift in ((amy, scene["other"]), (ben, scene["later"])):
        created = coordinator_api.post(
            "/api/v1/assignments/",
            {"shift": shift.pk, "volunteer": volunteer.pk, "role": "counsellor"},
            format="json",
        )
        assert created.status_code == 201 and created.json()["status"] == "pending"

    diff = coordinator_api.get(f"/api/v1/rosters/{roster.pk}/changes/").json()
    assert diff["summary"] == {"added": 1, "removed": 0, "moved": 1, "total": 2, "volunteers": 2}
    assert diff["freeze_hours"] == 48
    by_name = {v["name"]: v for v in diff["volunteers"]}
    assert by_name["Amy"]["moved"][0]["from"]["shift"] == scene["later"].pk
    assert by_name["Amy"]["moved"][0]["to"]["shift"] == scene["other"].pk
    assert by_name["Ben"]["added"][0]["shift"] == scene["later"].pk

    discarded = coordinator_api.post(f"/api/v1/rosters/{roster.pk}/discard/").json()
    assert discarded == {
        "roster": roster.pk,
        "status": "published",
        "added": 2,
        "removed": 1,
        "shifts": 0,
    }
    assert Assignment.objects.filter(status="pending").count() == 0
    assert Assignment.objects.get(pk=scene["on_later"].pk).is_active
    empty = coordinator_api.get(f"/api/v1/rosters/{roster.pk}/changes/").json()
    assert empty["summary"]["total"] == 0
    assert _new_sms(scene, outbox) == []

    coordinator_api.post(
        "/api/v1/assignments/",
        {"shift": scene["later"].pk, "volunteer": ben.pk, "role": "counsellor"},
        format="json",
    )
    published = coordinator_api.post(f"/api/v1/rosters/{roster.pk}/publish/")
    assert published.status_code == 200
    assert published.json() == {
        "roster": roster.pk,
        "status": "published",
        "added": 1,
        "removed": 0,
        "shifts": 0,
    }
    assert [m["to"] for m in _new_sms(scene, outbox)] == [ben.phone_number]


def test_api_publish_refuses_as_a_whole_when_a_rule_now_breaks(scene, coordinator_api, outbox):
    roster, ben = scene["roster"], scene["ben"]
    services.assignment_cancel(assignment=scene["on_later"])
    services.assignment_create(shift=scene["later"], volunteer=ben, role="counsellor")
    type(ben).objects.filter(pk=ben.pk).update(is_active=False)  # left the line meanwhile

    response = coordinator_api.post(f"/api/v1/rosters/{roster.pk}/publish/")

    assert response.status_code == 409
    assert response.json()["code"] == "inactive"
    # Nothing applied: Amy's removal is still pending too.
    assert Assignment.objects.get(pk=scene["on_later"].pk).pending_cancel
    assert Assignment.objects.get(shift=scene["later"], volunteer=ben).status == "pending"
    assert _new_sms(scene, outbox) == []


def test_api_changes_is_for_the_rosters_coordinators(scene, volunteer_api):
    roster = scene["roster"]
    assert volunteer_api.get(f"/api/v1/rosters/{roster.pk}/changes/").status_code == 403
    assert volunteer_api.post(f"/api/v1/rosters/{roster.pk}/discard/").status_code == 403


def test_api_changes_query_count_is_constant(scene, coordinator_api):
    roster = scene["roster"]
    url = f"/api/v1/rosters/{roster.pk}/changes/"
    services.assignment_create(shift=scene["later"], volunteer=scene["ben"], role="counsellor")
    coordinator_api.get(url)  # the user's groups, loaded once
    with CaptureQueriesContext(connection) as one:
        coordinator_api.get(url)
    for i in range(4):
        shift = f.shift(roster_=roster, starts_at=local(2027, 4, 1 + i, 9), hours=6)
        services.assignment_create(shift=shift, volunteer=f.volunteer(), role="counsellor")
    with CaptureQueriesContext(connection) as five:
        assert coordinator_api.get(url).json()["summary"]["added"] == 5
    assert len(five) == len(one), [q["sql"] for q in five.captured_queries]


# --- the admin ----------------------------------------------------------------------------


def test_admin_add_and_cancel_on_a_published_roster_are_staged(scene, client, outbox):
    client.force_login(f.user(username="root", is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:scheduling_assignment_add"),
        {
            "shift": scene["later"].pk,
            "volunteer": scene["ben"].pk,
            "role": "counsellor",
            "override_reason": "",
        },
    )
    assert response.status_code == 302
    assert Assignment.objects.get(shift=scene["later"], volunteer=scene["ben"]).status == "pending"
    client.post(
        reverse("admin:scheduling_assignment_changelist"),
        {"action": "cancel_selected", "_selected_action": [scene["on_later"].pk]},
    )
    assert Assignment.objects.get(pk=scene["on_later"].pk).pending_cancel
    assert _new_sms(scene, outbox) == []


# --- auto-fill ----------------------------------------------------------------------------


def test_autofill_on_a_published_roster_is_staged_and_leaves_the_freeze_window_alone(
    scene, outbox, clock
):
    roster = scene["roster"]
    for shift in (scene["soon"], scene["later"]):
        type(shift).objects.filter(pk=shift.pk).update(required_counsellors=2)
    f.volunteer(display_name="Cai", crisis_trained=True)

    summary = builder.roster_build(roster=roster, time_limit=2, greedy=True, now=clock.now)

    assert summary["staged"] is True and summary["created"] >= 1
    added = Assignment.objects.filter(shift__roster=roster, status="pending")
    assert added.filter(shift=scene["later"]).count() == 1
    assert not added.filter(shift=scene["soon"]).exists()  # inside the freeze window
    assert not Assignment.objects.filter(shift=scene["soon"]).exclude(volunteer=scene["amy"])
    assert _new_sms(scene, outbox) == []

    summary = builder.roster_build(
        roster=roster, time_limit=2, greedy=True, now=clock.now, scope={"include_frozen": True}
    )
    # Ticked: the frozen shift is filled too — and still staged, previewed before publishing.
    assert Assignment.objects.get(shift=scene["soon"], status="pending")
    assert _new_sms(scene, outbox) == []


def test_autofill_scope_keeps_to_its_days(scene, clock):
    roster = scene["roster"]
    for shift in (scene["later"], scene["other"]):
        type(shift).objects.filter(pk=shift.pk).update(required_counsellors=2)
    f.volunteer(display_name="Cai", crisis_trained=True)
    builder.roster_build(
        roster=roster,
        time_limit=2,
        greedy=True,
        now=clock.now,
        scope={"first_day": "2027-03-26", "last_day": "2027-03-26"},
    )
    pending = Assignment.objects.filter(status="pending")
    assert pending.filter(shift=scene["other"]).exists()
    assert not pending.filter(shift=scene["later"]).exists()


def test_autofill_scope_refuses_a_backwards_range(scene):
    with pytest.raises(builder.BuildRefused):
        builder.scope_check({"first_day": "2027-03-26", "last_day": "2027-03-20"})


# --- publish and discard ------------------------------------------------------------------


def test_publish_is_atomic_when_it_fails_halfway(scene, monkeypatch, outbox):
    roster = scene["roster"]
    services.assignment_cancel(assignment=scene["on_later"])
    added = services.assignment_create(
        shift=scene["later"], volunteer=scene["ben"], role="counsellor"
    )
    published_at = roster.published_at

    def boom(**kw):
        raise RuntimeError("SMS provider fell over")

    # Fails after every change was applied, while telling the volunteers.
    monkeypatch.setattr("scheduling.notify.roster_changes_notify", boom)
    with pytest.raises(RuntimeError):
        services.roster_publish(roster=roster)

    assert Assignment.objects.get(pk=scene["on_later"].pk).pending_cancel
    assert Assignment.objects.get(pk=scene["on_later"].pk).is_active
    assert Assignment.objects.get(pk=added.pk).status == "pending"
    roster.refresh_from_db()
    assert roster.published_at == published_at
    assert _new_sms(scene, outbox) == []


def test_discard_reopens_a_staged_swap(scene, coordinator):
    from scheduling import swaps

    swap = swaps.swap_offer(assignment=scene["on_later"], volunteer=scene["amy"])
    swap = swaps.swap_claim(swap=swap, volunteer=scene["ben"])
    swap = swaps.swap_approve(swap=swap, by=coordinator)
    assert swap.new_assignment.status == "pending"
    assert services.roster_changes_discard(roster=scene["roster"]) == {
        "added": 1,
        "removed": 1,
        "shifts": 0,
    }
    swap.refresh_from_db()
    assert swap.status == "claimed" and swap.new_assignment is None
    assert Assignment.objects.get(pk=scene["on_later"].pk).is_active


def test_routing_sees_only_published_assignments(scene, clock):
    # Staged by the builder even now (a ticked freeze window): routing must not follow it.
    services.assignment_cancel(assignment=scene["on_now"], stage=True)
    services.assignment_create(
        shift=scene["now"], volunteer=scene["ben"], role="counsellor", stage=True
    )
    on_shift = list(volunteers_on_shift(scene["hotline"], clock.now))
    assert on_shift == [scene["amy"]]


def test_a_rule_refusal_on_a_staged_change_is_checked_against_the_planned_roster(scene):
    # Amy's Thursday removal is staged: Ben may take the one seat in the planned roster.
    type(scene["later"]).objects.filter(pk=scene["later"].pk).update(required_counsellors=1)
    services.assignment_cancel(assignment=scene["on_later"])
    services.assignment_create(shift=scene["later"], volunteer=scene["ben"], role="counsellor")
    # A second addition finds the seat taken in the planned roster.
    with pytest.raises(RuleViolation) as refused:
        services.assignment_create(shift=scene["later"], volunteer=f.volunteer(), role="counsellor")
    assert refused.value.code == "capacity"


def test_a_chosen_autofill_option_becomes_the_pending_changes(clock, coordinator_api, outbox):
    from scheduling.models import AutofillRun
    from tests.scheduling.test_builder_repair import BEFORE, _nights, _time_off

    clock.set(BEFORE - dt.timedelta(days=3))  # no night within the freeze window
    roster, nights, (wang, _li, _zhao) = _nights()
    services.roster_publish(roster=roster)
    told = len(outbox)
    _time_off(wang, nights[3])
    result = builder.roster_options(roster=roster, time_limit=3, now=clock.now)
    run = AutofillRun.objects.create(
        roster=roster, mode="rebuild", status=AutofillRun.Status.DONE, result=result
    )

    chosen = coordinator_api.post(
        f"/api/v1/autofill/{run.pk}/choose/", {"option": "fewest_changes"}, format="json"
    )

    assert chosen.status_code == 200
    assert chosen.json() == {
        "option": "fewest_changes",
        "created": 1,
        "cancelled": 1,
        "refused": 0,
        "staged": True,
    }
    diff = coordinator_api.get(f"/api/v1/rosters/{roster.pk}/changes/").json()
    assert diff["summary"]["total"] == 2 and diff["summary"]["volunteers"] == 2
    # Wang Fang still holds Thursday until the changes are published; nobody told yet.
    assert Assignment.objects.get(shift=nights[3], volunteer=wang).is_active
    assert len(outbox) == told
    bad = coordinator_api.post(f"/api/v1/autofill/{run.pk}/choose/", ["x"], format="json")
    assert bad.status_code in (400, 409)
