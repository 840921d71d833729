"""Passwords set through the volunteer API are checked against the user they belong to
(AUTH_PASSWORD_VALIDATORS, including UserAttributeSimilarityValidator)."""

import pytest

from tests.support import factories as f

pytestmark = pytest.mark.django_db


def new_volunteer(**overrides):
    data = {
        "username": "wangfang",
        "name": "Wang Fang",
        "phone_number": "+8613800000123",
        "roles": ["counsellor"],
        "crisis_trained": False,
        "organisation": None,
        "max_shifts_per_week": 3,
        "is_active": True,
        "language": "zh-hans",
        "password": "a-long-password-9",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("password", ["wangfang", "wangfang1", "Wangfang2026"])
def test_create_refuses_a_password_like_the_username(coordinator_api, password):
    response = coordinator_api.post(
        "/api/v1/volunteers/", new_volunteer(password=password), format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert "password" in body["errors"]
    assert any("similar to the username" in m for m in body["errors"]["password"])


def test_update_refuses_a_password_like_the_username(coordinator_api):
    volunteer = f.volunteer(user_kw={"username": "lihua"})
    response = coordinator_api.patch(
        f"/api/v1/volunteers/{volunteer.pk}/", {"password": "lihua123"}, format="json"
    )
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def test_update_checks_against_the_new_username(coordinator_api):
    volunteer = f.volunteer(user_kw={"username": "lihua"})
    response = coordinator_api.patch(
        f"/api/v1/volunteers/{volunteer.pk}/",
        {"username": "zhangwei", "password": "zhangwei99"},
        format="json",
    )
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def test_refusal_in_chinese(coordinator_api):
    response = coordinator_api.post(
        "/api/v1/volunteers/",
        new_volunteer(password="wangfang"),
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert any("用户名" in m for m in response.json()["errors"]["password"])


def test_a_good_password_is_accepted(coordinator_api):
    response = coordinator_api.post("/api/v1/volunteers/", new_volunteer(), format="json")
    assert response.status_code == 201, response.content
