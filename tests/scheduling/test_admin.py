"""The admin: every model's pages load; the assignment form refuses what the rules refuse."""

import datetime as dt

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from scheduling import services
from scheduling.models import Assignment, Roster, Shift, ShiftPattern
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


# --- deletes: the admin refuses what the API refuses, with the same message ---------------------

PUBLISHED_ROSTER = "A published roster cannot be deleted."
VOLUNTEERS_ON = "Volunteers are on this shift; cancel their assignments first."


def _api_refusal(path: str) -> str:
    api = APIClient()
    api.force_authenticate(f.coordinator_user())
    response = api.delete(path)
    assert response.status_code == 400
    (message,) = response.json()["errors"]["non_field_errors"]
    return message


def _delete_page(client, obj, *, confirm: bool):
    url = reverse(f"admin:scheduling_{obj._meta.model_name}_delete", args=[obj.pk])
    if confirm:
        return client.post(url, {"post": "yes"}, follow=True)
    return client.get(url, follow=True)


def test_admin_delete_of_a_published_roster_refused_like_the_api(superuser_client, scene):
    roster = scene["roster"]
    Roster.objects.filter(pk=roster.pk).update(status="published")
    assert _api_refusal(f"/api/v1/rosters/{roster.pk}/") == PUBLISHED_ROSTER
    for confirm in (False, True):
        response = _delete_page(superuser_client, roster, confirm=confirm)
        assert response.redirect_chain[-1][0] == reverse(
            "admin:scheduling_roster_change", args=[roster.pk]
        )
        assert PUBLISHED_ROSTER in response.content.decode()
    assert Roster.objects.filter(pk=roster.pk).exists()


def test_admin_delete_of_a_shift_with_volunteers_refused_like_the_api(superuser_client, scene):
    shift = scene["shift"]  # a volunteer is on it
    assert _api_refusal(f"/api/v1/shifts/{shift.pk}/") == VOLUNTEERS_ON
    response = _delete_page(superuser_client, shift, confirm=True)
    assert VOLUNTEERS_ON in response.content.decode()
    assert Shift.objects.filter(pk=shift.pk).exists()


def test_admin_delete_of_a_draft_roster_still_works(superuser_client, scene):
    draft = f.roster(hotline_=scene["roster"].hotline, first_day=dt.date(2026, 4, 6))
    f.shift(roster_=draft, starts_at=f.at(2026, 4, 6, 8))
    assert _delete_page(superuser_client, draft, confirm=False).status_code == 200  # confirm?
    response = _delete_page(superuser_client, draft, confirm=True)
    assert response.status_code == 200
    assert not Roster.objects.filter(pk=draft.pk).exists()


def _bulk_delete(client, model: str, pks: list[int], *, confirm: bool):
    data = {"action": "delete_selected", "_selected_action": pks}
    if confirm:
        data["post"] = "yes"
    return client.post(reverse(f"admin:scheduling_{model}_changelist"), data, follow=True)


def test_admin_bulk_delete_refuses_all_when_one_may_not_go(superuser_client, scene):
    published = scene["roster"]
    Roster.objects.filter(pk=published.pk).update(status="published")
    draft = f.roster(hotline_=published.hotline, first_day=dt.date(2026, 4, 6))
    for confirm in (False, True):
        response = _bulk_delete(
            superuser_client, "roster", [published.pk, draft.pk], confirm=confirm
        )
        html = response.content.decode()
        assert f"{published}: {PUBLISHED_ROSTER}" in html
        assert Roster.objects.filter(pk__in=[published.pk, draft.pk]).count() == 2


def test_admin_bulk_delete_of_shifts(superuser_client, scene):
    empty = f.shift(roster_=scene["roster"], starts_at=f.at(2026, 3, 5, 8))
    refused = _bulk_delete(superuser_client, "shift", [scene["shift"].pk, empty.pk], confirm=True)
    assert VOLUNTEERS_ON in refused.content.decode()
    assert Shift.objects.filter(pk=empty.pk).exists()
    confirm_page = _bulk_delete(superuser_client, "shift", [empty.pk], confirm=False)
    assert "Are you sure" in confirm_page.content.decode()
    _bulk_delete(superuser_client, "shift", [empty.pk], confirm=True)
    assert not Shift.objects.filter(pk=empty.pk).exists()
    assert Shift.objects.filter(pk=scene["shift"].pk).exists()


def test_admin_delete_refused_by_the_service_after_the_check_saves_nothing(
    superuser_client, scene, monkeypatch
):
    """A volunteer put on the shift between the confirmation page and the delete: the
    service refuses, the page says why, nothing is deleted."""
    empty = f.shift(roster_=scene["roster"], starts_at=f.at(2026, 3, 5, 8))
    monkeypatch.setattr(services, "shift_delete_check", lambda shift: None)
    real_delete = services.shift_delete

    def someone_joined(*, shift, by=None):
        f.assignment(shift_=shift)
        monkeypatch.undo()
        return real_delete(shift=shift, by=by)

    monkeypatch.setattr(services, "shift_delete", someone_joined)
    response = _delete_page(superuser_client, empty, confirm=True)
    assert VOLUNTEERS_ON in response.content.decode()
    assert Shift.objects.filter(pk=empty.pk).exists()
