"""Two-factor sign-in: required for coordinators, supervisors and staff when OTP_REQUIRED
is on (set up right after the password, then a code at every sign-in, the admin too);
not for a plain volunteer; recovery codes work once; wrong codes count as failed sign-ins;
API tokens for such users need a code."""

import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from hotline.accounts import twofactor
from tests.support import factories as f
from tests.support.accounts import authenticator, otp_code
from tests.support.html import inline_code

pytestmark = pytest.mark.django_db

PASSWORD = "right-password-77"


@pytest.fixture(autouse=True)
def _otp_required(settings):
    settings.OTP_REQUIRED = True


def sign_in(username, password=PASSWORD, path="/accounts/login/", next_url=None):
    client = Client()
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    response = client.post(path, data)
    return client, response


@pytest.fixture
def coord(db):
    return f.coordinator_user(username="cora", password=PASSWORD)


@pytest.fixture
def sup(db):
    return f.volunteer(roles=("supervisor",), user_kw={"username": "sam", "password": PASSWORD})


@pytest.fixture
def vol(db):
    return f.volunteer(roles=("counsellor",), user_kw={"username": "vic", "password": PASSWORD})


# --- who must use it --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "supervisor", "staff", "superuser"])
def test_privileged_users_must_set_up_two_factor_before_anything_else(who, coord, sup):
    username = {"coordinator": "cora", "supervisor": "sam"}.get(who, who)
    if who == "staff":
        f.user(username="staff", password=PASSWORD, is_staff=True)
    if who == "superuser":
        f.user(username="superuser", password=PASSWORD, is_staff=True, is_superuser=True)
    client, response = sign_in(username)
    assert response.status_code == 302
    # Whatever page they open next, they land on the set-up page.
    for path in ["/", "/me/shifts/", "/calls/", "/crisis/", "/swaps/", "/admin/"]:
        step = client.get(path)
        assert step.status_code == 302, path
        assert step["Location"].startswith("/accounts/two-factor/setup/?next="), path
    # The API, used with the same session, answers in JSON.
    api = client.get("/api/v1/hotlines/")
    assert api.status_code == 403 and api.json()["code"] == "two_factor_required"


def test_plain_volunteer_signs_in_with_a_password_only(vol):
    client, response = sign_in("vic")
    assert response.status_code == 302
    assert client.get("/me/shifts/").status_code == 200


def test_nobody_is_asked_when_otp_required_is_off(settings, coord):
    settings.OTP_REQUIRED = False
    client, _response = sign_in("cora")
    assert client.get("/swaps/").status_code == 200


def test_otp_required_defaults_to_not_debug():
    source = (django_settings.BASE_DIR / "config" / "settings.py").read_text()
    assert 'OTP_REQUIRED = env_bool("OTP_REQUIRED", not DEBUG)' in source


# --- setting it up ----------------------------------------------------------------------


