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
from django.db.models import Q
from django.utils.translation import gettext as _

from hotline.calls.queue import (
    LEG_LINGER,
    LIVE_CHECK,
    STATUS_RANK,
    TERMINAL,
    leg_status_update,
    webhook_url,
)
from hotline.calls.selectors import busy_q
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


def supervisor_for(*, call: Call, now: dt.datetime) -> Volunteer | None:
    """A supervisor on shift on the call's hotline who is free (not the volunteer who
    answered), longest since their last offered call first. Free as the queue judges it
    (selectors.busy_q): not on a call, not in a live call's conference (listening in on
    this one, say), no phone ringing for a caller or a join."""
    return (
        volunteers_on_shift(call.hotline, now, role=Role.SUPERVISOR)
        .exclude(pk=call.answered_by_id)
        .exclude(busy_q(at=now, leg_linger=LEG_LINGER))
        .order_by("ring_rotation__last_offered_at", "id")
        .first()
    )


def call_join(
    *,
    call: Call,
    volunteer: Volunteer | None,
    mode: str,
    by,
    now: dt.datetime,
    why: str,
    transfer: bool = False,
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
        call=call,
        volunteer=volunteer,
        mode=mode,
        requested_by=by,
        requested_at=now,
        transfer=transfer,
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
            url=webhook_url(call, "twilio:voice-join", join=join.pk),
            status_callback=webhook_url(call, "twilio:voice-join", join=join.pk, status=1),
            timeout=call.hotline.ring_timeout,
        )
    except twilio_api.DialError as exc:
        CallJoin.objects.filter(pk=join.pk).update(error=str(exc)[:500], ended_at=now)
        log.warning("call %s: dialling supervisor %s failed: %s", call.pk, volunteer.pk, exc)
        raise JoinRefused(_("The supervisor's phone could not be dialled.")) from exc
    CallJoin.objects.filter(pk=join.pk).update(leg_sid=sid)
    join.leg_sid = sid
    return join


def join_for(*, join_id: int) -> CallJoin | None:
    return CallJoin.objects.select_related("call__hotline", "volunteer").filter(pk=join_id).first()


def join_answered(*, join_id: int, now: dt.datetime) -> CallJoin | None:
    """The joining supervisor's phone was answered: they enter the conference now (the
    first answer is the time recorded)."""
    CallJoin.objects.filter(Q(pk=join_id), Q(joined_at__isnull=True)).update(joined_at=now)
    return CallJoin.objects.select_related("call__hotline", "volunteer").filter(pk=join_id).first()


# --- the volunteer's key sequence and the warm transfer ----------------------------------------
#
# The volunteer joins the conference with `<Dial hangupOnStar="true">` and
# `endConferenceOnExit="false"` (a `<Conference>` hears no keys): pressing * takes them out
# of the conference and Twilio asks the Dial's action (`voice/dial-done`), which puts the
# caller on hold (the Participant resource's `hold`, hearing `voice/transfer-hold`) and asks
# for a key (`voice/transfer-key`): 9 brings in the supervisor on shift, the caller still on
# hold while they talk; once the supervisor is there, * then 1 hands the call over (the
# volunteer leaves; the supervisor's leaving now ends the conference) and * then 0 (or no
# key) goes back to the caller, off hold. The caller is never left behind: a supervisor who
# does not answer takes the caller off hold and the volunteer hears so; the caller's hold
# loop does the same once the ring time passed, should that status callback be lost.

TRANSFER_GRACE = dt.timedelta(seconds=10)


def _participant(call: Call, leg_sid: str, **changes) -> bool:
    conference_sid = twilio_api.conference_sid(call.queue_name)
    if not conference_sid or not leg_sid:
        return False
    return twilio_api.participant_update(conference_sid, leg_sid, **changes)


