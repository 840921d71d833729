"""Calling a caller back through the hotline, so the volunteer's own number is never shown.

1. `callback_start` (a button on the follow-up page): checks the caller said it is safe to
   call, logs a CallBackAttempt, then (outside the transaction: REST calls are slow) asks
   Twilio to ring the *volunteer's* phone from the hotline's number.
2. The volunteer answers: `voice.callback_whisper` asks them to press 1.
3. They press 1: `callback_connect` answers `<Dial callerId="hotline number">` to the caller.
   Twilio shows the caller the hotline's number; the volunteer's number never reaches them.
4. The dial ends (`callback_dial_done`) or the volunteer's leg fails (`callback_leg_status`):
   the result is logged on the attempt, shown on the follow-up.

Every step is idempotent (a replayed webhook changes nothing) and only moves an attempt
forward: a conditional UPDATE on `result=""`.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from hotline import access
from hotline.crisis.audit import audit_record
from hotline.followups.services import FollowUpConflict
from hotline.models import CallBackAttempt, FollowUp
from hotline.telephony import client as twilio_api

log = logging.getLogger(__name__)

RING_SECONDS = 30
Result = CallBackAttempt.Result


def not_callable_reason(follow_up: FollowUp) -> str:
    """Why this follow-up cannot be called back through the hotline ("" if it can): what
    the page shows next to a disabled button, and what the API answers (409)."""
    if follow_up.kind == FollowUp.Kind.DEBRIEF or follow_up.hotline_id is None:
        return _("A debrief is not a call to a caller.")
    if not follow_up.is_open:
        return _("This follow-up is closed.")
    if not safe_to_call(follow_up):
        return _(
            "The caller said it is not safe to call them back: someone may be listening. "
            "Do not call; wait for them to call the line again."
        )
    if not number_to_call(follow_up):
        return _("There is no number to call: the caller did not leave one.")
    return ""


def safe_to_call(follow_up: FollowUp) -> bool:
    """False when the caller said calling them back is not safe: on the follow-up, or (when
    the follow-up has no answer of its own) keyed in on the phone with their voicemail."""
    if follow_up.safe_to_call is not None:
        return follow_up.safe_to_call
    callback = follow_up.callback if follow_up.callback_id else None
    return not (callback is not None and callback.safe_to_call is False)


def number_to_call(follow_up: FollowUp) -> str:
    if follow_up.number:
        return follow_up.number
    if follow_up.callback_id and follow_up.callback.number:
        return follow_up.callback.number
    return ""


def _webhook(base_url: str, name: str, attempt: CallBackAttempt) -> str:
    base = (settings.TWILIO_WEBHOOK_BASE_URL or base_url or "").rstrip("/")
    return f"{base}{reverse(name)}?attempt={attempt.pk}"


def callback_start(
    *, follow_up: FollowUp, by, now: dt.datetime, base_url: str = ""
) -> CallBackAttempt:
    """Ring the volunteer (the signed-in user), then bridge to the caller. Raises
    PermissionDenied (not their follow-up), FollowUpConflict (`not_callable`: not safe,
    no number, closed; `no_phone`: the volunteer has no phone number). A refused dial is
    logged on the attempt as `failed`."""
    with transaction.atomic():
        follow_up = (
            FollowUp.objects.select_for_update(of=("self",))
            .select_related("hotline", "callback")
            .get(pk=follow_up.pk)
        )
        if not access.can_work_follow_up(by, follow_up):
            raise PermissionDenied(_("This follow-up is not yours."))
        reason = not_callable_reason(follow_up)
        if reason:
            raise FollowUpConflict("not_callable", reason)
        volunteer = access.active_volunteer_of(by)
        if volunteer is None or not volunteer.phone_number:
            raise FollowUpConflict(
                "no_phone",
                _("Add your phone number first: the hotline rings you before the caller."),
            )
        attempt = CallBackAttempt.objects.create(
            follow_up=follow_up, volunteer=volunteer, started_at=now
        )
        audit_record(
            actor=by,
            action="followup.call_back",
            obj=follow_up,
            at=now,
            detail={"attempt": attempt.pk},
        )
    hotline = follow_up.hotline
    try:
        leg_sid = twilio_api.call_create(
            to=volunteer.phone_number,
            from_=hotline.phone_number,
            url=_webhook(base_url, "twilio:followup-answer", attempt),
            status_callback=_webhook(base_url, "twilio:followup-leg-status", attempt),
            timeout=hotline.ring_timeout or RING_SECONDS,
        )
    except twilio_api.DialError as exc:
        log.warning("call-back %s: ringing the volunteer failed: %s", attempt.pk, exc)
        CallBackAttempt.objects.filter(pk=attempt.pk, result=Result.PENDING).update(
            result=Result.FAILED, error=str(exc)[:300], ended_at=now
        )
    else:
        CallBackAttempt.objects.filter(pk=attempt.pk).update(leg_sid=leg_sid)
    attempt.refresh_from_db()
    return attempt


def attempt_for_webhook(*, attempt_id: int) -> CallBackAttempt | None:
    return (
        CallBackAttempt.objects.select_related("follow_up__hotline", "follow_up__callback")
        .filter(pk=attempt_id)
        .first()
    )


def _finish(attempt_id: int, result: str, now: dt.datetime, **fields) -> bool:
    return bool(
        CallBackAttempt.objects.filter(pk=attempt_id, result=Result.PENDING).update(
            result=result, ended_at=now, **fields
        )
    )


def callback_connect(*, attempt_id: int, digits: str, now: dt.datetime) -> tuple:
    """The volunteer answered the whisper. Returns (attempt, number to dial or "").
    Anything but 1, or an attempt already finished, dials nobody. The caller's safety answer
    is checked again: it may have changed while the volunteer's phone rang."""
    attempt = attempt_for_webhook(attempt_id=attempt_id)
    if attempt is None or attempt.result != Result.PENDING:
        return attempt, ""
    if digits != "1":
        _finish(attempt.pk, Result.DECLINED, now)
        return attempt, ""
    follow_up = attempt.follow_up
    if not_callable_reason(follow_up):
        _finish(attempt.pk, Result.FAILED, now, error="not callable any more")
        return attempt, ""
    return attempt, number_to_call(follow_up)


