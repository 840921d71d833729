"""The volunteer API answers a taken phone number with a 400 on the field, in the user's
language: on create, on a change of number, on reactivating, and when a concurrent request
took the number between the check and the save."""

from __future__ import annotations

import pytest

from hotline.models import Volunteer
from tests.support import factories as f

pytestmark = pytest.mark.django_db

NUMBER = "+8613811110000"
MESSAGE = "Another active volunteer has this phone number."


def _create(api, phone, **kw):
    language = kw.pop("language", "en")
    return api.post(
        "/api/v1/volunteers/",
        {
            "username": kw.pop("username", "newcomer"),
            "name": "Newcomer",
            "phone_number": phone,
            "roles": ["counsellor"],
            "password": "a-strong-pass-42",
            **kw,
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )


def test_create_with_a_taken_number_is_400_on_the_field(coordinator_api):
    f.volunteer(phone_number=NUMBER)
    response = _create(coordinator_api, "138 1111 0000")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["errors"] == {"phone_number": [MESSAGE]}
    assert not Volunteer.objects.filter(display_name="Newcomer").exists()


def test_the_refusal_is_in_chinese_for_chinese_users(coordinator_api):
    f.volunteer(phone_number=NUMBER)
    response = _create(coordinator_api, NUMBER, language="zh-hans")
    assert response.status_code == 400
    (message,) = response.json()["errors"]["phone_number"]
    assert message != MESSAGE and any("\u4e00" <= ch <= "\u9fff" for ch in message)


def test_an_inactive_record_on_the_number_does_not_block(coordinator_api):
    f.volunteer(phone_number=NUMBER, is_active=False)
    assert _create(coordinator_api, NUMBER).status_code == 201
    # and a new record created inactive may share an active one's number
    assert _create(coordinator_api, NUMBER, username="second", is_active=False).status_code == 201


def test_changing_to_a_taken_number_or_reactivating_is_400(coordinator_api):
    f.volunteer(phone_number=NUMBER)
    other = f.volunteer()
    response = coordinator_api.patch(
        f"/api/v1/volunteers/{other.pk}/", {"phone_number": NUMBER}, format="json"
    )
    assert response.status_code == 400 and response.json()["errors"] == {"phone_number": [MESSAGE]}
    left = f.volunteer(phone_number=NUMBER, is_active=False)
    response = coordinator_api.patch(
        f"/api/v1/volunteers/{left.pk}/", {"is_active": True}, format="json"
    )
    assert response.status_code == 400 and response.json()["errors"] == {"phone_number": [MESSAGE]}
    # keeping one's own number is fine
    same = f.volunteer(phone_number="+8613811119999")
    response = coordinator_api.patch(
        f"/api/v1/volunteers/{same.pk}/", {"phone_number": "+8613811119999"}, format="json"
    )
    assert response.status_code == 200


def test_a_number_taken_concurrently_is_still_a_400(coordinator_api, monkeypatch):
    f.volunteer(phone_number=NUMBER)
    seen = []

    def racing(self, exclude=None):
        seen.append(self.phone_number)  # the check ran before the other request saved

    monkeypatch.setattr(Volunteer, "validate_constraints", racing)
    response = _create(coordinator_api, NUMBER)
    assert response.status_code == 400 and response.json()["errors"] == {"phone_number": [MESSAGE]}
    assert seen == [NUMBER]  # refused by the database, then explained on the field
