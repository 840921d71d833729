"""Scenes for the crisis tests: answered calls, supervisors on and off shift, coordinators
with a phone, and the ACK SMS as Twilio would post it."""

from __future__ import annotations

import datetime as dt
import itertools

from hotline.models import Call, Escalation, Message
from tests.support import factories as f
from tests.support.twilio import fixture

_sid = itertools.count(1)

REPORT = {
    "category": "psychological",
    "caller_group": "medical_family",
    "summary": "Night-shift nurse, exhausted, says she cannot go on.",
    "risk_level": 3,
    "follow_up_needed": True,
    "referral": "hospital psychiatry clinic",
}


def answered_call(hotline, volunteer, *, at: dt.datetime, shift=None, **kw) -> Call:
    n = next(_sid)
    kw.setdefault("state", Call.State.ENDED)
    kw.setdefault("outcome", Call.Outcome.ANSWERED)
    return Call.objects.create(
        call_sid=f"CA{n:032d}",
        hotline=hotline,
        answered_by=volunteer,
        shift=shift,
        category="psychological",
        caller_hash="h" * 64,
        caller_last4="4321",
        arrived_at=at - dt.timedelta(minutes=20),
        answered_at=at - dt.timedelta(minutes=19),
        ended_at=at if kw["state"] == Call.State.ENDED else None,
        **kw,
    )


def coordinator_with_phone(**kw):
    user = f.coordinator_user()
    return f.volunteer(
        roles=(), user=user, display_name=kw.pop("display_name", "Coordinator"), **kw
    )


def sms_to(escalation: Escalation) -> list[str]:
    """Numbers the escalation's SMS went to (outbox rows), in order."""
    return list(
        Message.objects.filter(dedupe_key__startswith=f"esc:{escalation.pk}:")
        .order_by("id")
        .values_list("to", flat=True)
    )


def ack_sms(from_number: str, body: str, sid_digit: str = "4") -> dict:
    data = fixture("sms-incoming-ack")
    sid = "SM" + sid_digit * 32
    data.update(
        {"From": from_number, "Body": body, "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid}
    )
    return data
