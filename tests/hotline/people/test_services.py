"""hotline/people/services.py: a volunteer and their login, created and changed together,
active together, checked in one place."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from hotline.models import Volunteer
from hotline.people import services as people
from tests.support import factories as f

pytestmark = pytest.mark.django_db
User = get_user_model()


def _create(**kw) -> Volunteer:
    kw.setdefault("username", "wang")
    kw.setdefault("password", "a-strong-pass-42")
    kw.setdefault("display_name", "Wang Fang")
    kw.setdefault("phone_number", "+8613800138000")
    return people.volunteer_create(by=None, **kw)


def _errors(call, **kw) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        call(**kw)
    return info.value.message_dict


def test_create_makes_the_login_with_the_volunteer():
    v = _create(roles=["counsellor", "supervisor"], crisis_trained=True)
    v.refresh_from_db()
    assert v.user.username == "wang" and v.user.check_password("a-strong-pass-42")
    assert v.roles == ["counsellor", "supervisor"] and v.crisis_trained
    assert v.is_active and v.user.is_active


def test_create_inactive_makes_an_inactive_login():
    v = _create(is_active=False)
    assert not User.objects.get(pk=v.user_id).is_active


def test_create_normalises_the_phone_number():
    assert _create(phone_number="138 0013 8000").phone_number == "+8613800138000"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"username": "WANG"}, "username"),  # taken, whatever the case
        ({"username": "wang fang"}, "username"),  # not a username
        ({"password": ""}, "password"),  # a new login needs one
        ({"password": "1234"}, "password"),  # too short, numeric
        ({"password": "wang2-xyz"}, "password"),  # too like the username
        ({"phone_number": "12"}, "phone_number"),
        ({"roles": ["counsellor", "counsellor"]}, "roles"),
        ({"roles": ["janitor"]}, "roles"),
        ({"max_shifts_per_week": 22}, "max_shifts_per_week"),
        ({"display_name": ""}, "display_name"),
    ],
)
def test_create_refusals_name_the_field_and_write_nothing(kw, field):
    f.user(username="wang")
    before = (User.objects.count(), Volunteer.objects.count())
    kw = {"username": "wang2", **kw}
    assert field in _errors(_create, **kw)
    assert (User.objects.count(), Volunteer.objects.count()) == before


def test_create_for_an_existing_login_puts_it_in_step():
    login = f.user(is_active=False)
    v = people.volunteer_create(
        by=None, user=login, display_name="Li", phone_number="+8613800138001"
    )
    login.refresh_from_db()
    assert v.user == login and login.is_active  # an active volunteer has an active login
    # A login has one volunteer record.
    assert "user" in _errors(
        people.volunteer_create,
        by=None,
        user=login,
        display_name="Li 2",
        phone_number="+8613800138002",
    )


def test_create_needs_a_login_or_a_username():
    with pytest.raises(TypeError):
        people.volunteer_create(by=None, display_name="x", phone_number="+8613800138000")
    with pytest.raises(TypeError):
        people.volunteer_create(
            by=None, user=f.user(), username="y", display_name="x", phone_number="+8613800138000"
        )


def test_deactivating_a_volunteer_deactivates_the_login_and_back():
    v = _create()
    v = people.volunteer_update(by=None, volunteer=v, is_active=False)
    assert not v.is_active and not User.objects.get(pk=v.user_id).is_active
    v = people.volunteer_update(by=None, volunteer=v, is_active=True)
    assert v.is_active and User.objects.get(pk=v.user_id).is_active


def test_deactivating_a_login_deactivates_the_volunteer_and_back():
    v = _create()
    people.user_active_set(by=None, user=v.user, is_active=False)
    v.refresh_from_db()
    assert not v.is_active and not v.user.is_active
    people.user_active_set(by=None, user=v.user, is_active=True)
    v.refresh_from_db()
    assert v.is_active and v.user.is_active


def test_update_changes_login_and_record():
    v = _create()
    v = people.volunteer_update(
        by=None,
        volunteer=v,
        username="wang.fang",
        password="another-good-pass-7",
        roles=["family_educator"],
        phone_number="13800138009",
        display_name="Wang F.",
    )
    v.refresh_from_db()
    assert v.user.username == "wang.fang" and v.user.check_password("another-good-pass-7")
    assert v.roles == ["family_educator"] and v.phone_number == "+8613800138009"
    assert v.display_name == "Wang F."


def test_update_keeps_what_it_is_not_given():
    v = _create(roles=["counsellor"])
    v = people.volunteer_update(by=None, volunteer=v, crisis_trained=True)
    assert v.roles == ["counsellor"] and v.user.check_password("a-strong-pass-42")


def test_update_refusals_write_nothing():
    f.user(username="taken")
    v = _create()
    assert "username" in _errors(people.volunteer_update, by=None, volunteer=v, username="TAKEN")
    assert "password" in _errors(people.volunteer_update, by=None, volunteer=v, password="password")
    assert "roles" in _errors(people.volunteer_update, by=None, volunteer=v, roles=["x"])
    v.refresh_from_db()
    assert v.user.username == "wang" and v.user.check_password("a-strong-pass-42")
    with pytest.raises(TypeError):
        people.volunteer_update(by=None, volunteer=v, user=f.user())


def test_a_login_may_keep_its_own_username_in_another_case():
    v = _create()
    v = people.volunteer_update(by=None, volunteer=v, username="Wang")
    assert v.user.username == "Wang"
