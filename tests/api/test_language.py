"""Refusals come back in the request's language (zh-hans is the founding users' language)."""

import pytest

from tests.support import factories as f


def _refused_assignment(api, language):
    """A counsellor put on a seat of a role they do not hold: refused with rule `role`."""
    shift = f.shift(required_family_educators=0)
    volunteer = f.volunteer(roles=("counsellor",))
    response = api.post(
        "/api/v1/assignments/",
        {"shift": shift.pk, "volunteer": volunteer.pk, "role": "family_educator"},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    return volunteer, response


@pytest.mark.django_db
def test_rule_refusal_detail_in_chinese(coordinator_api):
    volunteer, response = _refused_assignment(coordinator_api, "zh-hans")
    assert response.status_code == 409
    assert response.json()["code"] == "role"
    detail = response.json()["detail"]
    assert volunteer.display_name in detail
    assert "role" not in detail and any("\u4e00" <= ch <= "\u9fff" for ch in detail)


@pytest.mark.django_db
def test_rule_refusal_detail_in_english(coordinator_api):
    volunteer, response = _refused_assignment(coordinator_api, "en")
    assert response.json()["detail"].startswith(volunteer.display_name + " does not hold the role")


@pytest.mark.django_db
def test_pages_default_to_chinese(client, volunteer):
    client.force_login(volunteer.user)
    with pytest.MonkeyPatch.context() as mp:
        from django.conf import settings

        mp.setattr(settings, "LANGUAGE_CODE", "zh-hans")
        body = client.get("/").content.decode()
    assert "排班" in body or "班次" in body
