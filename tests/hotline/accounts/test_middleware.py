"""The idle timeout: privileged users after SESSION_IDLE_MINUTES_PRIVILEGED (30), volunteers
after SESSION_IDLE_MINUTES (12 h); activity keeps a session alive; sessions no longer last
two weeks."""

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.support import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(clock):
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def test_session_cookie_no_longer_lasts_two_weeks():
    assert django_settings.SESSION_COOKIE_AGE == 12 * 60 * 60
    assert django_settings.SESSION_IDLE_MINUTES_PRIVILEGED == 30
    assert django_settings.SESSION_IDLE_MINUTES == 12 * 60


def test_coordinator_is_signed_out_after_30_idle_minutes(signed_in, clock, coordinator):
    client = signed_in(coordinator)
    clock.advance(minutes=29)
    assert client.get("/swaps/").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/swaps/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fswaps%2F"
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"]).content.decode()
    assert "signed out after 30 minutes without activity" in page


def test_supervisor_counts_as_privileged(signed_in, clock, supervisor):
    client = signed_in(supervisor.user)
    clock.advance(minutes=31)
    assert client.get("/me/shifts/").status_code == 302


def test_volunteer_keeps_a_working_day(signed_in, clock, volunteer):
    client = signed_in(volunteer.user)
    clock.advance(hours=11, minutes=59)
    assert client.get("/me/shifts/").status_code == 200
    clock.advance(hours=12, minutes=1)
    assert client.get("/me/shifts/").status_code == 302


def test_activity_keeps_the_session_alive(signed_in, clock, coordinator):
    client = signed_in(coordinator)
    for _n in range(8):  # two hours, a page every quarter of an hour
        clock.advance(minutes=15)
        assert client.get("/swaps/").status_code == 200


def test_the_session_expires_with_the_idle_limit(signed_in, clock, coordinator):
    client = signed_in(coordinator)
    assert client.session.get_expiry_age() == 35 * 60  # the limit and a margin
    clock.advance(minutes=2)
    client.get("/swaps/")
    assert client.session.get_expiry_age() == 35 * 60


def test_idle_api_session_is_refused_not_redirected(signed_in, clock, coordinator):
    client = signed_in(coordinator)
    assert client.get("/api/v1/hotlines/").status_code == 200
    clock.advance(minutes=45)
    response = client.get("/api/v1/hotlines/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")


def test_idle_limits_come_from_settings(signed_in, clock, settings):
    settings.SESSION_IDLE_MINUTES = 5
    client = signed_in(f.volunteer().user)
    clock.advance(minutes=6)
    assert client.get("/me/shifts/").status_code == 302
