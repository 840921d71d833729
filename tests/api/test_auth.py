"""API tokens: an expiry (API_TOKEN_TTL_HOURS), `POST /api/v1/auth/token/revoke/`, and
revocation by a password change on every path (API, admin, password page, command)."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from hotline.accounts import tokens
from hotline.models import ApiToken
from hotline.tasks import login_records_purge
from tests.support import factories as f

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "right-password-77"


def issue(username, password=PASSWORD):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def with_token(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key) -> bool:
    response = with_token(key).get("/api/v1/me/")
    assert response.status_code in (200, 401), response.content
    return response.status_code == 200


@pytest.fixture
def vic(db):
    return f.volunteer(user_kw={"username": "vic", "password": PASSWORD}).user


# --- expiry -----------------------------------------------------------------------------


def test_token_response_says_when_it_expires(vic, settings):
    settings.API_TOKEN_TTL_HOURS = 8
    before = timezone.now()
    body = issue("vic")
    expires_at = dt.datetime.fromisoformat(body["expires_at"])
    assert before + dt.timedelta(hours=8) <= expires_at <= timezone.now() + dt.timedelta(hours=8)
    assert works(body["token"])


def test_token_stops_working_when_it_expires(vic, clock):
    key = issue("vic")["token"]
    clock.advance(hours=23, minutes=59)
    assert works(key)
    clock.advance(minutes=2)
    response = with_token(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert not ApiToken.objects.exists()  # deleted when found expired


def test_old_token_keys_of_the_previous_scheme_do_not_work(vic):
    # Keys from DRF's authtoken table were never carried over: clients ask for a new one.
    assert (
        with_token("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b").get("/api/v1/me/").status_code == 401
    )


# --- revoke -----------------------------------------------------------------------------


def test_revoke_ends_the_presented_token_only(vic):
    first, second = issue("vic")["token"], issue("vic")["token"]
    response = with_token(first).post("/api/v1/auth/token/revoke/")
    assert response.status_code == 204
    assert not works(first)
    assert works(second)
    assert with_token(first).post("/api/v1/auth/token/revoke/").status_code == 401


def test_revoke_needs_a_token(vic):
    assert APIClient().post("/api/v1/auth/token/revoke/").status_code == 401
    session = Client()
    session.force_login(vic)
    # A browser session is not a token: nothing to revoke.
    assert session.post("/api/v1/auth/token/revoke/").status_code == 401


# --- a password change revokes ----------------------------------------------------------


def test_password_change_through_the_api_revokes(vic, coordinator):
    key = issue("vic")["token"]
    volunteer = vic.volunteer
    coord = APIClient()
    coord.force_authenticate(coordinator)
    response = coord.patch(
        f"/api/v1/volunteers/{volunteer.pk}/", {"password": "a-new-password-88"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert not works(key)
    assert works(issue("vic", "a-new-password-88")["token"])


def test_password_change_in_the_admin_revokes(vic):
    key = issue("vic")["token"]
    root = f.user(username="root", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(root)
    response = admin.post(
        f"/admin/auth/user/{vic.pk}/password/",
        {"password1": "a-new-password-88", "password2": "a-new-password-88"},
    )
    assert response.status_code == 302, response.content
    assert not works(key)


def test_password_change_page_revokes(vic):
    key = issue("vic")["token"]
    page = Client()
    page.force_login(vic)
    response = page.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-password-88",
            "new_password2": "a-new-password-88",
        },
    )
    assert response.status_code == 302, response.content
    assert not works(key)


def test_changepassword_command_revokes(vic, monkeypatch):
    key = issue("vic")["token"]
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-new-password-88")
    call_command("changepassword", "vic", stdout=io.StringIO())
    assert not works(key)


def test_set_password_anywhere_revokes(vic):
    key = issue("vic")["token"]
    vic.set_password("a-new-password-88")
    vic.save()
    assert not works(key)


def test_deactivated_user_token_is_refused(vic):
    key = issue("vic")["token"]
    User.objects.filter(pk=vic.pk).update(is_active=False)
    assert not works(key)


# --- storage ----------------------------------------------------------------------------


def test_only_a_digest_is_stored(vic):
    key = issue("vic")["token"]
    stored = ApiToken.objects.get()
    assert key not in (stored.key_digest, stored.password_fingerprint)
    assert stored.key_digest == tokens.key_digest(key)


def test_a_user_keeps_at_most_ten_live_tokens(vic):
    keys = [issue("vic")["token"] for _n in range(tokens.MAX_TOKENS_PER_USER + 2)]
    assert ApiToken.objects.filter(user=vic).count() == tokens.MAX_TOKENS_PER_USER
    assert not works(keys[0]) and works(keys[-1])


def test_daily_purge_removes_dead_tokens(vic, clock):
    expired = issue("vic")["token"]
    clock.advance(hours=25)
    live = issue("vic")["token"]
    other = f.user(username="other", password=PASSWORD)
    issue("other")
    other.set_password("changed-password-1")
    other.save()
    counts = login_records_purge()
    assert counts["api_tokens"] >= 1
    assert list(ApiToken.objects.values_list("user__username", flat=True)) == ["vic"]
    assert works(live) and not works(expired)
