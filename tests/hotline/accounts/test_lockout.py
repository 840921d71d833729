"""Sign-in lockouts (django-axes): per account and per client address, on the login page,
the admin login and the API token endpoint; counted in the database, so every worker
process sees the same failures; keyed on the real client address; lifted by coordinators,
superusers and the `unlock_login` command."""

import datetime as dt
import io
import os
import subprocess
import sys
import textwrap

import pytest
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from hotline.accounts import lockout
from hotline.accounts.twofactor import has_two_factor
from tests.support import factories as f
from tests.support.accounts import authenticator

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
PASSWORD = "right-password-77"


@pytest.fixture
def anna(db):
    """Staff, so her right password opens the admin too (OTP_REQUIRED is off in tests)."""
    return f.user(username="anna", password=PASSWORD, is_staff=True)


@pytest.fixture
def bea(db):
    """A volunteer (not staff): coordinators may lift her lockout."""
    return f.volunteer(user_kw={"username": "bea", "password": PASSWORD}).user


def web_login(client, username, password, path="/accounts/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def api_login(client, username, password, **extra):
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json", **extra
    )


PATHS = {
    "login page": lambda client, u, p, **kw: web_login(client, u, p, **kw),
    "admin login": lambda client, u, p, **kw: web_login(client, u, p, "/admin/login/", **kw),
    "api token": lambda client, u, p, **kw: api_login(client, u, p, **kw),
}


def signed_in(path: str, response) -> bool:
    if path == "api token":
        return response.status_code == 200
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


@pytest.fixture
def make_client():
    def make(path):
        return APIClient() if path == "api token" else Client()

    return make


# --- per account ------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_account_locks_after_the_failure_limit_even_with_the_right_password(
    anna, path, make_client
):
    attempt = PATHS[path]
    client = make_client(path)
    for _n in range(LIMIT - 1):
        assert attempt(client, "anna", "wrong").status_code in (200, 401)
    # The limit-th failure locks: 429 from then on, whatever the password.
    assert attempt(client, "anna", "wrong").status_code == 429
    refused = attempt(client, "anna", PASSWORD)
    assert refused.status_code == 429
    assert not signed_in(path, refused)
    assert int(refused["Retry-After"]) > 0


@pytest.mark.parametrize("path", PATHS)
def test_account_lock_holds_from_another_address(anna, path, make_client):
    attempt = PATHS[path]
    for n in range(LIMIT):
        attempt(make_client(path), "anna", "wrong", REMOTE_ADDR=f"198.51.100.{n + 1}")
    # Every failure came from a different address; the account is locked all the same.
    response = attempt(make_client(path), "anna", PASSWORD, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429


def test_failures_on_one_path_count_on_the_others(anna):
    """One count per account, whichever door the guesses come through."""
    web_login(Client(), "anna", "wrong")
    web_login(Client(), "anna", "wrong", path="/admin/login/")
    for _n in range(LIMIT - 2):
        api_login(APIClient(), "anna", "wrong")
    assert web_login(Client(), "anna", PASSWORD).status_code == 429


# --- per client address -----------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_address_locks_after_failures_on_many_accounts(anna, path, make_client):
    attempt = PATHS[path]
    for n in range(LIMIT):
        attempt(make_client(path), f"guess{n}", "wrong", REMOTE_ADDR="192.0.2.50")
    # anna herself has no failures; her sign-in from the guessing address is refused ...
    response = attempt(make_client(path), "anna", PASSWORD, REMOTE_ADDR="192.0.2.50")
    assert response.status_code == 429
    # ... and works from her own.
    assert signed_in(path, attempt(make_client(path), "anna", PASSWORD, REMOTE_ADDR="192.0.2.51"))


@pytest.mark.parametrize("path", PATHS)
def test_forged_x_forwarded_for_does_not_dodge_the_address_lock(anna, path, make_client):
    attempt = PATHS[path]
    for n in range(LIMIT):
        attempt(
            make_client(path),
            f"guess{n}",
            "wrong",
            REMOTE_ADDR="192.0.2.60",
            HTTP_X_FORWARDED_FOR=f"10.9.8.{n + 1}",
        )
    response = attempt(
        make_client(path),
        "anna",
        PASSWORD,
        REMOTE_ADDR="192.0.2.60",
        HTTP_X_FORWARDED_FOR="10.9.8.200",
    )
    assert response.status_code == 429
    # Every attempt, the refused one too, was counted against the real address.
    assert AccessAttempt.objects.filter(ip_address="192.0.2.60").count() == LIMIT + 1
    assert not AccessAttempt.objects.filter(ip_address__startswith="10.9.8.").exists()


def test_behind_a_proxy_the_address_our_proxy_appended_is_counted(anna, settings):
    settings.BEHIND_PROXY = True
    proxy = "127.0.0.1"
    for n in range(LIMIT):
        # The client puts a different address first each time; our proxy appends the real one.
        web_login(
            Client(),
            f"guess{n}",
            "wrong",
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n + 1}, 203.0.113.7",
        )
    assert (
        web_login(
            Client(), "anna", PASSWORD, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.7"
        ).status_code
        == 429
    )
    # Another real client behind the same proxy is not locked out with them.
    response = web_login(
        Client(), "anna", PASSWORD, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.8"
    )
    assert response.status_code == 302


