"""Edits of a published shift (its times, its seats) are staged like assignment changes:
volunteers, calendar feeds, reminders and call routing keep the published shift until a
coordinator publishes; the pending diff shows the edit (old → new) and the assignments it
would make break a rule; publish applies everything or nothing and tells only the volunteers
on a shift whose times changed; discard takes it back; inside the freeze window an edit is
an urgent change, applied and told at once. Every write path: service, API, admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from hotline.models import Volunteer
from scheduling import rules, services
from scheduling.feeds import tokens
from scheduling.models import Assignment, Shift
from scheduling.notify import roster_changes_notify
from scheduling.reminders import reminders_send_due
from scheduling.rules import RuleViolation
from scheduling.selectors import roster_conflicts, roster_pending_changes, volunteers_on_shift
from tests.support import factories as f
from tests.support.scenes import LONDON, local, london_hotline, published_roster

pytestmark = pytest.mark.django_db

# The clock stands at Sat 2027-03-20 12:00 UTC (tests/support/scenes.NOW); the freeze window
# is 48 hours, so Thursday's shift is staged and Sunday's is urgent.


@pytest.fixture
def scene(clock, outbox):
    hotline = london_hotline()
    roster = published_roster(hotline)
    amy = f.volunteer(display_name="Amy", crisis_trained=True)
    bob = f.volunteer(display_name="Bob")
    cat = f.volunteer(display_name="Cat", roles=("counsellor", "family_educator"))
    thursday = f.shift(roster_=roster, starts_at=local(2027, 3, 25, 9), hours=6)
    friday = f.shift(roster_=roster, starts_at=local(2027, 3, 26, 9), hours=6)
    sunday = f.shift(roster_=roster, starts_at=local(2027, 3, 21, 9), hours=6)
    amy_thu = f.assignment(shift_=thursday, volunteer_=amy)
    bob_thu = f.assignment(shift_=thursday, volunteer_=bob)
    cat_fri = f.assignment(shift_=friday, volunteer_=cat)
    amy_sun = f.assignment(shift_=sunday, volunteer_=amy)
    roster_changes_notify(roster=roster, now=clock.now)  # everyone told of the roster
    return {
        "hotline": hotline,
        "roster": roster,
        "amy": amy,
        "bob": bob,
        "cat": cat,
        "thursday": thursday,
        "friday": friday,
        "sunday": sunday,
        "amy_thu": amy_thu,
        "bob_thu": bob_thu,
        "cat_fri": cat_fri,
        "amy_sun": amy_sun,
    }


def _changes(outbox, volunteer):
    return [
        m for m in outbox if m["purpose"] == "roster_change" and m["to"] == volunteer.phone_number
    ]


def _stage_later(scene, **extra):
    """Thursday 09:00–15:00 → 11:00–17:00, through the service."""
    return services.shift_update(
        shift=scene["thursday"],
        starts_at=local(2027, 3, 25, 11),
        ends_at=local(2027, 3, 25, 17),
        **extra,
    )


# --- staged: nobody sees it --------------------------------------------------------------------


def test_a_time_change_is_staged_and_nobody_sees_it(scene, outbox, client, clock):
    thursday = scene["thursday"]
    before = len(outbox)
    shift = _stage_later(scene)

    assert shift.change_mode == services.STAGED
    thursday.refresh_from_db()
    assert thursday.starts_at == local(2027, 3, 25, 9)  # as published
    assert thursday.pending_starts_at == local(2027, 3, 25, 11)
    assert len(outbox) == before  # nobody told
    amy_thu = Assignment.objects.get(pk=scene["amy_thu"].pk)
    assert amy_thu.sequence == 0

    # Call routing: Amy is on shift at 09:30, not at 16:00.
    assert scene["amy"] in volunteers_on_shift(scene["hotline"], local(2027, 3, 25, 9, 30))
    assert scene["amy"] not in volunteers_on_shift(scene["hotline"], local(2027, 3, 25, 16))

    # Her calendar feed: still 09:00.
    token = tokens.calendar_token_get(user=scene["amy"].user)
    feed = client.get(reverse("scheduling:calendar-feed", kwargs={"token": token.token}))
    assert "DTSTART;TZID=Europe/London:20270325T090000" in feed.content.decode()
    assert "20270325T110000" not in feed.content.decode()

    # Reminders: due 2 hours before 09:00, not before 11:00.
    clock.set(local(2027, 3, 25, 7, 30))
    reminders_send_due(now=clock.now)
    reminder = [m for m in outbox if m["dedupe_key"] == f"reminder:{amy_thu.pk}:2h"]
    assert len(reminder) == 1 and "09:00–15:00" in reminder[0]["body"]


def test_the_pending_diff_shows_old_and_new_time_and_seats(scene, client, coordinator):
    _stage_later(scene)
    services.shift_update(shift=scene["thursday"], required_counsellors=3)

    changes = roster_pending_changes(scene["roster"])
    assert changes["total"] == 1 and changes["volunteers"] == []
    (edit,) = changes["shifts"]
    assert edit.times_changed
    assert (edit.planned.starts_at, edit.planned.ends_at) == (
        local(2027, 3, 25, 11),
        local(2027, 3, 25, 17),
    )
    assert [(s["field"], s["before"], s["after"]) for s in edit.seats] == [
        ("required_counsellors", 2, 3)
    ]

    client.force_login(coordinator)
    page = client.get(
        reverse("scheduling:roster-board", args=[scene["roster"].pk]), {"week": "2027-03-22"}
    ).content.decode()
    assert f'id="shift-edit-{scene["thursday"].pk}"' in page
    assert "time: Thu 03-25 09:00–15:00 → Thu 03-25 11:00–17:00" in page
    assert "seats, counsellors: 2 → 3" in page
    assert 'class="ok changed"' in page or " changed" in page  # the cell is framed


def test_changing_back_is_no_change(scene):
    _stage_later(scene)
    services.shift_update(
        shift=scene["thursday"], starts_at=local(2027, 3, 25, 9), ends_at=local(2027, 3, 25, 15)
    )
    thursday = Shift.objects.get(pk=scene["thursday"].pk)
    assert not thursday.has_pending_edit
    assert roster_pending_changes(scene["roster"])["total"] == 0


def test_a_staged_edit_is_checked_like_a_shift(scene):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.shift_update(shift=scene["thursday"], ends_at=local(2027, 3, 25, 8))
    assert not Shift.objects.get(pk=scene["thursday"].pk).has_pending_edit


# --- publish and discard ----------------------------------------------------------------------


def test_publish_applies_it_and_tells_only_the_volunteers_on_that_shift(scene, outbox):
    _stage_later(scene)
    before = {v: len(_changes(outbox, scene[v])) for v in ("amy", "bob", "cat")}

    roster = services.roster_publish(roster=scene["roster"])

    assert roster.published_changes == {"added": 0, "removed": 0, "shifts": 1}
    thursday = Shift.objects.get(pk=scene["thursday"].pk)
    assert (thursday.starts_at, thursday.ends_at) == (
        local(2027, 3, 25, 11),
        local(2027, 3, 25, 17),
    )
    assert not thursday.has_pending_edit
    for name in ("amy", "bob"):
        told = _changes(outbox, scene[name])
        assert len(told) == before[name] + 1
        assert "New or changed: Thu 2027-03-25 11:00–17:00" in told[-1]["body"]
    assert len(_changes(outbox, scene["cat"])) == before["cat"]  # not on Thursday
    assert scene["amy"] in volunteers_on_shift(scene["hotline"], local(2027, 3, 25, 16))
    # Publishing again tells nobody again.
    services.roster_publish(roster=scene["roster"])
    assert len(_changes(outbox, scene["amy"])) == before["amy"] + 1


def test_publish_of_seats_alone_tells_nobody(scene, outbox):
    before = len(outbox)
    services.shift_update(shift=scene["thursday"], required_counsellors=3)
    assert Shift.objects.get(pk=scene["thursday"].pk).required_counsellors == 2
    services.roster_publish(roster=scene["roster"])
    assert Shift.objects.get(pk=scene["thursday"].pk).required_counsellors == 3
    assert len(outbox) == before


def test_discard_takes_the_edit_back(scene, outbox):
    _stage_later(scene)
    services.shift_update(shift=scene["friday"], required_family_educators=2)
    before = len(outbox)

    taken_back = services.roster_changes_discard(roster=scene["roster"])

    assert taken_back == {"added": 0, "removed": 0, "shifts": 2}
    for key in ("thursday", "friday"):
        shift = Shift.objects.get(pk=scene[key].pk)
        assert not shift.has_pending_edit
    assert Shift.objects.get(pk=scene["thursday"].pk).starts_at == local(2027, 3, 25, 9)
    assert len(outbox) == before


def test_a_failure_halfway_through_publish_changes_nothing(scene, outbox, monkeypatch):
    _stage_later(scene)
    dan = f.volunteer(display_name="Dan")
    services.assignment_create(shift=scene["friday"], volunteer=dan, role="counsellor")
    before = len(outbox)

    def broken(**kwargs):
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr("scheduling.notify.roster_changes_notify", broken)
    with pytest.raises(RuntimeError):
        services.roster_publish(roster=scene["roster"])

    thursday = Shift.objects.get(pk=scene["thursday"].pk)
    assert thursday.starts_at == local(2027, 3, 25, 9)
    assert thursday.pending_starts_at == local(2027, 3, 25, 11)
    assert Assignment.objects.get(pk=scene["amy_thu"].pk).sequence == 0
    assert Assignment.objects.get(shift=scene["friday"], volunteer=dan).status == "pending"
    assert len(outbox) == before


# --- conflicts from the rule layer --------------------------------------------------------------


def test_a_time_change_into_time_off_shows_as_a_conflict(scene):
    f.time_off(
        volunteer_=scene["bob"],
        starts_at=local(2027, 3, 25, 16),
        ends_at=local(2027, 3, 25, 20),
        reason="dentist",
    )
    assert roster_conflicts(scene["roster"], now=local(2027, 3, 20)) == []
    _stage_later(scene)

    (edit,) = roster_pending_changes(scene["roster"])["shifts"]
    ((assignment, found),) = edit.problems
    assert assignment.pk == scene["bob_thu"].pk
    assert [v.code for v in found] == [rules.TIME_OFF]
    assert edit.blocking == []  # a coordinator may keep her on it
    conflicts = roster_conflicts(scene["roster"], now=local(2027, 3, 20))
    assert [(c.assignment.pk, c.codes) for c in conflicts] == [
        (scene["bob_thu"].pk, [rules.TIME_OFF])
    ]
    # Publishing goes ahead; the seat stays a conflict on the board.
    services.roster_publish(roster=scene["roster"])
    assert Shift.objects.get(pk=scene["thursday"].pk).starts_at == local(2027, 3, 25, 11)


def test_a_time_change_that_breaks_rest_or_overlap_blocks_the_publish(scene, outbox):
    # Cat works Friday 09:00; Thursday moved to 20:00–02:00 would leave her 7 hours of rest.
    cat_thu = f.assignment(
        shift_=scene["thursday"], volunteer_=scene["cat"], role="family_educator"
    )
    services.shift_update(
        shift=scene["thursday"], starts_at=local(2027, 3, 25, 20), ends_at=local(2027, 3, 26, 2)
    )
    (edit,) = roster_pending_changes(scene["roster"])["shifts"]
    problems = {a.pk: [v.code for v in found] for a, found in edit.problems}
    assert problems == {cat_thu.pk: [rules.REST]}
    assert [v.code for v in edit.blocking] == [rules.REST]
    before = len(outbox)

    with pytest.raises(RuleViolation) as refused:
        services.roster_publish(roster=scene["roster"])
    assert refused.value.code == rules.REST
    assert Shift.objects.get(pk=scene["thursday"].pk).starts_at == local(2027, 3, 25, 9)
    assert len(outbox) == before

    # Moving Cat off Thursday (staged too) clears the way.
    services.assignment_cancel(assignment=cat_thu)
    assert roster_pending_changes(scene["roster"])["shift_problems"] == 0
    services.roster_publish(roster=scene["roster"])
    assert Shift.objects.get(pk=scene["thursday"].pk).starts_at == local(2027, 3, 25, 20)


def test_fewer_seats_than_volunteers_blocks_the_publish(scene):
    services.shift_update(shift=scene["thursday"], required_counsellors=1)
    (edit,) = roster_pending_changes(scene["roster"])["shifts"]
    assert {v.code for v in edit.blocking} == {rules.CAPACITY}
    with pytest.raises(RuleViolation):
        services.roster_publish(roster=scene["roster"])
    assert Shift.objects.get(pk=scene["thursday"].pk).required_counsellors == 2


def test_a_staged_time_counts_for_new_assignments(scene):
    """Putting someone on the shift is checked at its planned times."""
    _stage_later(scene)
    f.time_off(
        volunteer_=scene["cat"], starts_at=local(2027, 3, 25, 16), ends_at=local(2027, 3, 25, 18)
    )
    with pytest.raises(RuleViolation) as refused:
        services.assignment_create(
            shift=scene["thursday"], volunteer=scene["cat"], role="family_educator"
        )
    assert refused.value.code == rules.TIME_OFF


# --- urgent: inside the freeze window ---------------------------------------------------------


def test_an_edit_inside_the_freeze_window_is_urgent(scene, outbox):
    before = len(_changes(outbox, scene["amy"]))
    before_bob = len(_changes(outbox, scene["bob"]))
    shift = services.shift_update(
        shift=scene["sunday"], starts_at=local(2027, 3, 21, 10), ends_at=local(2027, 3, 21, 16)
    )
    assert shift.change_mode == services.URGENT
    sunday = Shift.objects.get(pk=scene["sunday"].pk)
    assert sunday.starts_at == local(2027, 3, 21, 10) and not sunday.has_pending_edit
    told = _changes(outbox, scene["amy"])
    assert len(told) == before + 1
    assert "Sun 2027-03-21 10:00–16:00" in told[-1]["body"]
    assert len(_changes(outbox, scene["bob"])) == before_bob  # not on Sunday


def test_moving_a_shift_into_the_freeze_window_is_urgent(scene, outbox):
    shift = services.shift_update(
        shift=scene["thursday"], starts_at=local(2027, 3, 22, 9), ends_at=local(2027, 3, 22, 15)
    )
    assert shift.change_mode == services.URGENT
    assert Shift.objects.get(pk=scene["thursday"].pk).starts_at == local(2027, 3, 22, 9)


def test_an_urgent_edit_still_refuses_a_hard_rule(scene):
    with pytest.raises(RuleViolation):
        services.shift_update(shift=scene["sunday"], required_counsellors=0)
    assert Shift.objects.get(pk=scene["sunday"].pk).required_counsellors == 2


def test_a_draft_roster_changes_at_once(clock, outbox):
    roster = f.roster(hotline_=london_hotline(), first_day=local(2027, 3, 22).date())
    shift = f.shift(roster_=roster, starts_at=local(2027, 3, 25, 9))
    updated = services.shift_update(shift=shift, required_counsellors=3)
    assert updated.change_mode == services.DIRECT
    assert Shift.objects.get(pk=shift.pk).required_counsellors == 3


# --- the API --------------------------------------------------------------------------------


def test_api_patch_is_staged_and_listed_in_changes(scene, coordinator_api, outbox):
    thursday = scene["thursday"]
    before = len(outbox)
    response = coordinator_api.patch(
        f"/api/v1/shifts/{thursday.pk}/",
        {"starts_at": "2027-03-25T11:00:00+00:00", "ends_at": "2027-03-25T17:00:00+00:00"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["starts_at"] == "2027-03-25T09:00:00+00:00"  # as published
    assert body["change_mode"] == "staged"
    assert body["pending"]["starts_at"] == "2027-03-25T11:00:00+00:00"
    assert body["pending"]["ends_at"] == "2027-03-25T17:00:00+00:00"
    assert len(outbox) == before

    changes = coordinator_api.get(f"/api/v1/rosters/{scene['roster'].pk}/changes/").json()
    # Existing fields kept as they were…
    assert set(changes) >= {"roster", "status", "freeze_hours", "summary", "volunteers"}
    assert {"added", "removed", "moved", "total", "volunteers"} <= set(changes["summary"])
    assert changes["summary"]["total"] == 1 and changes["volunteers"] == []
    # …and the shift edit listed.
    assert set(changes["summary"]) == {"added", "removed", "moved", "total", "volunteers"}
    assert changes["shift_problems"] == 0
    (edit,) = changes["shifts"]
    assert edit["shift"] == thursday.pk and edit["times_changed"] is True
    assert dt.datetime.fromisoformat(edit["before"]["starts_at"]) == local(2027, 3, 25, 9)
    assert dt.datetime.fromisoformat(edit["after"]["starts_at"]) == local(2027, 3, 25, 11)
    assert edit["after"]["requirements"]["counsellor"] == 2
    assert edit["problems"] == []

    # Volunteers read the published shift.
    volunteer_api = _api_for(scene["amy"])
    seen = volunteer_api.get(f"/api/v1/shifts/{thursday.pk}/").json()
    assert seen["starts_at"] == "2027-03-25T09:00:00+00:00"

    published = coordinator_api.post(f"/api/v1/rosters/{scene['roster'].pk}/publish/").json()
    assert published["shifts"] == 1 and published["added"] == 0
    assert coordinator_api.get(f"/api/v1/shifts/{thursday.pk}/").json()["pending"] is None


def test_api_changes_list_problems_and_publish_answers_409(scene, coordinator_api):
    response = coordinator_api.patch(
        f"/api/v1/shifts/{scene['thursday'].pk}/",
        {"requirements": {"counsellor": 1, "family_educator": 1, "supervisor": 0}},
        format="json",
    )
    assert response.status_code == 200 and response.json()["requirements"]["counsellor"] == 2
    changes = coordinator_api.get(f"/api/v1/rosters/{scene['roster'].pk}/changes/").json()
    assert changes["shift_problems"] >= 1
    problem = changes["shifts"][0]["problems"][0]
    assert problem["blocking"] is True
    assert problem["violations"][0]["code"] == "capacity"
    refused = coordinator_api.post(f"/api/v1/rosters/{scene['roster'].pk}/publish/")
    assert refused.status_code == 409 and refused.json()["code"] == "capacity"
    discarded = coordinator_api.post(f"/api/v1/rosters/{scene['roster'].pk}/discard/").json()
    assert discarded["shifts"] == 1


def _api_for(volunteer: Volunteer):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(volunteer.user)
    return api


# --- the admin --------------------------------------------------------------------------------


def test_admin_edit_is_staged(scene, client, outbox):
    client.force_login(f.user(username="root", is_staff=True, is_superuser=True))
    thursday = scene["thursday"]
    before = len(outbox)
    url = reverse("admin:scheduling_shift_change", args=[thursday.pk])
    assert client.get(url).status_code == 200
    # The admin's widgets read the site's time zone.
    start = local(2027, 3, 25, 11).astimezone(timezone.get_current_timezone())
    end = local(2027, 3, 25, 17).astimezone(timezone.get_current_timezone())
    response = client.post(
        url,
        {
            "roster": thursday.roster_id,
            "starts_at_0": f"{start:%Y-%m-%d}",
            "starts_at_1": f"{start:%H:%M:%S}",
            "ends_at_0": f"{end:%Y-%m-%d}",
            "ends_at_1": f"{end:%H:%M:%S}",
            "required_counsellors": 1,  # fewer seats than volunteers: shown, not refused
            "required_family_educators": 1,
            "required_supervisors": 0,
            "crisis_trained_required": 0,
            "assignments-TOTAL_FORMS": 0,
            "assignments-INITIAL_FORMS": 0,
        },
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "the change waits with its pending changes" in page
    thursday.refresh_from_db()
    assert thursday.starts_at == local(2027, 3, 25, 9) and thursday.required_counsellors == 2
    assert thursday.has_pending_edit and thursday.pending_requirements == {
        "required_counsellors": 1
    }
    assert len(outbox) == before
    assert "09:00–15:00 → 2027-03-25 11:00–17:00" in client.get(url).content.decode()


# --- the coverage board ------------------------------------------------------------------------


def _board_edit(client, scene, key, **fields):
    shift = scene[key]
    planned = shift.planned()
    data = {
        "week": "2027-03-22",
        "starts_at": f"{planned.starts_at.astimezone(LONDON):%Y-%m-%dT%H:%M}",
        "ends_at": f"{planned.ends_at.astimezone(LONDON):%Y-%m-%dT%H:%M}",
        "required_counsellors": planned.required_counsellors,
        "crisis_trained_required": planned.crisis_trained_required,
        "required_family_educators": planned.required_family_educators,
        "required_supervisors": planned.required_supervisors,
        **fields,
    }
    url = reverse("scheduling:roster-board-shift-edit", args=[scene["roster"].pk, shift.pk])
    return client.post(url, data, follow=True)


def test_board_edit_is_staged_and_shown_in_the_panel(scene, client, coordinator, outbox):
    client.force_login(coordinator)
    before = len(outbox)
    page = _board_edit(
        client, scene, "thursday", starts_at="2027-03-25T11:00", ends_at="2027-03-25T17:00"
    ).content.decode()

    assert "The shift is changed. Pending: volunteers see it once you publish the changes." in page
    assert 'id="pending-shift-edit"' in page
    assert "Pending change: Thu 2027-03-25 11:00–17:00 once you publish." in page
    assert "time: Thu 03-25 09:00–15:00 → Thu 03-25 11:00–17:00" in page
    thursday = Shift.objects.get(pk=scene["thursday"].pk)
    assert thursday.starts_at == local(2027, 3, 25, 9)
    assert thursday.pending_starts_at == local(2027, 3, 25, 11)
    assert len(outbox) == before
    # The editor offers the planned values next time.
    assert 'name="starts_at" value="2027-03-25T11:00"' in page


def test_board_edit_refusal_is_shown_in_the_panel_and_changes_nothing(scene, client, coordinator):
    client.force_login(coordinator)
    response = _board_edit(client, scene, "sunday", required_counsellors=0)  # urgent: 1 on it
    page = response.content.decode()
    assert 'id="panel-error"' in page and "This shift needs no" in page
    assert Shift.objects.get(pk=scene["sunday"].pk).required_counsellors == 2

    response = _board_edit(client, scene, "thursday", ends_at="2027-03-25T08:00")
    assert 'id="panel-error"' in response.content.decode()
    assert not Shift.objects.get(pk=scene["thursday"].pk).has_pending_edit


def test_board_edit_in_the_freeze_window_is_urgent(scene, client, coordinator, outbox):
    client.force_login(coordinator)
    page = _board_edit(
        client, scene, "sunday", starts_at="2027-03-21T10:00", ends_at="2027-03-21T16:00"
    ).content.decode()
    assert "Urgent change: it took effect now and the volunteer is told." in page
    assert Shift.objects.get(pk=scene["sunday"].pk).starts_at == local(2027, 3, 21, 10)
    assert "Sun 2027-03-21 10:00–16:00" in _changes(outbox, scene["amy"])[-1]["body"]


def test_board_edit_is_for_the_rosters_coordinators(scene, client, volunteer):
    client.force_login(volunteer.user)
    response = _board_edit(client, scene, "thursday", required_counsellors=3)
    assert response.status_code in (403, 404)
    assert not Shift.objects.get(pk=scene["thursday"].pk).has_pending_edit
