"""Pages refuse far-off dates with a message (or ignore them), never a 500: the time-off
form, the board's `?week=`, the admin's roster and shift forms."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from hotline.dates import BoundedDateTimeField, date_in_range, validate_date_range
from scheduling.models import Roster, TimeOff
from tests.support import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "9999-12-31T23:59", "1999-12-31T23:59"])
def test_time_off_form_refuses_far_dates_with_a_message(client, clock, value):
    volunteer = f.volunteer()
    client.raise_request_exception = False
    client.force_login(volunteer.user)
    response = client.post(
        reverse("scheduling:my-availability"),
        {"action": "time_off", "starts_at": value, "ends_at": "2026-03-10T08:00"},
    )
    assert response.status_code in (200, 400)
    assert "between the years 2000 and 2100" in response.content.decode()
    assert not TimeOff.objects.exists()


@pytest.mark.parametrize("week", ["0001-01-01", "9999-12-31", "abc", "2026-13-01", "9" * 40])
def test_board_week_far_or_garbled_shows_the_roster_week(client, coordinator, week):
    roster = f.roster(hotline_=f.hotline())
    client.force_login(coordinator)
    response = client.get(reverse("scheduling:roster-board", args=[roster.pk]), {"week": week})
    assert response.status_code == 200 and response.context["week"] == roster.first_day


def test_admin_roster_form_refuses_year_one(client):
    client.force_login(f.user(is_superuser=True, is_staff=True))
    hotline = f.hotline()
    response = client.post(
        reverse("admin:scheduling_roster_add"),
        {"hotline": hotline.pk, "first_day": "0001-01-01", "last_day": "0001-01-07"},
    )
    assert response.status_code == 200 and not Roster.objects.exists()
    assert "between the years 2000 and 2100" in response.content.decode()


def test_the_bounds():
    assert date_in_range(f.at(2026, 3, 2)) and date_in_range(None)
    for far in (f.at(1999, 12, 31).date(), f.at(2100, 1, 2).date()):
        assert not date_in_range(far)
        with pytest.raises(ValidationError):
            validate_date_range(far)
    with pytest.raises(ValidationError):
        BoundedDateTimeField().clean("0001-01-01T00:00")


@pytest.mark.parametrize("bad", ["abc", "", "-3", "9" * 30, "١٢"])
@pytest.mark.parametrize("action", ["delete_window", "delete_time_off"])
def test_availability_page_non_numeric_id_is_not_found(client, bad, action):
    volunteer = f.volunteer()
    client.force_login(volunteer.user)
    response = client.post(reverse("scheduling:my-availability"), {"action": action, "id": bad})
    assert response.status_code == 404