def caller_hold(call: Call, on: bool) -> bool:
    """Put the caller of `call` on hold in its conference (hearing `voice/transfer-hold`),
    or take them off hold."""
    if on:
        return _participant(
            call,
            call.call_sid,
            hold=True,
            hold_url=webhook_url(call, "twilio:voice-transfer-hold", call=call.pk),
            hold_method="POST",
        )
    return _participant(call, call.call_sid, hold=False)


def open_transfer(call: Call) -> CallJoin | None:
    """The call's warm transfer under way: asked for, not handed over, its leg not ended."""
    return (
        CallJoin.objects.select_related("volunteer")
        .filter(call=call, transfer=True, handed_over_at__isnull=True, ended_at__isnull=True)
        .order_by("-requested_at", "-id")
        .first()
    )


def on_the_call(attempt: CallAttempt) -> bool:
    """Whether `attempt` is the live volunteer of a live call (accepted, not ended)."""
    return (
        attempt.result == CallAttempt.Result.ACCEPTED
        and attempt.ended_at is None
        and attempt.call.state == Call.State.CONNECTED
    )


def volunteer_star(*, attempt: CallAttempt, now: dt.datetime) -> CallJoin | None | bool:
    """The volunteer pressed * (their `<Dial>` ended while the call is live): the caller
    goes on hold while the volunteer chooses. False when this is not the volunteer on a
    live call; else the transfer under way, if any (None)."""
    attempt.refresh_from_db(fields=["result", "ended_at"])
    if not on_the_call(attempt):
        return False
    caller_hold(attempt.call, True)
    return open_transfer(attempt.call)


def transfer_key(*, attempt: CallAttempt, digits: str, now: dt.datetime) -> tuple[str, object]:
    """The volunteer's choice after *. Returns (what happened, detail):
    ("calling", join), ("refused", message), ("handed_over", join), ("back", join or None),
    ("gone", None: the call is over)."""
    call = attempt.call
    attempt.refresh_from_db(fields=["result", "ended_at"])
    call.refresh_from_db(fields=["state"])
    if not on_the_call(attempt):
        return "gone", None
    key = (digits or "").strip()[:1]
    transfer = open_transfer(call)
    if key == "9" and transfer is None:
        try:
            join = call_join(
                call=call,
                volunteer=supervisor_for(call=call, now=now),
                mode=CallJoin.Mode.SPEAK,
                by=attempt.volunteer.user,
                now=now,
                why="volunteer_key",
                transfer=True,
            )
        except JoinRefused as exc:
            caller_hold(call, False)
            return "refused", exc.message
        return "calling", join
    if key == "1" and transfer is not None and transfer.joined_at is not None:
        hand_over(transfer=transfer, attempt=attempt, now=now)
        return "handed_over", transfer
    caller_hold(call, False)
    return "back", transfer


def hand_over(*, transfer: CallJoin, attempt: CallAttempt, now: dt.datetime) -> None:
    """The volunteer leaves the caller with the supervisor who joined: the caller comes off
    hold, the supervisor's leaving now ends the conference, the volunteer is free."""
    call = attempt.call
    done = CallJoin.objects.filter(pk=transfer.pk, handed_over_at__isnull=True).update(
        handed_over_at=now
    )
    if not done:
        return
    CallAttempt.objects.filter(pk=attempt.pk, ended_at__isnull=True).update(ended_at=now)
    audit_record(
        actor=attempt.volunteer.user,
        action="call.transfer",
        obj=call,
        detail={"join": transfer.pk, "from": attempt.volunteer_id, "to": transfer.volunteer_id},
        at=now,
    )
    _participant(call, transfer.leg_sid, end_conference_on_exit=True)
    caller_hold(call, False)