def test_set_up_flow_shows_a_qr_code_then_recovery_codes(coord):
    client, _response = sign_in("cora", next_url="/swaps/")
    page = client.get("/accounts/two-factor/setup/?next=/swaps/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body  # the QR code, drawn inline: no image service, no CDN
    assert 'src="http' not in body and not inline_code(body)
    device = TOTPDevice.objects.get(user=coord, confirmed=False)
    assert twofactor.secret_for_display(device) in body
    # A wrong code is refused and changes nothing.
    wrong = client.post("/accounts/two-factor/setup/", {"code": "000000", "next": "/swaps/"})
    assert wrong.status_code == 200 and "did not match" in wrong.content.decode()
    assert not twofactor.has_two_factor(coord)
    device.throttle_reset()
    done = client.post("/accounts/two-factor/setup/", {"code": otp_code(device), "next": "/swaps/"})
    assert done.status_code == 200
    codes = re.findall(r"<li>([a-z2-7]{8})</li>", done.content.decode())
    assert len(codes) == 10
    assert sorted(codes) == sorted(
        StaticToken.objects.filter(device__user=coord).values_list("token", flat=True)
    )
    assert 'href="/swaps/"' in done.content.decode()
    # Verified for this session: pages open.
    assert client.get("/swaps/").status_code == 200


def test_setup_page_in_chinese(coord):
    client, _response = sign_in("cora")
    client.cookies["django_language"] = "zh-hans"
    body = client.get("/accounts/two-factor/setup/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "设置两步验证" in body.content.decode()


def test_password_alone_cannot_replace_an_existing_authenticator(coord):
    authenticator(coord)
    client, _response = sign_in("cora")
    response = client.get("/accounts/two-factor/setup/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/verify/")
    assert TOTPDevice.objects.filter(user=coord).count() == 1


# --- signing in with it -----------------------------------------------------------------


def test_sign_in_asks_for_the_code_and_then_lets_them_in(coord):
    device, _codes = authenticator(coord)
    client, _response = sign_in("cora", next_url="/swaps/")
    step = client.get("/swaps/")
    assert step["Location"] == "/accounts/two-factor/verify/?next=%2Fswaps%2F"
    page = client.get(step["Location"])
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.content.decode()
    response = client.post(
        "/accounts/two-factor/verify/", {"code": otp_code(device, steps_ahead=1), "next": "/swaps/"}
    )
    assert response.status_code == 302 and response["Location"] == "/swaps/"
    assert client.get("/swaps/").status_code == 200


def test_verify_refuses_an_offsite_next(coord):
    device, _codes = authenticator(coord)
    client, _response = sign_in("cora")
    response = client.post(
        "/accounts/two-factor/verify/",
        {"code": otp_code(device, steps_ahead=1), "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_admin_login_is_covered(coord):
    root = f.user(username="root", password=PASSWORD, is_staff=True, is_superuser=True)
    device, _codes = authenticator(root)
    client, response = sign_in("root", path="/admin/login/", next_url="/admin/")
    assert response.status_code == 302
    step = client.get("/admin/")
    assert step["Location"].startswith("/accounts/two-factor/verify/")
    assert client.get("/admin/auth/user/").status_code == 302
    client.post("/accounts/two-factor/verify/", {"code": otp_code(device, steps_ahead=1)})
    assert client.get("/admin/auth/user/").status_code == 200


def test_recovery_code_works_once(coord, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0  # no 1 s pause after the refused code
    _device, codes = authenticator(coord)
    client, _response = sign_in("cora")
    used = client.post("/accounts/two-factor/verify/", {"code": codes[0].upper()})
    assert used.status_code == 302
    assert client.get("/swaps/").status_code == 200
    assert twofactor.recovery_codes_left(user=coord) == 9
    # The same code at the next sign-in is refused.
    again, _response = sign_in("cora")
    refused = again.post("/accounts/two-factor/verify/", {"code": codes[0]})
    assert refused.status_code == 200 and "not right" in refused.content.decode()
    assert again.get("/swaps/").status_code == 302
    # Another one still works.
    assert again.post("/accounts/two-factor/verify/", {"code": codes[1]}).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(coord):
    _device, codes = authenticator(coord)
    client, _response = sign_in("cora")
    client.post("/accounts/two-factor/verify/", {"code": codes[0]})
    fresh = client.post("/accounts/two-factor/recovery-codes/")
    new_codes = re.findall(r"<li>([a-z2-7]{8})</li>", fresh.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert twofactor.second_factor_check(user=coord, code=codes[2]) is None


def test_wrong_codes_count_as_failed_sign_ins_and_lock_out(coord, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp's own per-device delay aside
    authenticator(coord)
    client, _response = sign_in("cora")
    for _n in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/accounts/two-factor/verify/", {"code": "123456"})
        assert response.status_code == 200
    locked = client.post("/accounts/two-factor/verify/", {"code": "123456"})
    assert locked.status_code == 429
    assert AccessAttempt.objects.filter(username="cora").exists()
    # The half-signed-in session is gone, and the password is refused during the lockout.
    assert "_auth_user_id" not in client.session
    assert sign_in("cora")[1].status_code == 429


def test_a_volunteer_may_turn_it_on_and_off(vol):
    client, _response = sign_in("vic")
    assert client.get("/accounts/two-factor/").status_code == 200
    device = TOTPDevice.objects.get(pk=twofactor.authenticator_pending(user=vol.user).pk)
    client.post("/accounts/two-factor/setup/", {"code": otp_code(device)})
    assert twofactor.has_two_factor(vol.user)
    # Now their own sign-in asks for a code as well.
    other, _response = sign_in("vic")
    assert other.get("/me/shifts/")["Location"].startswith("/accounts/two-factor/verify/")
    # Turning it off needs a current code.
    client.post("/accounts/two-factor/turn-off/", {"code": "999999"})
    assert twofactor.has_two_factor(vol.user)
    device.refresh_from_db()
    device.throttle_reset()
    client.post("/accounts/two-factor/turn-off/", {"code": otp_code(device, steps_ahead=1)})
    assert not twofactor.has_two_factor(vol.user)


def test_a_required_second_factor_cannot_be_turned_off(coord):
    device, _codes = authenticator(coord)
    client, _response = sign_in("cora")
    client.post("/accounts/two-factor/verify/", {"code": otp_code(device, steps_ahead=1)})
    response = client.post("/accounts/two-factor/turn-off/", {"code": "000000"})
    assert response.status_code == 403
    assert twofactor.has_two_factor(coord)


# --- API tokens -------------------------------------------------------------------------


def token(username, password=PASSWORD, **extra):
    return APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password, **extra}, format="json"
    )


def test_api_token_needs_a_code_for_two_factor_users(coord):
    device, codes = authenticator(coord)
    missing = token("cora")
    assert missing.status_code == 400
    assert "otp_token" in missing.json()["errors"]
    wrong = token("cora", otp_token="000000")
    assert wrong.status_code == 401
    assert AccessAttempt.objects.filter(username="cora").exists()  # counted
    device.refresh_from_db()
    device.throttle_reset()
    right = token("cora", otp_token=otp_code(device, steps_ahead=1))
    assert right.status_code == 200 and right.json()["token"]
    assert token("cora", otp_token=codes[0]).status_code == 200  # a recovery code, once
    assert token("cora", otp_token=codes[0]).status_code == 401


def test_api_token_refused_until_two_factor_is_set_up(coord):
    response = token("cora")
    assert response.status_code == 403
    assert "website" in response.json()["detail"]


def test_api_token_for_a_plain_volunteer_needs_no_code(vol):
    assert token("vic").status_code == 200


def test_wrong_api_codes_lock_out(coord, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    authenticator(coord)
    for _n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert token("cora", otp_token="111111").status_code == 401
    assert token("cora", otp_token="111111").status_code == 429


# --- pages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/two-factor/",
        "/accounts/two-factor/setup/",
        "/accounts/lockouts/",
        "/accounts/login/",
    ],
)
def test_pages_have_no_inline_script_or_style(path, settings):
    settings.OTP_REQUIRED = False
    client = Client()
    client.force_login(f.coordinator_user(username="page-coord"))
    body = client.get(path).content.decode()
    assert not inline_code(body)
