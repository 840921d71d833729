"""A known history for the statistics tests: March 2026 on one hotline in Shanghai, with every
call outcome, reports in each category, escalations acknowledged at known times and a
published roster with known hours; a little of February (the previous period) and another
hotline served by another organisation. EXPECTED holds every figure, worked out by hand."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

from hotline.models import Call, CallReport, Escalation
from tests.support import factories as f

_sid = itertools.count(1)
at = f.at

# The clock when the figures are read: S4 (Mar 31 20:00 → Apr 1 08:00) has not ended yet.
NOW = at(2026, 3, 31, 22)
FROM, TO = "2026-03-01", "2026-03-31"


def call(hotline, arrived, *, outcome, wait=None, by=None, caller="", **kw) -> Call:
    return Call.objects.create(
        call_sid=f"CASTATS{next(_sid):026d}",
        hotline=hotline,
        arrived_at=arrived,
        answered_at=arrived + dt.timedelta(seconds=wait) if wait is not None else None,
        answered_by=by,
        outcome=outcome,
        state=Call.State.ENDED,
        caller_hash=caller * 64 if caller else "",
        caller_last4="1234" if caller else "",
        **kw,
    )


def report(c: Call, category, group, risk, follow_up=False) -> CallReport:
    return CallReport.objects.create(
        call=c,
        author=c.answered_by,
        category=category,
        caller_group=group,
        risk_level=risk,
        follow_up_needed=follow_up,
        summary="private words",
        created_at=c.arrived_at + dt.timedelta(minutes=30),
        updated_at=c.arrived_at + dt.timedelta(minutes=30),
    )


def escalation(c: Call, code, opened, *, ack=None, resolved=None, outcome="", tier=1):
    status = "resolved" if resolved else "acknowledged" if ack else "open"
    return Escalation.objects.create(
        call=c,
        hotline=c.hotline,
        source="report",
        status=status,
        code=code,
        tier=tier,
        opened_at=opened,
        acknowledged_at=ack,
        resolved_at=resolved,
        outcome=outcome,
    )


def known_history(*, coordinator=None) -> SimpleNamespace:
    """`coordinator` (a user), if given, works for the city federation over both branches,
    so they manage both lines (hotline/access.py)."""
    federation = f.organisation(name="City federation")
    north = f.organisation(name="North branch", parent=federation)
    south = f.organisation(name="South branch", parent=federation)
    if coordinator is not None:
        f.volunteer(user=coordinator, roles=(), display_name="Coordinator", organisation=federation)
    # Each line is run by an organisation (statistics per organisation follow Hotline.organisation).
    h = f.hotline(name="City line", organisation=north)
    other = f.hotline(name="County line", organisation=south)
    v1 = f.volunteer(display_name="An Qi", organisation=north)
    v2 = f.volunteer(display_name="Bai Lu", organisation=north, roles=("counsellor", "supervisor"))
    v4 = f.volunteer(display_name="Cao Yu", organisation=north)
    v3 = f.volunteer(display_name="Du Fei", organisation=south)

    # --- calls in March (local times) ---
    c1 = call(h, at(2026, 3, 2, 9), outcome="answered", wait=10, by=v1, caller="a")
    c2 = call(h, at(2026, 3, 2, 9, 30), outcome="answered", wait=20, by=v1, caller="a")
    c3 = call(h, at(2026, 3, 2, 21), outcome="answered", wait=30, by=v2, caller="b")
    c4 = call(h, at(2026, 3, 3, 10), outcome="answered", wait=100, by=v2, caller="c")
    call(h, at(2026, 3, 3, 10, 15), outcome="voicemail", caller="d")
    call(h, at(2026, 3, 3, 23, 30), outcome="abandoned", caller="d")
    call(h, at(2026, 3, 4, 2), outcome="missed", caller="e")
    call(h, at(2026, 3, 4, 3), outcome="out_of_hours")
    call(h, at(2026, 3, 31, 21, 59, 59), outcome="voicemail", caller="f")
    # Outside the period on either side, and on the other hotline.
    call(h, at(2026, 4, 1, 0), outcome="answered", wait=5, by=v1, caller="a")
    call(other, at(2026, 3, 2, 9), outcome="answered", wait=7, by=v3, caller="g")
    # --- February (the previous period: Jan 29 – Feb 28) ---
    p1 = call(h, at(2026, 2, 10, 9), outcome="answered", wait=40, by=v1, caller="a")
    call(h, at(2026, 2, 11, 9), outcome="abandoned")
    call(h, at(2026, 2, 28, 23, 59), outcome="missed")

    report(c1, "psychological", "parent", 0)
    report(c2, "psychological", "single_mother", 1, follow_up=True)
    report(c3, "family_education", "parent", 3, follow_up=True)
    report(c4, "other", "medical_family", 4)
    report(p1, "psychological", "parent", 2)

    escalation(
        c3,
        "1111",
        at(2026, 3, 2, 21, 10),
        ack=at(2026, 3, 2, 21, 12),
        resolved=at(2026, 3, 2, 22),
        outcome="referred",
        tier=1,
    )
    escalation(c4, "2222", at(2026, 3, 3, 10, 20), ack=at(2026, 3, 3, 10, 30), tier=2)
    escalation(c1, "3333", at(2026, 3, 2, 9, 5), tier=3)

    # --- the roster ---
    march = f.roster(
        hotline_=h, first_day=dt.date(2026, 3, 1), last_day=dt.date(2026, 3, 31), status="published"
    )
    common = {"required_family_educators": 0, "required_supervisors": 0}
    s1 = f.shift(roster_=march, starts_at=at(2026, 3, 2, 8), hours=6, **common)  # 2 seats
    f.assignment(shift_=s1, volunteer_=v1)
    f.assignment(shift_=s1, volunteer_=v3, status="cancelled")
    s2 = f.shift(  # Saturday night: a night and a weekend
        roster_=march,
        starts_at=at(2026, 3, 7, 20),
        hours=12,
        required_counsellors=1,
        required_family_educators=0,
        required_supervisors=1,
    )
    f.assignment(shift_=s2, volunteer_=v1)
    f.assignment(shift_=s2, volunteer_=v2, role="supervisor")
    s3 = f.shift(  # starts before 05:00: a night
        roster_=march, starts_at=at(2026, 3, 10, 2), hours=4, required_counsellors=1, **common
    )
    f.assignment(shift_=s3, volunteer_=v2)
    s4 = f.shift(  # not over yet at NOW: a seat filled, no hours served
        roster_=march, starts_at=at(2026, 3, 31, 20), hours=12, required_counsellors=1, **common
    )
    f.assignment(shift_=s4, volunteer_=v4)
    draft = f.roster(hotline_=h, first_day=dt.date(2026, 3, 1), last_day=dt.date(2026, 3, 31))
    f.assignment(shift_=f.shift(roster_=draft, starts_at=at(2026, 3, 5, 8)), volunteer_=v4)
    feb = f.roster(
        hotline_=h, first_day=dt.date(2026, 2, 1), last_day=dt.date(2026, 2, 28), status="published"
    )
    f.assignment(
        shift_=f.shift(
            roster_=feb, starts_at=at(2026, 2, 10, 8), hours=6, required_counsellors=1, **common
        ),
        volunteer_=v1,
    )
    county = f.roster(
        hotline_=other,
        first_day=dt.date(2026, 3, 1),
        last_day=dt.date(2026, 3, 31),
        status="published",
    )
    f.assignment(
        shift_=f.shift(
            roster_=county, starts_at=at(2026, 3, 2, 8), hours=8, required_counsellors=1, **common
        ),
        volunteer_=v3,
    )
    return SimpleNamespace(
        hotline=h,
        other=other,
        federation=federation,
        north=north,
        south=south,
        v1=v1,
        v2=v2,
        v3=v3,
        v4=v4,
    )


def expected_volunteers(s) -> list[dict]:
    return [
        {
            "volunteer": s.v1.pk,
            "name": "An Qi",
            "organisation": s.north.pk,
            "organisation_name": "North branch",
            "hours": 18.0,
            "shifts": 2,
            "nights": 1,
            "weekends": 1,
            "calls": 2,
        },
        {
            "volunteer": s.v2.pk,
            "name": "Bai Lu",
            "organisation": s.north.pk,
            "organisation_name": "North branch",
            "hours": 16.0,
            "shifts": 2,
            "nights": 2,
            "weekends": 1,
            "calls": 2,
        },
    ]


CALLS = {
    "received": 9,
    "answered": 4,
    "voicemail": 2,
    "abandoned": 1,
    "missed": 1,
    "out_of_hours": 1,
    "answer_rate": 0.4444,
    "wait_seconds": {"median": 25, "p90": 100},
    "repeat_callers": 2,
}
PREVIOUS_CALLS = {
    "received": 3,
    "answered": 1,
    "voicemail": 0,
    "abandoned": 1,
    "missed": 1,
    "out_of_hours": 0,
    "answer_rate": 0.3333,
    "wait_seconds": {"median": 40, "p90": 40},
    "repeat_callers": 0,
}
# Every category the seeded taxonomy offers, zero or not (hotline/migrations/0013_taxonomy_seed).
BY_CATEGORY = {
    "psychological": 2,
    "family_education": 1,
    "medical_family": 0,
    "rights_legal": 0,
    "domestic_violence": 0,
    "employment": 0,
    "marriage_family": 0,
    "epidemic_stress": 0,
    "parenting_study": 0,
    "other": 1,
}
BY_CALLER_GROUP = {
    "medical_family": 1,
    "pregnant_new_mother": 0,
    "single_mother": 1,
    "parent": 2,
    "other": 0,
}
BY_RISK = {"0": 1, "1": 1, "2": 0, "3": 1, "4": 1}
ESCALATIONS = {
    "opened": 3,
    "acknowledged": 2,
    "resolved": 1,
    "ack_seconds": {"median": 360, "max": 600},
    "by_outcome": {
        "emergency_services": 0,
        "follow_up_arranged": 0,
        "referred": 1,
        "resolved_on_call": 0,
        "false_alarm": 0,
    },
    "reached_tier": {"1": 3, "2": 2, "3": 1},
}
# Local hour → (received, answered); every other hour is (0, 0).
BY_HOUR = {9: (2, 2), 21: (2, 1), 10: (2, 1), 23: (1, 0), 2: (1, 0), 3: (1, 0)}
BY_DAY = {"2026-03-02": (3, 3), "2026-03-03": (3, 1), "2026-03-04": (2, 0), "2026-03-31": (1, 0)}