def transfer_failed(*, join: CallJoin, status: str, now: dt.datetime) -> bool:
    """The supervisor of a transfer did not answer (or their phone failed): the caller comes
    off hold and the volunteer hears so. True if that was news."""
    changed = CallJoin.objects.filter(
        pk=join.pk, joined_at__isnull=True, ended_at__isnull=True
    ).update(ended_at=now, error=status[:500])
    if not changed:
        return False
    call = join.call
    audit_record(
        actor=None,
        action="call.transfer_failed",
        obj=call,
        detail={"join": join.pk, "volunteer": join.volunteer_id, "status": status},
        at=now,
    )
    if call.state != Call.State.CONNECTED:
        return True
    caller_hold(call, False)
    # A volunteer offered this caller on a leg answered for another (`leg_of`) is on that leg.
    sids = (
        CallAttempt.objects.filter(
            call=call, result=CallAttempt.Result.ACCEPTED, ended_at__isnull=True
        )
        .values_list("leg_sid", "leg_of__leg_sid")
        .first()
    )
    live = (sids[0] or sids[1]) if sids else None
    if live:
        _participant(
            call,
            live,
            announce_url=webhook_url(call, "twilio:voice-transfer-news", join=join.pk),
            announce_method="POST",
        )
    elif caller_alone(call=call, now=now):
        # The volunteer hung up while the supervisor was being called: nobody is left.
        caller_left_alone(call, now=now)
    return True


def join_leg_status(*, join_id: int, status: str, now: dt.datetime) -> None:
    """A supervisor's join leg reported its status. A final status before they joined ends
    the join (for a transfer: the caller comes off hold); after a hand-over, the
    supervisor leaving ends the call for the caller too (should the conference not)."""
    if status not in ("completed", "busy", "no-answer", "failed", "canceled"):
        return
    join = CallJoin.objects.select_related("call__hotline").filter(pk=join_id).first()
    if join is None:
        return
    if join.joined_at is None:
        if join.transfer:
            transfer_failed(join=join, status=status, now=now)
        else:
            CallJoin.objects.filter(pk=join.pk, ended_at__isnull=True).update(
                ended_at=now, error=status
            )
        return
    CallJoin.objects.filter(pk=join.pk, ended_at__isnull=True).update(ended_at=now)
    if join.call.state != Call.State.CONNECTED:
        return
    if join.handed_over_at is not None:
        twilio_api.call_stop(join.call.call_sid, answered=True)
    elif join.transfer:
        caller_hold(join.call, False)  # the supervisor left before a hand-over


def transfer_overdue(*, call: Call, now: dt.datetime) -> bool:
    """The caller's hold loop: a transfer whose supervisor never answered within the ring
    time (its status callback lost) is given up, the caller back with the volunteer."""
    transfer = open_transfer(call)
    if transfer is None or transfer.joined_at is not None:
        return False
    deadline = transfer.requested_at + dt.timedelta(seconds=call.hotline.ring_timeout)
    if now < deadline + TRANSFER_GRACE:
        return False
    return transfer_failed(join=transfer, status="no answer in time", now=now)


def volunteer_left(*, attempt: CallAttempt, now: dt.datetime, found: bool = False) -> None:
    """The volunteer's phone leg ended while they were on the live call (they hung up, or
    their phone dropped). They join with `endConferenceOnExit="false"` (for the key
    sequence), so the call's end is ours to make: with a supervisor there in a transfer,
    the call is handed over; with a supervisor still being called, the caller comes off
    hold to wait for them; with a supervisor speaking on the call, the caller stays with
    them; else the caller, if still on the line, hears why and goodbye (call_live_check,
    the one place that decides it: the caller's call is read from Twilio first, so a
    caller who hung up first hears nothing). `found`: we are inside call_live_check (the
    sweep read the leg ended, or the conference said the volunteer left), which goes on
    to tell the caller itself."""
    call = attempt.call
    transfer = open_transfer(call)
    if transfer is not None and transfer.joined_at is not None:
        hand_over(transfer=transfer, attempt=attempt, now=now)
        return
    if transfer is not None:
        caller_hold(call, False)
        return
    speaking = (
        CallJoin.objects.filter(
            call=call, joined_at__isnull=False, ended_at__isnull=True, mode=CallJoin.Mode.SPEAK
        )
        .order_by("-joined_at")
        .first()
    )
    if speaking is not None:
        # A supervisor speaking on the call stays with the caller; their leaving now ends it.
        _participant(call, speaking.leg_sid, end_conference_on_exit=True)
        return
    if found:
        return  # call_live_check finds the caller alone and tells them
    # The leg's SID (a caller offered on a leg answered for another: that leg's), so that
    # the caller is told even if their own status cannot be read.
    leg_sid = attempt.leg_sid or (attempt.leg_of.leg_sid if attempt.leg_of_id else "")
    call_live_check(call_id=call.pk, now=now, known={leg_sid or "": "completed"})