def test_client_ip_reads_forwarded_for_only_behind_a_proxy(rf, settings):
    request = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.1.1.1, 198.51.100.2")
    settings.BEHIND_PROXY = False
    assert lockout.client_ip(request) == "192.0.2.1"
    settings.BEHIND_PROXY = True
    assert lockout.client_ip(request) == "198.51.100.2"
    settings.TRUSTED_PROXY_COUNT = 2  # two proxies of ours: the entry before the last one
    assert lockout.client_ip(request) == "10.1.1.1"
    settings.TRUSTED_PROXY_COUNT = 3  # fewer entries than proxies: the header is not ours
    assert lockout.client_ip(request) == "192.0.2.1"
    garbage = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="not-an-address")
    settings.TRUSTED_PROXY_COUNT = 1
    assert lockout.client_ip(garbage) is None


# --- shared by every worker -------------------------------------------------------------


def _forget_process_state():
    """What a second worker process would start with: empty caches, a fresh axes handler."""
    for cache in caches.all():
        cache.clear()
    AxesProxyHandler.implementation = None


def test_two_clients_in_two_workers_add_up_to_one_count(anna):
    first, second = Client(), Client()
    for _n in range(LIMIT // 2):
        web_login(first, "anna", "wrong")
    _forget_process_state()
    for _n in range(LIMIT - LIMIT // 2 - 1):
        web_login(second, "anna", "wrong")
    assert web_login(second, "anna", "wrong").status_code == 429
    _forget_process_state()
    assert web_login(first, "anna", PASSWORD).status_code == 429


def test_the_count_lives_in_the_database(anna):
    for _n in range(LIMIT - 1):
        web_login(Client(), "anna", "wrong")
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
    rows = AccessAttempt.objects.filter(username="anna")
    assert sum(rows.values_list("failures_since_start", flat=True)) == LIMIT - 1
    # Nothing kept in process memory decides: clear it all, and the next failure still locks.
    _forget_process_state()
    assert web_login(Client(), "anna", "wrong").status_code == 429
    # And what the database says is what counts: removing the rows lifts the lock.
    AccessAttempt.objects.all().delete()
    assert web_login(Client(), "anna", PASSWORD).status_code == 302


WORKER = textwrap.dedent(
    """
    import django
    django.setup()
    from django.test import Client
    for _n in range({failures}):
        Client().post("/accounts/login/", {{"username": "anna", "password": "wrong"}})
    """
)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_failures_in_a_separate_process_count_here(anna):
    """A real second worker (another Python process on the same database) makes failures;
    this process sees them and locks the account at the limit."""
    first = LIMIT - 2
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
    }
    result = subprocess.run(
        [sys.executable, "-c", WORKER.format(failures=first)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == first
    assert web_login(Client(), "anna", "wrong").status_code == 200  # limit - 1
    assert web_login(Client(), "anna", "wrong").status_code == 429  # the limit


# --- what a locked-out person is told ---------------------------------------------------


def _lock(username="anna", **extra):
    for _n in range(LIMIT):
        response = web_login(Client(), username, "wrong", **extra)
    return response


def test_lockout_page_says_until_when_and_whom_to_contact(anna, settings):
    settings.COORDINATOR_CONTACT = "Ms Wang, 0371-6512-0000"
    response = _lock()
    page = response.content.decode()
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in page
    assert "Ms Wang, 0371-6512-0000" in page
    assert "15 minutes" in page
    until = AccessAttempt.objects.get().attempt_time + settings.AXES_COOLOFF_TIME
    assert f"try again after {timezone.localtime(until):%H:%M}" in page


def test_lockout_page_in_chinese(anna):
    for _n in range(LIMIT):
        response = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").post(
            "/accounts/login/", {"username": "anna", "password": "wrong"}
        )
    page = response.content.decode()
    assert response.status_code == 429
    assert "登录失败次数过多" in page
    assert "协调员" in page


def test_api_lockout_is_json_with_code_and_retry_after(anna):
    for _n in range(LIMIT):
        response = api_login(APIClient(), "anna", "wrong")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "locked_out"
    assert "Too many failed sign-in attempts" in body["detail"]
    assert dt.datetime.fromisoformat(body["retry_after"]) > dt.datetime.now(dt.UTC)
    assert 0 < int(response["Retry-After"]) <= 15 * 60


def test_api_lockout_in_chinese(anna):
    for _n in range(LIMIT):
        response = api_login(APIClient(), "anna", "wrong", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "登录失败次数过多" in response.json()["detail"]


def test_the_lock_lifts_after_the_cool_off(anna):
    _lock()
    assert web_login(Client(), "anna", PASSWORD).status_code == 429
    # Sixteen minutes later (each refused try restarted the 15-minute wait: count from it).
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - dt.timedelta(minutes=16)
    )
    assert web_login(Client(), "anna", PASSWORD).status_code == 302


def test_signing_in_to_ones_own_account_does_not_reset_guesses_at_another(anna, bea):
    """bea guesses at anna's password and signs in as herself in between: the failures
    from her address against anna still add up."""
    for _n in range(LIMIT - 1):
        web_login(Client(), "anna", "wrong")
        assert web_login(Client(), "bea", PASSWORD).status_code == 302
    assert web_login(Client(), "anna", "wrong").status_code == 429


def test_api_token_request_creates_no_session(anna):
    response = api_login(APIClient(), "anna", PASSWORD)
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies


# --- lifting a lockout ------------------------------------------------------------------


def test_coordinator_unlocks_a_volunteer_on_the_lockouts_page(bea, coordinator):
    _lock("bea")
    page = Client()
    page.force_login(coordinator)
    listing = page.get("/accounts/lockouts/")
    assert listing.status_code == 200 and "bea" in listing.content.decode()
    response = page.post("/accounts/lockouts/", {"username": "bea"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="bea").exists()
    assert web_login(Client(), "bea", PASSWORD).status_code == 302


def test_coordinator_cannot_unlock_a_staff_account(anna, coordinator):
    _lock()
    page = Client()
    page.force_login(coordinator)
    page.post("/accounts/lockouts/", {"username": "anna"})
    assert AccessAttempt.objects.filter(username="anna").exists()


def test_coordinator_cannot_unlock_staff_or_an_address(coordinator):
    f.user(username="boss", password=PASSWORD, is_staff=True)
    _lock("boss", REMOTE_ADDR="192.0.2.77")
    page = Client()
    page.force_login(coordinator)
    assert "(a superuser can unlock this)" in page.get("/accounts/lockouts/").content.decode()
    page.post("/accounts/lockouts/", {"username": "boss"})
    page.post("/accounts/lockouts/", {"ip_address": "192.0.2.77"})
    assert AccessAttempt.objects.filter(username="boss").exists()


def test_superuser_unlocks_staff_and_addresses():
    f.user(username="boss", password=PASSWORD, is_staff=True)
    root = f.user(username="root", is_superuser=True, is_staff=True)
    _lock("boss", REMOTE_ADDR="192.0.2.77")
    page = Client()
    page.force_login(root)
    page.post("/accounts/lockouts/", {"ip_address": "192.0.2.77"})
    assert not AccessAttempt.objects.exists()


def test_volunteer_cannot_see_the_lockouts_page(bea, volunteer):
    page = Client()
    page.force_login(volunteer.user)
    assert page.get("/accounts/lockouts/").status_code == 403
    _lock("bea")
    assert page.post("/accounts/lockouts/", {"username": "bea"}).status_code == 403
    assert AccessAttempt.objects.filter(username="bea").exists()


def test_superuser_unlocks_in_the_admin(anna):
    _lock()
    root = f.user(username="root", is_superuser=True, is_staff=True)
    admin = Client()
    admin.force_login(root)
    attempt = AccessAttempt.objects.get()
    assert admin.get("/admin/axes/accessattempt/").status_code == 200
    response = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert web_login(Client(), "anna", PASSWORD).status_code == 302


def test_unlock_login_command(anna):
    _lock(REMOTE_ADDR="192.0.2.88")
    out = io.StringIO()
    call_command("unlock_login", "--list", stdout=out)
    assert f"anna: {LIMIT} failures" in out.getvalue()
    assert "address 192.0.2.88" in out.getvalue()
    call_command("unlock_login", "anna", stdout=out)
    assert "Removed 1 failure record(s)." in out.getvalue()
    assert web_login(Client(), "anna", PASSWORD, REMOTE_ADDR="192.0.2.89").status_code == 302


def test_unlock_login_command_resets_two_factor(anna):
    authenticator(anna)
    call_command("unlock_login", "anna", "--reset-two-factor", stdout=io.StringIO())
    assert not has_two_factor(anna)
