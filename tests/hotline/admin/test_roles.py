"""Roles that cannot be climbed in the admin: a staff user who is not a superuser — even
one granted every model permission — cannot make anyone (themselves included) staff,
superuser or a coordinator, cannot change a staff, superuser or coordinator account, cannot
touch groups, and sees only the volunteers, hotlines and organisations they manage."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from hotline.access import COORDINATORS_GROUP
from hotline.models import Volunteer
from tests.support import factories as f
from tests.support.orgs import NOW, federation

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def staff():
    """Staff with every permission there is, a volunteer record in no organisation."""
    user = f.user(username="staffer", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def _user_form(user, **changes) -> dict:
    data = {
        "username": user.username,
        "date_joined_0": "2026-03-01",
        "date_joined_1": "08:00:00",
        "is_active": "on",
    }
    data.update(changes)
    return data


def test_staff_cannot_make_an_ordinary_login_superuser_staff_or_coordinator(staff_client):
    v = f.volunteer()
    group, _ = Group.objects.get_or_create(name=COORDINATORS_GROUP)
    url = reverse("admin:auth_user_change", args=[v.user_id])
    page = staff_client.get(url).content.decode()
    assert 'name="is_superuser"' not in page and 'name="groups"' not in page
    staff_client.post(
        url,
        _user_form(v.user, is_superuser="on", is_staff="on", groups=[group.pk]),
    )
    user = User.objects.get(pk=v.user_id)
    assert not (user.is_superuser or user.is_staff)
    assert not user.groups.exists()


def test_staff_cannot_make_themselves_superuser(staff_client, staff):
    url = reverse("admin:auth_user_change", args=[staff.pk])
    response = staff_client.post(url, _user_form(staff, is_superuser="on", is_staff="on"))
    assert response.status_code in (302, 403, 404)
    staff.refresh_from_db()
    assert not staff.is_superuser


@pytest.mark.parametrize("target", ["superuser", "staff", "coordinator"])
def test_staff_cannot_change_a_privileged_account(staff_client, target):
    victim = {
        "superuser": lambda: f.user(username="boss", is_superuser=True, is_staff=True),
        "staff": lambda: f.user(username="other_staff", is_staff=True),
        "coordinator": lambda: f.coordinator_user(username="coord"),
    }[target]()
    before = User.objects.get(pk=victim.pk)
    change = reverse("admin:auth_user_change", args=[victim.pk])
    password = reverse("admin:auth_user_password_change", args=[victim.pk])
    # Not even listed: as if there were no such login.
    assert staff_client.get(change).status_code == 302
    staff_client.post(change, _user_form(victim, username="pwned", is_active=""))
    r = staff_client.post(
        password, {"password1": "Taken-over-2026!", "password2": "Taken-over-2026!"}
    )
    assert r.status_code == 404
    after = User.objects.get(pk=victim.pk)
    assert (after.username, after.password, after.is_active) == (
        before.username,
        before.password,
        before.is_active,
    )


def test_staff_cannot_change_a_coordinators_volunteer_record(staff_client):
    coordinator = f.volunteer(user=f.coordinator_user(username="coord"), roles=())
    url = reverse("admin:hotline_volunteer_change", args=[coordinator.pk])
    assert 'name="is_active"' not in staff_client.get(url).content.decode()  # read only
    assert staff_client.post(url, {"display_name": "x", "is_active": ""}).status_code == 403
    coordinator.refresh_from_db()
    assert coordinator.is_active and coordinator.display_name != "x"


def test_staff_cannot_give_a_privileged_login_a_volunteer_record(staff_client):
    boss = f.user(username="boss", is_superuser=True, is_staff=True)
    staff_client.post(
        reverse("admin:hotline_volunteer_add"),
        {
            "user": boss.pk,
            "display_name": "Boss",
            "phone_number": "13800138555",
            "languages": "[]",
            "language": "en",
            "max_shifts_per_week": 2,
        },
    )
    assert not Volunteer.objects.filter(user=boss).exists()


def test_groups_are_for_superusers_only(staff_client):
    group, _ = Group.objects.get_or_create(name=COORDINATORS_GROUP)
    assert staff_client.get(reverse("admin:auth_group_changelist")).status_code == 403
    r = staff_client.post(
        reverse("admin:auth_group_change", args=[group.pk]),
        {"name": COORDINATORS_GROUP, "permissions": [p.pk for p in Permission.objects.all()]},
    )
    assert r.status_code == 403
    assert not group.permissions.exists()


def test_superuser_grants_the_coordinator_role(client):
    client.force_login(f.user(username="root", is_superuser=True, is_staff=True))
    v = f.volunteer()
    group, _ = Group.objects.get_or_create(name=COORDINATORS_GROUP)
    url = reverse("admin:auth_user_change", args=[v.user_id])
    assert client.post(url, _user_form(v.user, groups=[group.pk])).status_code == 302
    assert User.objects.get(pk=v.user_id).groups.filter(pk=group.pk).exists()


def test_admin_lists_scoped_to_the_coordinators_organisation_tree(client, clock):
    clock.set(NOW)
    fed = federation()
    coordinator = fed.coordinator["county_a"]
    User.objects.filter(pk=coordinator.pk).update(is_staff=True)
    coordinator = User.objects.get(pk=coordinator.pk)
    coordinator.user_permissions.set(Permission.objects.all())
    client.force_login(coordinator)
    for name, rows, key in [
        ("admin:hotline_hotline_changelist", fed.hotline, "county_a"),
        ("admin:hotline_volunteer_changelist", fed.volunteer, "county_a"),
        ("admin:scheduling_roster_changelist", fed.draft, "county_a"),
    ]:
        page = client.get(reverse(name)).context["cl"].result_list
        assert rows[key] in page and rows["county_b"] not in page, name
    other = reverse("admin:hotline_hotline_change", args=[fed.hotline["county_b"].pk])
    assert client.get(other).status_code == 302  # "does not exist", back to the index
