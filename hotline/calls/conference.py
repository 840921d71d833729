"""Help on the line: caller and volunteer meet in a conference (TwiML `<Conference>`, named
after the Call), so that a supervisor can be brought in — by the volunteer on the call
(speaking) or by a supervisor from the escalation page (listening muted, or speaking).

Every join is a CallJoin row on the call and an entry in the audit log. The supervisor's
phone is dialled through the REST API; answering it asks for `voice/join`, which puts them
into the conference.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from hotline.calls.queue import _url
from hotline.crisis.audit import audit_record
from hotline.models import Call, CallAttempt, CallJoin, Role, Volunteer
from hotline.phone import validate_e164
from hotline.telephony import client as twilio_api
from scheduling.selectors import volunteers_on_shift

log = logging.getLogger(__name__)


class JoinRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def caller_to_conference(call: Call) -> None:
    """The volunteer accepted: take the caller out of the hold queue into the call's
    conference (best effort: the queue's action URL answers the same if it is asked)."""
    twilio_api.call_redirect(call.call_sid, _url(call, "twilio:voice-conference", call=call.pk))


def supervisor_for(*, call: Call, now: dt.datetime) -> Volunteer | None:
    """A supervisor on shift on the call's hotline who is not on a call themselves (not the
    volunteer who answered), longest since their last offered call first."""
    on_call = CallAttempt.objects.filter(
        volunteer=OuterRef("pk"), result=CallAttempt.Result.ACCEPTED, ended_at__isnull=True
    )
    return (
        volunteers_on_shift(call.hotline, now, role=Role.SUPERVISOR)
        .exclude(pk=call.answered_by_id)
        .exclude(Exists(on_call))
        .order_by("ring_rotation__last_offered_at", "id")
        .first()
    )


def call_join(
    *, call: Call, volunteer: Volunteer | None, mode: str, by, now: dt.datetime, why: str
) -> CallJoin:
    """Dial `volunteer` into the live `call`'s conference in `mode` (listen / speak).
    Logged on the call (CallJoin) and in the audit log. Raises JoinRefused."""
    if mode not in CallJoin.Mode.values:
        raise JoinRefused(_("Choose to listen or to speak."))
    if call.state != Call.State.CONNECTED:
        raise JoinRefused(_("This call is not live any more."))
    if volunteer is None:
        raise JoinRefused(_("No supervisor on shift is free to join."))
    try:
        validate_e164(volunteer.phone_number)
    except ValidationError:
        raise JoinRefused(_("The supervisor's phone number cannot be dialled.")) from None
    join = CallJoin.objects.create(
        call=call, volunteer=volunteer, mode=mode, requested_by=by, requested_at=now
    )
    audit_record(
        actor=by,
        action="call.join",
        obj=call,
        detail={"join": join.pk, "volunteer": volunteer.pk, "mode": mode, "why": why},
        at=now,
    )
    try:
        sid = twilio_api.call_create(
            to=volunteer.phone_number,
            from_=call.hotline.phone_number,
            url=_url(call, "twilio:voice-join", join=join.pk),
            status_callback=_url(call, "twilio:voice-join", join=join.pk, status=1),
            timeout=call.hotline.ring_timeout,
        )
    except twilio_api.DialError as exc:
        CallJoin.objects.filter(pk=join.pk).update(error=str(exc)[:500])
        log.warning("call %s: dialling supervisor %s failed: %s", call.pk, volunteer.pk, exc)
        raise JoinRefused(_("The supervisor's phone could not be dialled.")) from exc
    CallJoin.objects.filter(pk=join.pk).update(leg_sid=sid)
    join.leg_sid = sid
    return join


def join_answered(*, join_id: int, now: dt.datetime) -> CallJoin | None:
    """The joining supervisor's phone was answered: they enter the conference now (the
    first answer is the time recorded)."""
    CallJoin.objects.filter(Q(pk=join_id), Q(joined_at__isnull=True)).update(joined_at=now)
    return CallJoin.objects.select_related("call__hotline", "volunteer").filter(pk=join_id).first()
