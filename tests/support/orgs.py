"""A city federation over two county branches, and an unrelated organisation: for the tests
of who manages what (hotline/access.py). Each organisation has a hotline with a draft and a
published roster, a volunteer on a shift, an answered call with a report, an escalation, a
callback request and a claimed swap; and a coordinator (a volunteer record in it, no roles).

    city ── county_a
         └─ county_b
    other
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from hotline.crisis.escalations import escalation_raise
from hotline.crisis.reports import report_create
from hotline.models import CallbackRequest
from scheduling import swaps
from tests.support import factories as f
from tests.support.crisis import REPORT, answered_call

NOW = f.at(2026, 3, 2, 10)
ORGS = ("city", "county_a", "county_b", "other")


def federation() -> SimpleNamespace:
    s = SimpleNamespace()
    city = f.organisation(name="City federation")
    s.org = {
        "city": city,
        "county_a": f.organisation(name="County A", parent=city),
        "county_b": f.organisation(name="County B", parent=city),
        "other": f.organisation(name="Other city"),
    }
    s.hotline, s.draft, s.published, s.shift, s.volunteer, s.assignment = {}, {}, {}, {}, {}, {}
    s.call, s.report, s.escalation, s.callback, s.swap, s.coordinator = {}, {}, {}, {}, {}, {}
    for n, (key, org) in enumerate(s.org.items()):
        hotline = f.hotline(name=f"Line {key}", organisation=org)
        s.hotline[key] = hotline
        s.published[key] = f.roster(hotline_=hotline, status="published")
        s.draft[key] = f.roster(hotline_=hotline, first_day=dt.date(2026, 3, 9))
        s.shift[key] = f.shift(roster_=s.published[key], starts_at=f.at(2026, 3, 3, 8 + n))
        volunteer = f.volunteer(display_name=f"Volunteer {key}", organisation=org)
        s.volunteer[key] = volunteer
        s.assignment[key] = f.assignment(shift_=s.shift[key], volunteer_=volunteer)
        f.availability(volunteer_=volunteer, weekday=n, start="08:00", end="12:00")
        f.time_off(
            volunteer_=volunteer, starts_at=f.at(2026, 3, 20 + n), ends_at=f.at(2026, 3, 21 + n)
        )
        call = answered_call(hotline, volunteer, at=NOW)
        s.call[key] = call
        s.report[key] = report_create(
            call=call, by=volunteer.user, data={**REPORT, "risk_level": 1}, now=NOW
        )
        s.escalation[key] = escalation_raise(call=call, by=volunteer.user, reason="r", now=NOW)
        s.callback[key] = CallbackRequest.objects.create(
            call=answered_call(hotline, None, at=NOW),
            hotline=hotline,
            number="+8613800001234",
            requested_at=NOW,
        )
        offer = swaps.swap_offer(assignment=s.assignment[key], volunteer=volunteer, now=NOW)
        taker = f.volunteer(display_name=f"Taker {key}", organisation=org)
        s.swap[key] = swaps.swap_claim(swap=offer, volunteer=taker, now=NOW)
        s.coordinator[key] = f.volunteer(
            roles=(),
            user=f.coordinator_user(username=f"coord_{key}"),
            display_name=f"Coordinator {key}",
            organisation=org,
        ).user
    s.superuser = f.user(username="root", is_superuser=True, is_staff=True)
    return s


# Who manages which organisation's rows.
MANAGES = {
    "city": {"city", "county_a", "county_b"},
    "county_a": {"county_a"},
    "county_b": {"county_b"},
    "other": {"other"},
}


def keys_of(mapping: dict, ids) -> set[str]:
    """The organisation keys whose rows in `mapping` (key → row) have these ids."""
    ids = set(ids)
    return {key for key, row in mapping.items() if row.pk in ids}