# --- lost callbacks on a live call ----------------------------------------------------------
#
# The call's end is ours to make when the volunteer leaves (above), and we learn of it only
# from their leg's final status callback, which can be lost. So the sweep reads, every
# LIVE_CHECK, from Twilio the caller's call and the legs of the people with them, and acts
# on what it reads as on the lost callbacks; a caller found alone on the call (nobody
# speaking with them, nobody being called for them) hears that the line to the volunteer
# was cut, the emergency numbers and goodbye, rather than silence.


def caller_left_alone(call: Call, *, now: dt.datetime) -> None:
    """Take the caller out of the conference to the words of `voice/volunteer-gone`, once
    (whichever event or sweep finds them alone first; `Call.alone_told_at`). Twilio
    refusing the redirect (the caller just hung up, or Twilio unreachable): not counted as
    told, the next look tries again."""
    claimed = Call.objects.filter(
        pk=call.pk, state=Call.State.CONNECTED, alone_told_at__isnull=True
    ).update(alone_told_at=now)
    if claimed and not twilio_api.call_redirect(
        call.call_sid, webhook_url(call, "twilio:voice-volunteer-gone", call=call.pk)
    ):
        Call.objects.filter(pk=call.pk, alone_told_at=now).update(alone_told_at=None)


def caller_alone(*, call: Call, now: dt.datetime) -> bool:
    """Nobody is with the caller of the live `call`: no volunteer on it, no supervisor
    speaking on it, and none being called for it within their ring time (a muted
    listener does not count)."""
    if CallAttempt.objects.filter(
        call=call, result=CallAttempt.Result.ACCEPTED, ended_at__isnull=True
    ).exists():
        return False
    ringing_since = now - dt.timedelta(seconds=call.hotline.ring_timeout) - TRANSFER_GRACE
    return not (
        CallJoin.objects.filter(call=call, mode=CallJoin.Mode.SPEAK, ended_at__isnull=True)
        .filter(Q(joined_at__isnull=False) | Q(requested_at__gt=ringing_since))
        .exists()
    )


