"""Scenes for the follow-up tests: an answered call with a report, a follow-up assigned to
someone, and the personas around it."""

from __future__ import annotations

import datetime as dt

from hotline.crisis import reports
from hotline.models import FollowUp
from tests.support.crisis import REPORT, answered_call

LOW = {**REPORT, "risk_level": 1, "follow_up_needed": True}


def reported_call(hotline, volunteer, *, now: dt.datetime, safety=None, **report):
    """A call `volunteer` answered, reported with `follow_up_needed` at risk 1 (so no
    escalation): returns (call, report)."""
    call = answered_call(hotline, volunteer, at=now)
    data = {**LOW, **report}
    saved = reports.report_create(
        call=call, by=volunteer.user, data=data, now=now, safety=safety or {}
    )
    return call, saved


def follow_up_for(hotline, assignee, *, now: dt.datetime, **kw) -> FollowUp:
    """A call-back follow-up written directly (bypassing the services), for permission
    scenes."""
    call = answered_call(hotline, assignee, at=now)
    kw.setdefault("kind", FollowUp.Kind.CALL_BACK)
    kw.setdefault("source", FollowUp.Source.REPORT)
    kw.setdefault("due_at", now + dt.timedelta(hours=24))
    kw.setdefault("number", "+8613900139000")
    kw.setdefault("safe_to_call", True)
    return FollowUp.objects.create(
        hotline=hotline,
        call=call,
        assignee=assignee,
        created_at=now,
        updated_at=now,
        **kw,
    )
