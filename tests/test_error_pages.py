"""Error and account pages a person lands on: styled, translated, with a way back and a
coordinator to ask."""

import pytest
from django.test import Client

from tests.support import factories as f

pytestmark = pytest.mark.django_db

CONTACT = "陈协调 Ms Chen, +86 136 0013 6000"


@pytest.fixture(autouse=True)
def _contact(settings):
    settings.COORDINATOR_CONTACT = CONTACT


def _client(user=None, language="en"):
    client = Client()
    client.cookies["django_language"] = language
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("language", "heading", "back"),
    [
        ("en", "Not for your account", "Back to the start page"),
        ("zh-hans", "您的账号无权使用此页面", "返回首页"),
    ],
)
def test_a_volunteer_refused_a_coordinator_page_gets_a_page_with_a_way_back(
    language, heading, back
):
    volunteer = f.volunteer()
    response = _client(volunteer.user, language).get("/calls/sms-failed/")
    assert response.status_code == 403
    body = response.content.decode()
    assert heading in body and back in body
    assert 'href="/me/shifts/"' in body  # the site's navigation
    assert CONTACT in body


@pytest.mark.parametrize(("language", "heading"), [("en", "Not found"), ("zh-hans", "未找到")])
def test_a_missing_page_is_styled_and_translated(language, heading):
    response = _client(f.volunteer().user, language).get("/rosters/999999/")
    assert response.status_code == 404
    body = response.content.decode()
    assert heading in body and 'class="top"' in body and CONTACT in body


def test_the_server_error_page_needs_no_database_and_says_what_to_do():
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("en"):
        body = render_to_string("500.html")
    assert "Something went wrong" in body
    assert "phone the supervisor on duty" in body


def test_the_login_page_names_whom_to_ask():
    body = _client(language="zh-hans").get("/accounts/login/").content.decode()
    assert "班次或账号有问题，请联系：" + CONTACT in body


def test_a_volunteer_changes_her_password_on_the_site():
    volunteer = f.volunteer()
    volunteer.user.set_password("old-password-77")
    volunteer.user.save()
    client = _client(volunteer.user, "zh-hans")
    page = client.get("/accounts/password_change/").content.decode()
    assert "修改密码" in page and 'href="/me/shifts/"' in page  # ours, not the admin's
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "old-password-77",
            "new_password1": "a-fresh-password-88",
            "new_password2": "a-fresh-password-88",
        },
        follow=True,
    )
    assert "密码已修改" in response.content.decode()
    volunteer.user.refresh_from_db()
    assert volunteer.user.check_password("a-fresh-password-88")