DIAL_RESULT = {
    "completed": Result.CONNECTED,
    "answered": Result.CONNECTED,
    "no-answer": Result.CALLER_NO_ANSWER,
    "busy": Result.CALLER_NO_ANSWER,
    "failed": Result.CALLER_NO_ANSWER,
    "canceled": Result.CALLER_NO_ANSWER,
}


def callback_dial_done(
    *, attempt_id: int, dial_status: str, duration: int | None, now: dt.datetime
) -> CallBackAttempt | None:
    """The <Dial> to the caller ended: connected (with talk time) or not reached."""
    result = DIAL_RESULT.get(dial_status, Result.CALLER_NO_ANSWER)
    _finish(attempt_id, result, now, dial_status=dial_status[:20], duration=duration)
    return attempt_for_webhook(attempt_id=attempt_id)


LEG_RESULT = {
    "no-answer": Result.VOLUNTEER_NO_ANSWER,
    "busy": Result.VOLUNTEER_NO_ANSWER,
    "canceled": Result.VOLUNTEER_NO_ANSWER,
    "failed": Result.FAILED,
    # Answered but hung up before pressing 1 (a dial already recorded its own result).
    "completed": Result.DECLINED,
}


def callback_leg_status(*, attempt_id: int, status: str, now: dt.datetime) -> None:
    """The volunteer's leg ended without reaching the dial step: log why."""
    result = LEG_RESULT.get(status)
    if result is not None:
        _finish(attempt_id, result, now)
