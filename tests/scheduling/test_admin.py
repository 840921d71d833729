"""The admin: every model's pages load; the assignment form refuses what the rules refuse."""

import datetime as dt

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from scheduling.models import Assignment, Roster, ShiftPattern
from tests.support import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    user = f.user(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def scene():
    roster = f.roster()
    shift = f.shift(roster_=roster, required_counsellors=1)
    volunteer = f.volunteer()
    ShiftPattern.objects.create(
        hotline=roster.hotline,
        name="day",
        start_time=dt.time(8),
        end_time=dt.time(14),
        weekdays=[0],
    )
    f.assignment(shift_=shift, volunteer_=volunteer)
    f.availability(volunteer_=volunteer, weekday=0, start=dt.time(8), end=dt.time(14))
    f.time_off(volunteer_=volunteer, starts_at=f.at(2026, 3, 20), ends_at=f.at(2026, 3, 21))
    f.organisation()
    return {"roster": roster, "shift": shift, "volunteer": volunteer}


def _admin_models():
    return sorted(
        (m._meta.app_label, m._meta.model_name, ma) for m, ma in admin.site._registry.items()
    )


@pytest.mark.parametrize(("app", "model", "model_admin"), _admin_models())
def test_admin_changelist_and_add_load(app, model, model_admin, superuser_client, scene):
    changelist = superuser_client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert changelist.status_code == 200
    add = superuser_client.get(reverse(f"admin:{app}_{model}_add"))
    # Records the system writes (calls, outbox, audit…) have no add page: 403 exactly there.
    request = RequestFactory().get("/")
    request.user = add.wsgi_request.user
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)


def test_admin_change_pages_load_for_roster_models(superuser_client, scene):
    for obj in (
        scene["roster"],
        scene["shift"],
        scene["volunteer"],
        scene["roster"].hotline,
        Assignment.objects.first(),
    ):
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
        assert superuser_client.get(url).status_code == 200


def test_admin_assignment_add_refuses_rule_breaking_assignment(superuser_client, scene):
    before = Assignment.objects.count()
    response = superuser_client.post(
        reverse("admin:scheduling_assignment_add"),
        {
            "shift": scene["shift"].pk,
            "volunteer": f.volunteer().pk,
            "role": "counsellor",
            "override_reason": "",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "already has all 1 counsellor seats filled" in response.content.decode()
    assert Assignment.objects.count() == before


def test_admin_assignment_add_refuses_hard_rule_even_with_reason(superuser_client, scene):
    volunteer = scene["volunteer"]
    other = f.shift(roster_=scene["roster"], starts_at=f.at(2026, 3, 2, 10))
    response = superuser_client.post(
        reverse("admin:scheduling_assignment_add"),
        {
            "shift": other.pk,
            "volunteer": volunteer.pk,
            "role": "counsellor",
            "override_reason": "x",
        },
    )
    assert response.status_code == 200
    assert "overlapping shift" in response.content.decode()
    assert volunteer.assignments.count() == 1


def test_admin_assignment_add_goes_through_the_service(superuser_client, scene):
    shift = f.shift(roster_=scene["roster"], starts_at=f.at(2026, 3, 4, 8))
    volunteer = f.volunteer()
    f.time_off(volunteer_=volunteer, starts_at=f.at(2026, 3, 4), ends_at=f.at(2026, 3, 5))
    url = reverse("admin:scheduling_assignment_add")
    body = {
        "shift": shift.pk,
        "volunteer": volunteer.pk,
        "role": "counsellor",
        "override_reason": "",
    }
    refused = superuser_client.post(url, body)
    assert refused.status_code == 200 and "declared time off" in refused.content.decode()
    accepted = superuser_client.post(url, {**body, "override_reason": "swapped her exam"})
    assert accepted.status_code == 302
    a = Assignment.objects.get(shift=shift, volunteer=volunteer)
    assert a.overridden_rules == ["time_off"]
    assert a.created_by.username == "root"


def test_admin_roster_publish_action(superuser_client, scene):
    response = superuser_client.post(
        reverse("admin:scheduling_roster_changelist"),
        {"action": "publish", "_selected_action": [scene["roster"].pk]},
    )
    assert response.status_code == 302
    assert Roster.objects.get(pk=scene["roster"].pk).status == "published"


def test_admin_assignment_change_refuses_rule_breaking_role(superuser_client, scene):
    assignment = Assignment.objects.get(volunteer=scene["volunteer"])
    response = superuser_client.post(
        reverse("admin:scheduling_assignment_change", args=[assignment.pk]),
        {"role": "supervisor", "locked": "on", "override_reason": ""},
    )
    assert response.status_code == 200  # the form again, with the rule's message
    assert "does not hold the role" in response.content.decode()
    assignment.refresh_from_db()
    assert (assignment.role, assignment.locked, assignment.sequence) == ("counsellor", False, 0)


def test_admin_assignment_change_lock_only(superuser_client, scene):
    assignment = Assignment.objects.get(volunteer=scene["volunteer"])
    response = superuser_client.post(
        reverse("admin:scheduling_assignment_change", args=[assignment.pk]),
        {"role": "counsellor", "locked": "on", "override_reason": ""},
    )
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert (assignment.locked, assignment.sequence) == (True, 1)


def test_admin_shift_change_refuses_move_that_breaks_a_hard_rule(superuser_client, scene):
    volunteer = scene["volunteer"]
    later = f.shift(roster_=scene["roster"], starts_at=f.at(2026, 3, 4, 8), required_counsellors=1)
    f.assignment(shift_=later, volunteer_=volunteer)
    response = superuser_client.post(
        reverse("admin:scheduling_shift_change", args=[later.pk]),
        {
            "roster": scene["roster"].pk,
            "starts_at_0": "2026-03-02",
            "starts_at_1": "10:00:00",
            "ends_at_0": "2026-03-02",
            "ends_at_1": "16:00:00",
            "required_counsellors": 1,
            "required_family_educators": 1,
            "required_supervisors": 0,
            "crisis_trained_required": 0,
            "assignments-TOTAL_FORMS": 1,
            "assignments-INITIAL_FORMS": 1,
            "assignments-MIN_NUM_FORMS": 0,
            "assignments-MAX_NUM_FORMS": 0,
            "assignments-0-id": later.assignments.get().pk,
            "assignments-0-shift": later.pk,
        },
    )
    assert response.status_code == 200  # the form again, with the rule's message
    assert "overlapping shift" in response.content.decode()
    later.refresh_from_db()
    assert later.starts_at == f.at(2026, 3, 4, 8)


def test_admin_assignment_add_lost_race_says_why_and_saves_nothing(
    superuser_client, scene, monkeypatch
):
    """The form's check passed, then someone took the seat before the save: the page comes
    back with the rule's reason (no server error) and nothing is saved."""
    from scheduling import services
    from scheduling.rules import CAPACITY, RuleViolation, Violation

    shift = f.shift(roster_=scene["roster"], starts_at=f.at(2026, 3, 4, 8))
    volunteer = f.volunteer()

    def taken_meanwhile(**kwargs):
        raise RuleViolation([Violation(CAPACITY, "This shift has no free counsellor seat.")])

    monkeypatch.setattr(services, "assignment_create", taken_meanwhile)
    url = reverse("admin:scheduling_assignment_add")
    body = {"shift": shift.pk, "volunteer": volunteer.pk, "role": "counsellor"}
    response = superuser_client.post(url, body, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(url, 302)]
    assert "no free counsellor seat" in response.content.decode()
    assert "successfully" not in response.content.decode()
    assert not Assignment.objects.filter(shift=shift, volunteer=volunteer).exists()
