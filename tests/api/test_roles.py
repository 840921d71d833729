"""Roles that cannot be climbed, through the volunteer API: a coordinator (even staff) never
changes a staff, superuser or coordinator account — password, username, active flag or its
volunteer record — and nothing is written when refused. Only superusers do."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.support import factories as f

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "pw-for-tests-1"
CHANGES = [
    {"password": "Taken-over-2026!"},
    {"username": "pwned"},
    {"is_active": False},
    {"name": "Renamed"},
]


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def coordinator_member():
    """In the coordinators group, not staff: the account of the report's attack."""
    return f.coordinator_user(username="coord_member")


def _privileged_targets():
    return {
        "superuser": f.volunteer(user=f.user(username="boss", is_superuser=True, is_staff=True)),
        "staff": f.volunteer(user=f.user(username="staffer", is_staff=True)),
        "coordinator": f.volunteer(user=f.coordinator_user(username="other_coord")),
    }


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: next(iter(c)))
@pytest.mark.parametrize("target", ["superuser", "staff", "coordinator"])
@pytest.mark.parametrize("actor", ["coordinator_member", "staff_member"])
def test_coordinator_cannot_change_a_privileged_account(coordinator_member, actor, target, change):
    who = coordinator_member if actor == "coordinator_member" else f.user(is_staff=True)
    victim = _privileged_targets()[target]
    before = User.objects.get(pk=victim.user_id)
    response = client_of(who).patch(f"/api/v1/volunteers/{victim.pk}/", change, format="json")
    assert response.status_code == 403, response.content
    after = User.objects.get(pk=victim.user_id)
    assert (after.username, after.password, after.is_active) == (
        before.username,
        before.password,
        before.is_active,
    )
    victim.refresh_from_db()
    assert victim.display_name != "Renamed" and victim.is_active


def test_coordinator_still_manages_ordinary_volunteers(coordinator_member):
    volunteer = f.volunteer()
    r = client_of(coordinator_member).patch(
        f"/api/v1/volunteers/{volunteer.pk}/", {"password": "a-new-Secret-77"}, format="json"
    )
    assert r.status_code == 200
    assert User.objects.get(pk=volunteer.user_id).check_password("a-new-Secret-77")


def test_coordinator_cannot_change_their_own_account_through_the_volunteer_api(
    coordinator_member,
):
    own = f.volunteer(user=coordinator_member)
    r = client_of(coordinator_member).patch(
        f"/api/v1/volunteers/{own.pk}/", {"is_active": False}, format="json"
    )
    assert r.status_code == 403


def test_superuser_changes_a_staff_account():
    victim = _privileged_targets()["staff"]
    root = f.user(is_superuser=True, is_staff=True)
    r = client_of(root).patch(
        f"/api/v1/volunteers/{victim.pk}/", {"password": "a-new-Secret-77"}, format="json"
    )
    assert r.status_code == 200
    assert User.objects.get(pk=victim.user_id).check_password("a-new-Secret-77")


def test_refusal_in_the_users_language(coordinator_member):
    victim = _privileged_targets()["superuser"]
    r = client_of(coordinator_member).patch(
        f"/api/v1/volunteers/{victim.pk}/",
        {"password": "x-Secret-2026!"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.status_code == 403 and "超级用户" in r.json()["detail"]


def test_coordinator_cannot_send_a_reset_code_to_another_coordinator(coordinator_member):
    other = _privileged_targets()["coordinator"]
    response = client_of(coordinator_member).post(f"/api/v1/volunteers/{other.pk}/password-reset/")
    assert response.status_code == 403
    ordinary = f.volunteer()
    response = client_of(coordinator_member).post(
        f"/api/v1/volunteers/{ordinary.pk}/password-reset/"
    )
    assert response.status_code in (200, 201, 202, 204)
