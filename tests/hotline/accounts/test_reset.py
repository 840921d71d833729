"""Password reset by SMS code: a coordinator sends it, the volunteer sets a new password."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from hotline.accounts.reset import ResetRefused, password_reset_redeem, password_reset_send
from hotline.accounts.tokens import api_token_find, api_token_issue
from hotline.models import AuditLog, Message, PasswordResetCode
from tests.support import factories as f

pytestmark = pytest.mark.django_db

START = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)
NEW = "tea-and-quiet-evenings"


@pytest.fixture
def clock_start():
    return START


@pytest.fixture
def vol(clock):
    v = f.volunteer(
        display_name="王芳", phone_number="+8613900139001", user_kw={"username": "wangfang"}
    )
    v.user.set_password("old-password-77")
    v.user.save()
    return v


def _code(volunteer) -> str:
    body = (
        Message.objects.filter(to=volunteer.phone_number, purpose="password_reset")
        .latest("id")
        .body
    )
    return re.search(r"\b(\d{6})\b", body).group(1)


def test_a_coordinator_sends_a_code_and_the_volunteer_sets_a_new_password(vol, coordinator):
    token = api_token_issue(user=vol.user)
    response = APIClient()
    response.force_authenticate(coordinator)
    sent = response.post(f"/api/v1/volunteers/{vol.pk}/password-reset/")
    assert sent.status_code == 202, sent.content
    message = Message.objects.get(purpose="password_reset")
    assert message.to == "+8613900139001" and "wangfang" in message.body
    assert PasswordResetCode.objects.get().code_digest != _code(vol)  # only a hash is kept

    page = Client()
    form = page.get("/accounts/reset/").content.decode()
    assert 'name="code"' in form
    done = page.post(
        "/accounts/reset/",
        {"username": "wangfang", "code": _code(vol), "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    assert "Your new password is set" in done.content.decode()
    vol.user.refresh_from_db()
    assert vol.user.check_password(NEW)
    assert api_token_find(key=token.key) is None  # like any password change
    assert AuditLog.objects.filter(action="password.reset_sent", actor=coordinator).exists()
    assert AuditLog.objects.filter(action="password.reset", actor=vol.user).exists()


def test_a_code_works_once(vol, coordinator):
    password_reset_send(volunteer=vol, by=coordinator)
    code = _code(vol)
    password_reset_redeem(username="wangfang", code=code, new_password=NEW)
    with pytest.raises(ResetRefused):
        password_reset_redeem(username="wangfang", code=code, new_password="another-long-phrase")
    vol.user.refresh_from_db()
    assert vol.user.check_password(NEW)


def test_wrong_guesses_use_the_code_up(vol, coordinator, settings):
    settings.PASSWORD_RESET_CODE_ATTEMPTS = 3
    password_reset_send(volunteer=vol, by=coordinator)
    right = _code(vol)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(3):
        with pytest.raises(ResetRefused):
            password_reset_redeem(username="wangfang", code=wrong, new_password=NEW)
    with pytest.raises(ResetRefused):  # even the right code, now
        password_reset_redeem(username="wangfang", code=right, new_password=NEW)
    vol.user.refresh_from_db()
    assert vol.user.check_password("old-password-77")


def test_a_code_expires(vol, coordinator, clock, settings):
    password_reset_send(volunteer=vol, by=coordinator)
    clock.advance(minutes=settings.PASSWORD_RESET_CODE_MINUTES, seconds=1)
    with pytest.raises(ResetRefused):
        password_reset_redeem(username="wangfang", code=_code(vol), new_password=NEW)


def test_a_new_code_replaces_the_old_one(vol, coordinator):
    password_reset_send(volunteer=vol, by=coordinator)
    old = _code(vol)
    password_reset_send(volunteer=vol, by=coordinator)
    new = _code(vol)
    if old != new:
        with pytest.raises(ResetRefused):
            password_reset_redeem(username="wangfang", code=old, new_password=NEW)
    password_reset_redeem(username="wangfang", code=new, new_password=NEW)


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_code(vol, coordinator):
    password_reset_send(volunteer=vol, by=coordinator)
    with pytest.raises(ResetRefused) as unknown:
        password_reset_redeem(username="nobody", code=_code(vol), new_password=NEW)
    with pytest.raises(ResetRefused) as wrong:
        password_reset_redeem(username="wangfang", code="000000x", new_password=NEW)
    assert unknown.value.messages == wrong.value.messages


def test_a_weak_password_is_refused_and_the_code_still_works(vol, coordinator):
    password_reset_send(volunteer=vol, by=coordinator)
    page = Client()
    page.cookies["django_language"] = "zh-hans"
    response = page.post(
        "/accounts/reset/",
        {
            "username": "wangfang",
            "code": _code(vol),
            "new_password1": "wangfang",
            "new_password2": "wangfang",
        },
    )
    assert response.status_code == 200
    vol.user.refresh_from_db()
    assert vol.user.check_password("old-password-77")
    password_reset_redeem(username="wangfang", code=_code(vol), new_password=NEW)


def test_who_may_send_a_code(vol, coordinator, volunteer):
    staff = f.volunteer(
        phone_number="+8613900139002", user_kw={"username": "staffer", "is_staff": True}
    )
    as_coordinator = APIClient()
    as_coordinator.force_authenticate(coordinator)
    assert as_coordinator.post(f"/api/v1/volunteers/{staff.pk}/password-reset/").status_code == 403
    as_volunteer = APIClient()
    as_volunteer.force_authenticate(volunteer.user)
    assert as_volunteer.post(f"/api/v1/volunteers/{vol.pk}/password-reset/").status_code in (
        403,
        404,
    )
    root = APIClient()
    root.force_authenticate(f.user(username="root", is_staff=True, is_superuser=True))
    assert root.post(f"/api/v1/volunteers/{staff.pk}/password-reset/").status_code == 202
    assert list(Message.objects.filter(purpose="password_reset").values_list("to", flat=True)) == [
        "+8613900139002"
    ]


def test_the_admin_action_sends_codes(vol):
    root = f.user(username="root", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(root)
    response = admin.post(
        "/admin/hotline/volunteer/",
        {"action": "send_password_reset", "_selected_action": [vol.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert Message.objects.filter(purpose="password_reset", to=vol.phone_number).count() == 1


def test_the_login_page_links_the_reset_page():
    body = Client().get("/accounts/login/").content.decode()
    assert 'href="/accounts/reset/"' in body
