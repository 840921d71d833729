"""`seed_demo`, which `make run` loads: a published roster filled through the rule layer,
logins that work, and a second run that adds nothing."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from hotline.models import Hotline, Volunteer
from scheduling import rules
from scheduling.models import Assignment, Availability, Roster, Shift, TimeOff
from scheduling.selectors import roster_coverage

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_roster_is_published_full_and_keeps_every_rule():
    output = _seed()
    roster = Roster.objects.get()
    assert roster.is_published and Hotline.objects.count() == 1
    assert "0 left empty" in output, output
    coverage = roster_coverage(roster)
    assert coverage and all(c.complete for c in coverage)
    assignments = list(
        Assignment.objects.filter(status="active").select_related("shift__roster__hotline")
    )
    assert assignments
    for a in assignments:  # each seat would be accepted again by the rule layer
        assert not rules.check_assignment(
            shift=a.shift, volunteer=a.volunteer, role=a.role, ignore=a
        ), a
    # As the login page calls it (django-axes wants the request, to count failures by address).
    request = RequestFactory().post("/accounts/login/")
    assert (
        authenticate(request=request, username="coordinator", password="coordinator-demo")
        is not None
    )


def test_second_run_adds_nothing():
    _seed()
    before = (Volunteer.objects.count(), Assignment.objects.count(), Roster.objects.count())
    _seed()
    assert (Volunteer.objects.count(), Assignment.objects.count(), Roster.objects.count()) == before


def test_demo_data_passes_the_checks_every_edit_path_applies():
    """Windows, time off, rosters and shifts as seed_demo writes them would all be accepted
    by the admin, the pages and the API (no window that ends when it starts)."""
    _seed()
    records = [
        *Availability.objects.all(),
        *TimeOff.objects.all(),
        *Roster.objects.all(),
        *Shift.objects.all(),
    ]
    assert Availability.objects.exists() and TimeOff.objects.exists()
    for record in records:
        record.full_clean()


def test_a_later_run_rolls_the_demo_roster_forward(clock):
    import datetime as dt

    _seed()
    first = Roster.objects.get()
    clock.advance(days=22)  # the three weeks are nearly over
    _seed()
    rosters = list(Roster.objects.order_by("first_day"))
    assert len(rosters) == 2 and rosters[0] == first
    new = rosters[1]
    assert new.is_published and new.first_day == first.last_day + dt.timedelta(days=1)
    today = clock.now.astimezone(new.hotline.tz).date()
    assert new.first_day <= today + dt.timedelta(days=7) <= new.last_day
    assert Assignment.objects.filter(shift__roster=new, status="active").exists()
