"""A Content-Security-Policy on every answer (django-csp), which the pages satisfy: scripts,
styles and images from our own origin only, no inline script or style, no framing. Only the
two offline API docs pages may use inline styles (their vendor bundles add <style> tags);
no page may run an inline script."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.support import factories as f
from tests.support.html import inline_code
from tests.support.orgs import NOW, federation

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def fed(clock):
    clock.set(NOW)
    return federation()


def _pages(fed):
    roster = fed.draft["county_a"]
    return {
        "coordinator": [
            "/",
            reverse("scheduling:roster-detail", args=[roster.pk]),
            reverse("scheduling:roster-board", args=[roster.pk]),
            reverse("scheduling:swap-list"),
            "/calls/",
            "/calls/callbacks/",
            "/crisis/",
            reverse("crisis:escalation", args=[fed.escalation["county_a"].pk]),
            reverse("calls:report", args=[fed.call["county_a"].pk]),
            "/accounts/two-factor/",
            "/accounts/lockouts/",
        ],
        "volunteer": [
            "/",
            reverse("scheduling:my-shifts"),
            reverse("scheduling:my-availability"),
            "/crisis/",
        ],
    }


def test_every_page_sends_the_policy_and_has_no_inline_code(fed, client):
    people = {
        "coordinator": fed.coordinator["county_a"],
        "volunteer": fed.volunteer["county_a"].user,
    }
    for who, urls in _pages(fed).items():
        client.force_login(people[who])
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (who, url, response.status_code)
            rules = policy(response)
            assert rules["script-src"] == ["'self'"], url
            assert rules["style-src"] == ["'self'"], url
            assert rules["frame-ancestors"] == ["'none'"] and rules["object-src"] == ["'none'"]
            found = inline_code(response.content.decode())
            assert found == [], (url, [str(x) for x in found])


def test_sign_in_and_error_pages_carry_it_too(client):
    for url in ("/accounts/login/", "/no-such-page/"):
        response = client.get(url)
        assert policy(response)["default-src"] == ["'self'"], url


def test_api_and_admin_answers_carry_it(client):
    client.force_login(f.user(is_superuser=True, is_staff=True))
    for url in ("/api/v1/hotlines/", "/admin/"):
        assert "script-src 'self'" in client.get(url)["Content-Security-Policy"], url


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_api_docs_pages_may_style_inline_but_never_script(client, url):
    client.force_login(f.user(is_superuser=True, is_staff=True))
    rules = policy(client.get(url))
    assert rules["script-src"] == ["'self'"]
    assert "'unsafe-inline'" in rules["style-src"]


def test_calendar_files_and_304s_carry_no_policy_but_a_missing_feed_does(client):
    """A calendar app reads the feed and a browser downloads it; a 304 has no body. Neither
    is a document a browser renders, so the header is not built for them (most of the
    site's GET traffic is calendar apps revalidating). A 404 for an unknown token is an
    error page, and keeps it."""
    from scheduling.feeds import tokens

    f.assignment(shift_=f.shift(), volunteer_=(amy := f.volunteer()))
    url = reverse(
        "scheduling:calendar-feed", kwargs={"token": tokens.calendar_token_get(user=amy.user).token}
    )
    full = client.get(url)
    assert full.status_code == 200 and full["Content-Type"].startswith("text/calendar")
    assert "Content-Security-Policy" not in full
    again = client.get(url, headers={"if_none_match": full["ETag"]})
    assert again.status_code == 304
    assert "Content-Security-Policy" not in again
    missing = client.get("/calendar/not-a-token.ics")
    assert missing.status_code == 404
    assert policy(missing)["default-src"] == ["'self'"]