def call_live_check(*, call_id: int, now: dt.datetime, known: dict[str, str] | None = None) -> str:
    """A look at a call in conversation — by the sweep (due every LIVE_CHECK), and at once
    when the conference says a volunteer or supervisor left it, or a volunteer's leg
    reports its end: the statuses of the caller's call and of the people's legs, read
    from Twilio, settled as their lost callbacks would have; a caller left alone hears why
    and goodbye (once). `known`: leg statuses the caller of this function knows already
    (from a conference event or a status callback), used instead of reading them; with
    one of them ended, a caller whose status cannot be read is taken to be on the line.
    Returns what it found: "ended" (the caller's call was over), "alone", "live",
    "unknown" (Twilio could not be read: next time) or "gone" (not a live call)."""
    known = {sid: status for sid, status in (known or {}).items() if sid}
    from hotline.calls.services import call_status_update  # it builds on this module

    call = (
        Call.objects.select_related("hotline")
        .filter(pk=call_id, state=Call.State.CONNECTED)
        .first()
    )
    if call is None:
        return "gone"
    Call.objects.filter(pk=call.pk, state=Call.State.CONNECTED).update(
        batch_deadline=now + LIVE_CHECK
    )
    status = twilio_api.call_status(call.call_sid)
    if status is None and not any(s in TERMINAL for s in known.values()):
        return "unknown"
    if status in TERMINAL:
        call_status_update(call_sid=call.call_sid, status=status, duration=None, now=now)
        return "ended"
    # A caller offered on a leg answered for another (`leg_of`) is on that leg's SID.
    for attempt_id, own, carried in CallAttempt.objects.filter(
        call=call, result=CallAttempt.Result.ACCEPTED, ended_at__isnull=True
    ).values_list("pk", "leg_sid", "leg_of__leg_sid"):
        sid = own or carried
        leg = known.get(sid) or (twilio_api.call_status(sid) if sid else None)
        if leg in TERMINAL:
            leg_status_update(attempt_id=attempt_id, status=leg, now=now, found=True)
    for join_id, sid in CallJoin.objects.filter(
        call=call, joined_at__isnull=False, ended_at__isnull=True
    ).values_list("pk", "leg_sid"):
        leg = known.get(sid) or (twilio_api.call_status(sid) if sid else None)
        if leg in TERMINAL:
            join_leg_status(join_id=join_id, status=leg, now=now)
    if transfer_overdue(call=call, now=now) and caller_alone(call=call, now=now):
        return "alone"  # transfer_failed told the caller
    if not Call.objects.filter(pk=call.pk, state=Call.State.CONNECTED).exists():
        return "ended"
    if caller_alone(call=call, now=now):
        caller_left_alone(call, now=now)
        return "alone"
    return "live"


# --- the conference's own status callbacks ------------------------------------------------------
#
# Every `<Conference>` noun of a call asks Twilio for the conference's `leave` and `end`
# events (`statusCallback` = voice/conference-status?call=<id>). A volunteer or supervisor
# leaving the conference is how we learn at once that their phone dropped, even when their
# leg's own final status callback is lost: what follows is call_live_check's, the same as
# the sweep's a minute later would have been. Leaving the conference is not always leaving
# the call: the volunteer pressing * leaves it with their phone still on the line (their
# `<Dial>` action takes over), so a participant whose call Twilio reports still in progress
# is left alone. Events repeat and arrive late: one whose person is settled already, or
# whose call is over, changes nothing.


def participant_left(*, call_id: int, leg_sid: str, leg_status: str, now: dt.datetime) -> None:
    """Twilio's `participant-leave` for the conference of `call_id`: `leg_sid` left it,
    its call now `leg_status` (Twilio's ParticipantCallStatus; "" when not sent). Nothing
    is done for the caller's leaving, for a leg nobody is on the call by any more (a
    replay, a late event) or a call that is over, nor for someone who left the conference
    but not the call; else call_live_check, with the leg's status known if Twilio gave it."""
    call = Call.objects.filter(pk=call_id, state=Call.State.CONNECTED).only("pk").first()
    if call is None:
        return
    # The caller's own leaving is none of ours either: their status callback ends the call.
    ours = (
        CallAttempt.objects.filter(
            Q(leg_sid=leg_sid) | Q(leg_of__leg_sid=leg_sid),
            call=call,
            result=CallAttempt.Result.ACCEPTED,
            ended_at__isnull=True,
        ).exists()
        or CallJoin.objects.filter(
            call=call, leg_sid=leg_sid, joined_at__isnull=False, ended_at__isnull=True
        ).exists()
    )
    if not ours:
        return  # settled already
    if leg_status in STATUS_RANK and leg_status not in TERMINAL:
        return  # on the phone still: left the conference, not the call
    known = {leg_sid: leg_status} if leg_status in TERMINAL else {}
    call_live_check(call_id=call.pk, now=now, known=known)


def conference_ended(*, call_id: int, now: dt.datetime) -> None:
    """Twilio's `conference-end`: a call we still hold live is due a look from Twilio at
    the next sweep (its caller's status callback may be lost), not a LIVE_CHECK later."""
    Call.objects.filter(pk=call_id, state=Call.State.CONNECTED, batch_deadline__gt=now).update(
        batch_deadline=now
    )
