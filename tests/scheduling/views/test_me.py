"""The My shifts page: upcoming and past, co-volunteers, confirm, offer, subscribe."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from scheduling.feeds import tokens
from scheduling.models import Assignment, SwapRequest
from tests.support import factories as f
from tests.support.html import inline_code
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(clock, settings):
    settings.COORDINATOR_CONTACT = "Ms Wang, +86 371 5555 0000"
    hotline = london_hotline()
    roster = published_roster(hotline)
    amy = f.volunteer(display_name="Amy", language="en")
    ben = f.volunteer(display_name="Ben", phone_number="+447700900123")
    upcoming = f.shift(
        roster_=roster, starts_at=local(2027, 3, 27, 20), ends_at=local(2027, 3, 28, 8)
    )
    past = f.shift(roster_=roster, starts_at=local(2027, 3, 16, 9), hours=6)
    a_up = f.assignment(shift_=upcoming, volunteer_=amy)
    f.assignment(shift_=upcoming, volunteer_=ben)
    a_past = f.assignment(shift_=past, volunteer_=amy)
    return {"amy": amy, "ben": ben, "a_up": a_up, "a_past": a_past, "roster": roster}


def test_page_lists_upcoming_and_past_with_local_times_and_co_volunteers(scene, client):
    client.force_login(scene["amy"].user)
    response = client.get(reverse("scheduling:my-shifts"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "2027-03-27 20:00–08:00" in page  # London local time, not UTC or Shanghai
    assert "2027-03-16 09:00–15:00" in page
    assert "Ben" in page and "+447700900123" not in page
    assert "Ms Wang" in page
    assert 'name="viewport"' in page


def test_past_shifts_go_back_60_days_and_point_to_the_service_record(scene, client, clock):
    """Past shifts are those that ended in the last 60 days (read from the shifts' start,
    bounded by the longest shift, 24 h): a 24-hour shift ending on the edge is listed, one
    ending a minute earlier and a year-old one are not; older service is on My hours."""
    edge = clock.now - dt.timedelta(days=60)
    roster, amy = scene["roster"], scene["amy"]
    for starts, hours in [
        (edge - dt.timedelta(hours=24), 24),
        (edge - dt.timedelta(hours=6, minutes=1), 6),
        (local(2026, 3, 2, 9), 6),
    ]:
        f.assignment(shift_=f.shift(roster_=roster, starts_at=starts, hours=hours), volunteer_=amy)
    client.force_login(amy.user)
    page = client.get(reverse("scheduling:my-shifts")).content.decode()
    london = scene["roster"].hotline.tz
    assert (edge - dt.timedelta(hours=24)).astimezone(london).strftime("%Y-%m-%d %H:%M") in page
    assert (edge - dt.timedelta(hours=6, minutes=1)).astimezone(london).strftime(
        "%Y-%m-%d %H:%M"
    ) not in page
    assert "2026-03-02" not in page
    assert reverse("scheduling:my-hours") in page.split("Past shifts", 1)[1]


def test_page_offers_webcal_https_copy_and_server_qr(scene, client):
    client.force_login(scene["amy"].user)
    page = client.get(reverse("scheduling:my-shifts")).content.decode()
    token = tokens.calendar_token_get(user=scene["amy"].user).token
    assert f"webcal://testserver/calendar/{token}.ics" in page
    assert f"http://testserver/calendar/{token}.ics" in page
    assert "<svg" in page
    # The copy button works through static/js/site.js (no inline script).
    assert 'data-copy-from="feed-url"' in page and 'id="feed-url"' in page
    assert "/static/js/site.js" in page
    assert inline_code(page) == []  # the QR code is drawn inline, but with no style=
    # Nothing loads from elsewhere (a bare "cdn" test failed on a CSRF token containing it).
    assert all(src.startswith("/") for src in re.findall(r'src="([^"]*)"', page))
    assert not re.search(r"//[\w.-]*(cdn|unpkg|jsdelivr|googleapis|gstatic)", page, re.I)


def test_page_query_count_does_not_grow(scene, client, django_assert_max_num_queries):
    client.force_login(scene["amy"].user)
    client.get(reverse("scheduling:my-shifts"))
    for i in range(15):
        s = f.shift(
            roster_=scene["roster"],
            starts_at=local(2027, 3, 29, 0) + dt.timedelta(hours=10 * i),
            hours=3,
        )
        f.assignment(shift_=s, volunteer_=scene["amy"])
        f.assignment(shift_=s, volunteer_=f.volunteer())
    with django_assert_max_num_queries(12):
        client.get(reverse("scheduling:my-shifts"))


def test_confirm_and_offer_from_the_page(scene, client):
    client.force_login(scene["amy"].user)
    client.post(reverse("scheduling:my-shift-confirm", args=[scene["a_up"].pk]))
    assert Assignment.objects.get(pk=scene["a_up"].pk).confirmed_at is not None
    client.post(reverse("scheduling:my-shift-offer", args=[scene["a_up"].pk]), {"kind": "offer"})
    assert SwapRequest.objects.get().assignment_id == scene["a_up"].pk
    assert "Withdraw" in client.get(reverse("scheduling:my-shifts")).content.decode()


def test_cannot_confirm_someone_elses_shift(scene, client):
    client.force_login(scene["ben"].user)
    assert (
        client.post(reverse("scheduling:my-shift-confirm", args=[scene["a_up"].pk])).status_code
        == 404
    )


def test_rotate_from_the_page(scene, client):
    client.force_login(scene["amy"].user)
    old = tokens.calendar_token_get(user=scene["amy"].user).token
    client.post(reverse("scheduling:my-calendar-rotate"), {"kind": "shifts"})
    assert client.get(f"/calendar/{old}.ics").status_code == 404


def test_reminder_opt_out_from_the_page(scene, client):
    from scheduling.reminders import reminders_enabled

    client.force_login(scene["amy"].user)
    client.post(reverse("scheduling:my-reminders"), {"enabled": "0"})
    assert not reminders_enabled(scene["amy"])


def test_login_required_and_coordinator_redirected(client, coordinator, clock):
    assert client.get(reverse("scheduling:my-shifts")).status_code == 302
    client.force_login(coordinator)
    assert client.get(reverse("scheduling:my-shifts"))["Location"] == reverse(
        "scheduling:swap-list"
    )
    assert client.get(reverse("scheduling:swap-list")).status_code == 200
