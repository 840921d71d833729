"""An SMS to the caller of a follow-up: through the outbox only, from the hotline's number, so
the volunteer's own number never reaches the caller.

Refused (FollowUpConflict `not_sendable`, nothing queued) when the caller said a message is
not safe, or said contact is not safe and never said a message is; when there is no number;
when the follow-up is closed or is a debrief. Who may send: whoever may call back through
the same follow-up (hotline.access.can_work_follow_up). Each SMS is logged on the follow-up
(FollowUpSms) and in the audit log, which records ids and the length, never the text.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from hotline import access
from hotline.crisis.audit import audit_record
from hotline.followups.callbacks import number_to_call
from hotline.followups.services import FollowUpConflict
from hotline.models import FollowUp, FollowUpSms
from hotline.sms.outbox import sms_send

PURPOSE = "followup_sms"
BODY_MAX = 300  # characters: about five Chinese SMS segments


def _answer(follow_up: FollowUp, field: str):
    """The caller's answer: the follow-up's own, else what they keyed in with a voicemail."""
    value = getattr(follow_up, field)
    if value is None and follow_up.callback_id:
        value = getattr(follow_up.callback, field)
    return value


def not_sendable_reason(follow_up: FollowUp) -> str:
    """Why no SMS may go to this follow-up's caller ("" if one may): shown next to the
    disabled form, and the API's 409."""
    if follow_up.kind == FollowUp.Kind.DEBRIEF or follow_up.hotline_id is None:
        return _("A debrief is not a message to a caller.")
    if not follow_up.is_open:
        return _("This follow-up is closed.")
    message_ok = _answer(follow_up, "safe_to_leave_message")
    if message_ok is False:
        return _(
            "The caller said it is not safe to leave them a message: someone may read it. "
            "Do not send one."
        )
    if _answer(follow_up, "safe_to_call") is False and message_ok is not True:
        return _(
            "The caller said it is not safe to contact them, and never said a message is "
            "safe. Do not send one; wait for them to call the line again."
        )
    if not number_to_call(follow_up):
        return _("There is no number to send to: the caller did not leave one.")
    return ""


def clean_body(body) -> str:
    text = (body or "").strip()
    if not text:
        raise ValidationError({"body": [_("Write the message.")]})
    if len(text) > BODY_MAX:
        raise ValidationError(
            {
                "body": [
                    _("Keep the message to %(max)s characters (this one has %(n)s).")
                    % {"max": BODY_MAX, "n": len(text)}
                ]
            }
        )
    return text


@transaction.atomic
def follow_up_sms_send(*, follow_up: FollowUp, by, body: str, now: dt.datetime) -> FollowUpSms:
    """Queue `body` to the caller, from the hotline's number. Raises PermissionDenied (not
    theirs to work), ValidationError (`body` empty or too long), FollowUpConflict
    (`not_sendable`). The same text sent twice within a minute (a double tap, a retried
    request) is queued once and logged once."""
    follow_up = (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("hotline", "callback")
        .get(pk=follow_up.pk)
    )
    if not access.can_work_follow_up(by, follow_up):
        raise PermissionDenied(_("This follow-up is not yours."))
    text = clean_body(body)
    reason = not_sendable_reason(follow_up)
    if reason:
        raise FollowUpConflict("not_sendable", reason)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    key = f"followup-sms:{follow_up.pk}:{digest}:{now:%Y%m%d%H%M}"
    existing = FollowUpSms.objects.select_related("message").filter(message__dedupe_key=key).first()
    if existing is not None:
        return existing
    message = sms_send(
        to=number_to_call(follow_up),
        body=text,
        dedupe_key=key,
        purpose=PURPOSE,
        from_number=follow_up.hotline.phone_number,
    )
    sms = FollowUpSms.objects.create(
        follow_up=follow_up, sent_by=by, message=message, length=len(text), created_at=now
    )
    audit_record(
        actor=by,
        action="followup.sms",
        obj=follow_up,
        at=now,
        detail={"sms": sms.pk, "message": message.pk, "length": len(text)},
    )
    return sms
