"""Pages every user meets: 403, 404 and 500 (styled, translated, with a way back), the login
page's coordinator contact, and changing one's password from the site."""

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_403_says_why_in_the_users_language_with_navigation(volunteer):
    client = Client()
    client.force_login(volunteer.user)
    client.cookies["django_language"] = "zh-hans"
    response = client.get(reverse("scheduling:roster-new"))
    html = response.content.decode()
    assert response.status_code == 403
    assert 'id="error-403"' in html and "只有协调员可以建立排班表。" in html
    assert reverse("scheduling:home") in html and 'class="top"' in html


def test_404_has_navigation(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert 'id="error-404"' in response.content.decode()


def test_500_renders_without_a_request():
    with translation.override("zh-hans"):
        html = render_to_string("500.html")
    assert 'id="error-500"' in html and "出了点问题" in html


def test_login_and_error_pages_show_the_coordinator_contact(client, settings):
    settings.COORDINATOR_CONTACT = "Wang Fang 138 0000 0000"
    assert "Wang Fang 138 0000 0000" in client.get(reverse("login")).content.decode()
    assert "Wang Fang 138 0000 0000" in client.get("/no-such-page/").content.decode()


def test_password_change_from_the_site(volunteer):
    client = Client()
    client.force_login(volunteer.user)
    page = client.get(reverse("password_change")).content.decode()
    assert 'id="password-change-form"' in page and 'class="top"' in page
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pw-for-tests-1",
            "new_password1": "a-Longer-new-pass-42",
            "new_password2": "a-Longer-new-pass-42",
        },
        follow=True,
    )
    assert 'id="password-changed"' in response.content.decode()
    volunteer.user.refresh_from_db()
    assert volunteer.user.check_password("a-Longer-new-pass-42")
