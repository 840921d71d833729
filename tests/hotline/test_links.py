"""One joiner for absolute links (hotline.links.site_url), and every link that uses it: the
escalation SMS, the roster-change and drop SMS, calendar feed URLs, the auto-fill status URL.

Before it, an SMS sent without SITE_URL carried a bare path for swaps and roster changes but
http://127.0.0.1:8000 for escalations, and the auto-fill status URL ignored SITE_URL; now
every link follows the same order: SITE_URL, else the request's address, else
http://127.0.0.1:8000."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from api.serializers.roster_build import autofill_status_url
from hotline.crisis.escalations import escalation_link
from hotline.links import site_url
from hotline.models import Escalation
from scheduling import services, swaps
from scheduling.feeds import tokens
from scheduling.models import AutofillRun
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_site_url(settings):
    settings.SITE_URL = ""
    return settings


@pytest.fixture
def site(settings):
    # A base with a path and a trailing slash: both are kept, no slash is doubled.
    settings.SITE_URL = "https://roster.example.org/hotline/"
    return settings


def test_site_url_joins_site_url_with_a_path_prefix(site):
    assert site_url("/me/shifts/") == "https://roster.example.org/hotline/me/shifts/"
    assert site_url("me/shifts/") == "https://roster.example.org/hotline/me/shifts/"


def test_site_url_prefers_site_url_to_the_request(site):
    request = RequestFactory().get("/", HTTP_HOST="localhost")
    assert site_url("/x/", request=request) == "https://roster.example.org/hotline/x/"


def test_site_url_without_site_url_takes_the_request_address(no_site_url):
    request = RequestFactory().get("/", HTTP_HOST="localhost:8080")
    assert site_url("/x/", request=request) == "http://localhost:8080/x/"


def test_site_url_without_site_url_or_request_is_the_development_server(no_site_url):
    assert site_url("/me/shifts/") == "http://127.0.0.1:8000/me/shifts/"


def test_escalation_link(no_site_url, settings):
    escalation = Escalation(pk=42)
    assert escalation_link(escalation) == "http://127.0.0.1:8000/crisis/escalations/42/"
    settings.SITE_URL = "https://roster.example.org"
    assert escalation_link(escalation) == "https://roster.example.org/crisis/escalations/42/"


@pytest.fixture
def roster_scene(clock, outbox):
    roster = published_roster(london_hotline())
    amy = f.volunteer(display_name="Amy")
    shift = f.shift(roster_=roster, starts_at=local(2027, 3, 24, 9), hours=6)
    return {"roster": roster, "amy": amy, "assignment": f.assignment(shift_=shift, volunteer_=amy)}


def _bodies(outbox, word: str) -> list[str]:
    return [m["body"] for m in outbox if word in m["body"]]


def test_roster_change_sms_links_to_my_shifts(roster_scene, outbox, no_site_url):
    services.roster_publish(roster=roster_scene["roster"])
    (body,) = _bodies(outbox, "Details:")
    # Was "Details: /me/shifts/", a path no phone can open.
    assert body.endswith("Details: http://127.0.0.1:8000/me/shifts/")


def test_roster_change_sms_link_from_site_url(roster_scene, outbox, site):
    services.roster_publish(roster=roster_scene["roster"])
    (body,) = _bodies(outbox, "Details:")
    assert body.endswith("Details: https://roster.example.org/hotline/me/shifts/")


def test_drop_sms_links_to_the_swaps_page(roster_scene, outbox, site):
    f.volunteer(display_name="Ben")
    swaps.swap_offer(
        assignment=roster_scene["assignment"], volunteer=roster_scene["amy"], kind="drop"
    )
    bodies = _bodies(outbox, "TAKE")
    assert bodies
    assert all(b.endswith("open https://roster.example.org/hotline/swaps/") for b in bodies)


def test_feed_urls(volunteer, no_site_url, settings):
    token = tokens.calendar_token_get(user=volunteer.user)
    request = RequestFactory().get("/")
    urls = tokens.feed_urls(request, token)
    assert urls["url"] == f"http://testserver/calendar/{token.token}.ics"
    assert urls["webcal_url"] == f"webcal://testserver/calendar/{token.token}.ics"
    settings.SITE_URL = "https://roster.example.org"
    assert tokens.feed_urls(request, token)["url"] == (
        f"https://roster.example.org/calendar/{token.token}.ics"
    )


def test_autofill_status_url(no_site_url, settings):
    run = AutofillRun.objects.create(roster=f.roster())
    request = RequestFactory().get("/")
    assert autofill_status_url(request, run) == f"http://testserver/api/v1/autofill/{run.pk}/"
    # It used to ignore SITE_URL (unlike the feed URLs in the same API).
    settings.SITE_URL = "https://roster.example.org"
    assert autofill_status_url(request, run) == (
        f"https://roster.example.org/api/v1/autofill/{run.pk}/"
    )
