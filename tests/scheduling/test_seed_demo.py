"""`seed_demo`, which `make run` loads: a published roster filled through the rule layer,
logins that work, and a second run that adds nothing."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from hotline.models import Hotline, Volunteer
from scheduling import rules
from scheduling.models import Assignment, Roster
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
