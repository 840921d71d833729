"""scheduling/validators.py: each check on its own, then each write path that used to answer
differently (the admin and the services let through what the API and the pages refused)
now giving the same answer with the same message."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from scheduling import services
from scheduling.availability import services as availability
from scheduling.forms import AvailabilityForm, TimeOffForm
from scheduling.models import Availability, Roster, Shift, TimeOff
from scheduling.validators import (
    validate_requirements,
    validate_roster_days,
    validate_shift_span,
    validate_time_off_span,
    validate_window,
)
from tests.support import factories as f

EMPTY_WINDOW = "A window cannot start and end at the same time."
TOO_LONG = "A roster covers at most a year."
NO_MOVE = "A shift cannot move to another roster."


def _messages(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict


# --- the checks ---------------------------------------------------------------------------------


def test_spans_end_after_they_start():
    start = f.at(2026, 3, 2, 8)
    validate_shift_span(start, start + dt.timedelta(minutes=1))
    validate_shift_span(None, start)  # nothing to compare yet
    for check, message in (
        (validate_shift_span, "A shift must end after it starts."),
        (validate_time_off_span, "Time off must end after it starts."),
    ):
        for end in (start, start - dt.timedelta(hours=1)):
            with pytest.raises(ValidationError) as refused:
                check(start, end)
            assert _messages(refused.value) == {"ends_at": [message]}


def test_a_window_is_not_empty_but_may_cross_midnight():
    validate_window(dt.time(20), dt.time(8))
    validate_window(dt.time(8), dt.time(20))
    validate_window(None, dt.time(8))
    with pytest.raises(ValidationError) as refused:
        validate_window(dt.time(0), dt.time(0))
    assert _messages(refused.value) == {"end_time": [EMPTY_WINDOW]}


def test_roster_days():
    first = dt.date(2026, 1, 1)
    validate_roster_days(first, first)
    validate_roster_days(first, first + dt.timedelta(days=366))
    with pytest.raises(ValidationError) as refused:
        validate_roster_days(first, first - dt.timedelta(days=1))
    assert _messages(refused.value) == {
        "last_day": ["The last day cannot be before the first day."]
    }
    with pytest.raises(ValidationError) as refused:
        validate_roster_days(first, first + dt.timedelta(days=367))
    assert _messages(refused.value) == {"last_day": [TOO_LONG]}


def test_requirements():
    validate_requirements(2, 2)
    with pytest.raises(ValidationError) as refused:
        validate_requirements(1, 2)
    assert list(_messages(refused.value)) == ["crisis_trained_required"]


def test_forms_use_the_same_checks():
    window = AvailabilityForm(
        {"weekday": 0, "start_time": "09:00", "end_time": "09:00", "kind": "available"}
    )
    assert not window.is_valid() and window.errors == {"end_time": [EMPTY_WINDOW]}
    off = TimeOffForm({"starts_at": "2026-03-02T10:00", "ends_at": "2026-03-02T09:00"})
    assert not off.is_valid()
    assert off.errors == {"ends_at": ["Time off must end after it starts."]}


# --- every write path gives the same answer ------------------------------------------------------


@pytest.fixture
def admin_client(client, db):
    client.force_login(f.user(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_empty_window_refused_by_admin_api_page_and_service(
    admin_client, volunteer, volunteer_api, client
):
    """The admin saved a 09:00–09:00 window (and seed_demo wrote 00:00–00:00 ones) while the
    API, the page and the service refused it."""
    data = {"weekday": 0, "start_time": "09:00", "end_time": "09:00", "kind": "available"}

    admin = admin_client.post(
        reverse("admin:scheduling_availability_add"), {**data, "volunteer": volunteer.pk}
    )
    assert admin.status_code == 200 and EMPTY_WINDOW in admin.content.decode()

    api = volunteer_api.post(
        "/api/v1/availability/", {**data, "volunteer": volunteer.pk}, format="json"
    )
    assert api.status_code == 400
    assert api.json()["errors"] == {"end_time": [EMPTY_WINDOW]}

    client.force_login(volunteer.user)
    page = client.post(reverse("scheduling:my-availability"), {**data, "action": "window"})
    assert page.status_code == 400 and EMPTY_WINDOW in page.content.decode()

    with pytest.raises(ValidationError) as refused:
        availability.availability_add(
            volunteer=volunteer,
            weekday=0,
            start_time=dt.time(9),
            end_time=dt.time(9),
            kind="available",
        )
    assert _messages(refused.value) == {"end_time": [EMPTY_WINDOW]}
    assert not Availability.objects.exists()


@pytest.mark.django_db
def test_time_off_ending_before_it_starts_refused_by_admin_and_service(admin_client, volunteer):
    response = admin_client.post(
        reverse("admin:scheduling_timeoff_add"),
        {
            "volunteer": volunteer.pk,
            "starts_at_0": "2026-03-02",
            "starts_at_1": "10:00:00",
            "ends_at_0": "2026-03-02",
            "ends_at_1": "09:00:00",
        },
    )
    assert response.status_code == 200
    assert "Time off must end after it starts." in response.content.decode()
    with pytest.raises(ValidationError):
        availability.time_off_add(
            volunteer=volunteer, starts_at=f.at(2026, 3, 2, 10), ends_at=f.at(2026, 3, 2, 9)
        )
    assert not TimeOff.objects.exists()


@pytest.mark.django_db
def test_roster_longer_than_a_year_refused_by_admin_api_and_service(admin_client, coordinator_api):
    """Only the API refused a roster of more than a year; the admin and roster_create (and so
    build_roster and seed_demo) accepted it."""
    hotline = f.hotline()
    first, last = dt.date(2026, 1, 1), dt.date(2027, 1, 3)

    admin = admin_client.post(
        reverse("admin:scheduling_roster_add"),
        {"hotline": hotline.pk, "first_day": first.isoformat(), "last_day": last.isoformat()},
    )
    assert admin.status_code == 200 and TOO_LONG in admin.content.decode()

    api = coordinator_api.post(
        "/api/v1/rosters/",
        {"hotline": hotline.pk, "first_day": first.isoformat(), "last_day": last.isoformat()},
        format="json",
    )
    assert api.status_code == 400 and api.json()["errors"] == {"last_day": [TOO_LONG]}

    with pytest.raises(ValidationError) as refused:
        services.roster_create(hotline=hotline, first_day=first, last_day=last)
    assert _messages(refused.value) == {"last_day": [TOO_LONG]}
    assert not Roster.objects.exists()


def _shift_form(shift: Shift, roster: Roster) -> dict:
    local_start, local_end = shift.local_start, shift.local_end
    return {
        "roster": roster.pk,
        "starts_at_0": local_start.date().isoformat(),
        "starts_at_1": local_start.time().isoformat(),
        "ends_at_0": local_end.date().isoformat(),
        "ends_at_1": local_end.time().isoformat(),
        "required_counsellors": shift.required_counsellors,
        "required_family_educators": shift.required_family_educators,
        "required_supervisors": shift.required_supervisors,
        "crisis_trained_required": shift.crisis_trained_required,
        "assignments-TOTAL_FORMS": 0,
        "assignments-INITIAL_FORMS": 0,
        "assignments-MIN_NUM_FORMS": 0,
        "assignments-MAX_NUM_FORMS": 0,
    }


@pytest.mark.django_db
def test_moving_a_shift_to_another_roster_refused_by_admin_api_and_service(
    admin_client, coordinator_api, settings
):
    """The API refused it; the admin's shift page moved the shift (its assignments with it)."""
    settings.TIME_ZONE = "Asia/Shanghai"  # the admin's form reads local wall times
    shift = f.shift()
    other = f.roster(first_day=dt.date(2026, 3, 9))

    admin = admin_client.post(
        reverse("admin:scheduling_shift_change", args=[shift.pk]), _shift_form(shift, other)
    )
    assert admin.status_code == 200 and NO_MOVE in admin.content.decode()

    api = coordinator_api.patch(f"/api/v1/shifts/{shift.pk}/", {"roster": other.pk}, format="json")
    assert api.status_code == 400 and api.json()["errors"] == {"roster": [NO_MOVE]}

    with pytest.raises(ValidationError) as refused:
        services.shift_update(shift=shift, roster=other)
    assert _messages(refused.value) == {"roster": [NO_MOVE]}
    assert Shift.objects.get(pk=shift.pk).roster_id == shift.roster_id

    # The same roster is no move: the admin saves the shift as before.
    same = admin_client.post(
        reverse("admin:scheduling_shift_change", args=[shift.pk]),
        _shift_form(shift, shift.roster),
    )
    assert same.status_code == 302
