"""The volunteer and user admin pages write through hotline.people.services: a volunteer
and their login stay in step there as in the API (before, the admin's "active" box left
the login signed in, and a login deactivated on the user page stayed on the roster)."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from hotline.models import Volunteer
from tests.support import factories as f

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def admin_client(client):
    client.force_login(f.user(username="root", is_staff=True, is_superuser=True))
    return client


def _volunteer_form(v: Volunteer, **changes) -> dict:
    data = {
        "display_name": v.display_name,
        "phone_number": v.phone_number,
        "is_counsellor": "on" if v.is_counsellor else "",
        "is_family_educator": "on" if v.is_family_educator else "",
        "is_supervisor": "on" if v.is_supervisor else "",
        "crisis_trained": "on" if v.crisis_trained else "",
        "languages": json.dumps(v.languages),
        "language": v.language,
        "organisation": v.organisation_id or "",
        "max_shifts_per_week": v.max_shifts_per_week,
        "is_active": "on" if v.is_active else "",
    }
    data.update(changes)
    return {k: val for k, val in data.items() if val != ""}


def _change(admin_client, v: Volunteer, **changes):
    return admin_client.post(
        reverse("admin:hotline_volunteer_change", args=[v.pk]), _volunteer_form(v, **changes)
    )


def _api_patch(v: Volunteer, **data):
    api = APIClient()
    api.force_authenticate(f.coordinator_user())
    return api.patch(f"/api/v1/volunteers/{v.pk}/", data, format="json")


def _states(v: Volunteer) -> tuple[bool, bool]:
    v.refresh_from_db()
    return v.is_active, User.objects.get(pk=v.user_id).is_active


def test_deactivating_in_the_admin_signs_the_login_out_as_the_api_does(admin_client):
    by_admin, by_api = f.volunteer(), f.volunteer()
    assert _change(admin_client, by_admin, is_active="").status_code == 302
    assert _api_patch(by_api, is_active=False).status_code == 200
    assert _states(by_admin) == _states(by_api) == (False, False)
    # And back.
    assert _change(admin_client, by_admin, is_active="on").status_code == 302
    assert _api_patch(by_api, is_active=True).status_code == 200
    assert _states(by_admin) == _states(by_api) == (True, True)


def test_deactivating_a_login_on_the_user_page_takes_the_volunteer_off(admin_client):
    v = f.volunteer()
    user = v.user
    url = reverse("admin:auth_user_change", args=[user.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    data = {
        "username": user.username,
        "date_joined_0": "2026-03-01",
        "date_joined_1": "08:00:00",
        # is_active left out: unchecked
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert _states(v) == (False, False)
    admin_client.post(url, {**data, "is_active": "on"})
    assert _states(v) == (True, True)


def test_admin_changes_go_through_the_service(admin_client):
    v = f.volunteer(roles=("counsellor",))
    response = _change(
        admin_client, v, phone_number="138 0013 8777", is_counsellor="", is_supervisor="on"
    )
    assert response.status_code == 302
    v.refresh_from_db()
    assert v.phone_number == "+8613800138777" and v.roles == ["supervisor"]


def test_admin_adds_a_volunteer_for_a_login_through_the_service(admin_client):
    login = f.user(is_active=False)
    response = admin_client.post(
        reverse("admin:hotline_volunteer_add"),
        {
            "user": login.pk,
            "display_name": "Zhou Min",
            "phone_number": "13800138555",
            "is_family_educator": "on",
            "languages": "[]",
            "language": "en",
            "max_shifts_per_week": 2,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    v = Volunteer.objects.get(user=login)
    assert v.roles == ["family_educator"] and v.phone_number == "+8613800138555"
    assert _states(v) == (True, True)


def test_a_volunteers_login_cannot_be_swapped_in_the_admin(admin_client):
    v = f.volunteer()
    other = f.user()
    _change(admin_client, v, user=other.pk)
    v.refresh_from_db()
    assert v.user_id != other.pk


def test_api_refuses_a_password_like_the_username_as_the_user_admin_does(admin_client):
    """Django's add-user page judged a password against the username; the API did not."""
    similar = {"username": "zhoumin", "password": "zhoumin-x"}
    page = admin_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": similar["username"],
            "password1": similar["password"],
            "password2": similar["password"],
            "usable_password": "true",
        },
    )
    assert page.status_code == 200
    assert "The password is too similar to the username." in page.content.decode()
    api = APIClient()
    api.force_authenticate(f.coordinator_user())
    response = api.post(
        "/api/v1/volunteers/",
        {**similar, "name": "Zhou Min", "phone_number": "+8613800138000", "roles": []},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "password": ["The password is too similar to the username."]
    }
    assert not User.objects.filter(username="zhoumin").exists()
