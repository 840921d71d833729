"""Follow-ups: made from a call report (`follow_up_needed`), a voicemail callback request, an
escalation ("confirm help arrived") or a high-risk call (a debrief for the volunteer);
reassigned, changed and completed; reported overdue up the escalation chain once.

Services check who may write (hotline/access.py), for the pages and the API alike; who may
read is hotline.followups.selectors.follow_ups_visible_to. Every write and every view of the
notes is audited (ids and field names only, never the notes).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hotline import access
from hotline.conflicts import DomainConflict
from hotline.crisis.audit import audit_record
from hotline.crisis.selectors import chain_first_people, chain_tier_people
from hotline.followups.selectors import follow_ups_overdue
from hotline.links import site_url
from hotline.models import FollowUp, Volunteer
from hotline.phone import normalize_phone
from hotline.sms.outbox import sms_send

log = logging.getLogger(__name__)

CLOSING = (FollowUp.Status.DONE, FollowUp.Status.NOT_REACHED, FollowUp.Status.CANCELLED)
EDITABLE = (
    "due_at",
    "method",
    "safe_to_call",
    "safe_to_leave_message",
    "best_time",
    "number",
    "notes",
)
SAFETY = ("safe_to_call", "safe_to_leave_message", "best_time", "number")


class FollowUpConflict(DomainConflict):
    """The follow-up is closed already, or cannot be called back."""


def default_due_at(now: dt.datetime) -> dt.datetime:
    """When a new follow-up is due unless someone says otherwise: FOLLOW_UP_DUE_HOURS on."""
    return now + dt.timedelta(hours=settings.FOLLOW_UP_DUE_HOURS)


def _check_due(due_at, *, now: dt.datetime) -> None:
    if due_at is None or due_at < now:
        raise ValidationError({"due_at": [_("Choose a due time that is not in the past.")]})


def _clean_safety(data: dict) -> dict:
    out = {}
    for key in ("safe_to_call", "safe_to_leave_message"):
        if key in data:
            value = data[key]
            if value not in (True, False, None):
                raise ValidationError({key: [_("Answer yes, no, or not asked.")]})
            out[key] = value
    if "best_time" in data:
        out["best_time"] = (data["best_time"] or "").strip()[:200]
    if "number" in data:
        number = (data["number"] or "").strip()
        if number:
            try:
                number = normalize_phone(number)
            except ValidationError as exc:
                raise ValidationError({"number": exc.messages}) from exc
        out["number"] = number
    return out


def _create(*, by, now: dt.datetime, **fields) -> FollowUp:
    follow_up = FollowUp.objects.create(created_by=by, created_at=now, updated_at=now, **fields)
    audit_record(
        actor=by,
        action="followup.create",
        obj=follow_up,
        at=now,
        detail={
            "kind": follow_up.kind,
            "source": follow_up.source,
            "assignee": follow_up.assignee_id,
        },
    )
    return follow_up


def _create_once(lookup: dict, *, by, now: dt.datetime, **fields) -> FollowUp:
    """Create unless an open one matches `lookup` (the partial unique indexes back this up
    against a concurrent twin)."""
    existing = FollowUp.objects.filter(status=FollowUp.Status.OPEN, **lookup).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return _create(by=by, now=now, **lookup, **fields)
    except IntegrityError:
        return FollowUp.objects.get(status=FollowUp.Status.OPEN, **lookup)


# --- creation paths -------------------------------------------------------------------------


@transaction.atomic
def follow_up_from_report(
    *, report, by, now: dt.datetime, safety: dict | None = None
) -> FollowUp | None:
    """A report with `follow_up_needed` gets one open call-back follow-up, assigned to its
    author and due FOLLOW_UP_DUE_HOURS later, with the caller's safety answers. Idempotent:
    a report that has one keeps it (its safety answers are updated)."""
    if not report.follow_up_needed:
        return None
    answers = _clean_safety(safety or {})
    existing = FollowUp.objects.filter(
        report=report, kind=FollowUp.Kind.CALL_BACK, status=FollowUp.Status.OPEN
    ).first()
    if existing is not None:
        if answers:
            FollowUp.objects.filter(pk=existing.pk).update(updated_at=now, **answers)
            existing.refresh_from_db()
        return existing
    call = report.call
    return _create_once(
        {"report": report, "kind": FollowUp.Kind.CALL_BACK},
        by=by,
        now=now,
        source=FollowUp.Source.REPORT,
        hotline_id=call.hotline_id,
        call=call,
        assignee_id=report.author_id,
        due_at=default_due_at(now),
        **answers,
    )


VOICEMAIL_ANSWERS = ("safe_to_call", "safe_to_leave_message", "best_time")


@transaction.atomic
def follow_up_from_callback(*, callback, now: dt.datetime) -> FollowUp:
    """A voicemail callback request: one open follow-up, unassigned (in the supervisors'
    queue), due FOLLOW_UP_DUE_HOURS later, with whatever safety answers the caller has keyed
    in so far (not asked until then: the questions come after the request is made)."""
    return _create_once(
        {"callback": callback},
        by=None,
        now=now,
        kind=FollowUp.Kind.CALL_BACK,
        source=FollowUp.Source.VOICEMAIL,
        hotline_id=callback.hotline_id,
        call_id=callback.call_id,
        due_at=default_due_at(now),
        **{key: getattr(callback, key) for key in VOICEMAIL_ANSWERS},
    )


@transaction.atomic
def follow_up_callback_answers(*, callback, answers: dict, now: dt.datetime) -> int:
    """The caller answered a safety question on the phone after asking to be called back:
    the open follow-up made from that request takes the answer (`answers`: field → value,
    fields of VOICEMAIL_ANSWERS). Returns how many follow-ups changed (0 or 1)."""
    answers = {k: v for k, v in answers.items() if k in VOICEMAIL_ANSWERS}
    if not answers:
        return 0
    changed = 0
    for follow_up in FollowUp.objects.select_for_update(of=("self",)).filter(
        callback=callback, status=FollowUp.Status.OPEN
    ):
        FollowUp.objects.filter(pk=follow_up.pk).update(updated_at=now, **answers)
        audit_record(
            actor=None,
            action="followup.update",
            obj=follow_up,
            at=now,
            detail={"fields": sorted(answers), "via": "voicemail"},
        )
        changed += 1
    return changed


@transaction.atomic
def follow_up_from_escalation(
    *,
    escalation,
    by,
    due_at: dt.datetime,
    now: dt.datetime,
    assignee: Volunteer | None = None,
    method: str = FollowUp.Method.PHONE,
    notes: str = "",
) -> FollowUp:
    """A supervisor asks for someone to confirm that help reached the caller."""
    if not access.can_manage_follow_ups(by):
        raise PermissionDenied(_("Only supervisors and coordinators can do this."))
    _check_due(due_at, now=now)
    _check_assignee(assignee)
    if method not in FollowUp.Method.values:
        raise ValidationError({"method": [_("Choose a method.")]})
    report = escalation.report
    return _create(
        by=by,
        now=now,
        kind=FollowUp.Kind.CONFIRM_HELP,
        source=FollowUp.Source.ESCALATION,
        hotline_id=escalation.hotline_id,
        call_id=escalation.call_id,
        escalation=escalation,
        report=report,
        assignee=assignee,
        due_at=due_at,
        method=method,
        notes=(notes or "").strip()[:5000],
    )


@transaction.atomic
def follow_up_for_call(
    *,
    call,
    by,
    due_at: dt.datetime,
    now: dt.datetime,
    assignee: Volunteer | None = None,
    method: str = FollowUp.Method.PHONE,
    safety: dict | None = None,
    notes: str = "",
) -> FollowUp:
    """A call-back follow-up made by hand for `call`: by the volunteer who answered it
    (assigned to themselves unless they say otherwise) or by crisis staff."""
    if not access.can_escalate(by, call):
        raise PermissionDenied(
            _("Only the volunteer who answered this call, or a supervisor, can do this.")
        )
    _check_due(due_at, now=now)
    if assignee is None and not access.can_manage_follow_ups(by):
        assignee = access.active_volunteer_of(by)
    if assignee is not None and not access.can_manage_follow_ups(by):
        if assignee != access.active_volunteer_of(by):
            raise PermissionDenied(_("Only supervisors and coordinators can reassign."))
    _check_assignee(assignee)
    if method not in FollowUp.Method.values:
        raise ValidationError({"method": [_("Choose a method.")]})
    return _create(
        by=by,
        now=now,
        kind=FollowUp.Kind.CALL_BACK,
        source=FollowUp.Source.MANUAL,
        hotline_id=call.hotline_id,
        call=call,
        assignee=assignee,
        due_at=due_at,
        method=method,
        notes=(notes or "").strip()[:5000],
        **_clean_safety(safety or {}),
    )


def _debrief_supervisor(hotline, *, at: dt.datetime, volunteer) -> Volunteer | None:
    """The supervisor on shift on `hotline` now (not the volunteer themselves), or None."""
    if hotline is None:
        return None
    people = chain_tier_people(
        hotline=hotline, tier=1, at=at, exclude_user_id=volunteer.user_id if volunteer else None
    )
    return people[0] if people else None


@transaction.atomic
def debrief_offer(*, escalation, now: dt.datetime) -> FollowUp | None:
    """After a high-risk report or an escalation: a debrief for the volunteer who took the
    call, assigned to the supervisor on shift (else the queue), due within
    DEBRIEF_DUE_HOURS. Once per escalation; none when nobody answered the call."""
    call = escalation.call
    volunteer = call.answered_by
    if volunteer is None:
        return None
    existing = FollowUp.objects.filter(escalation=escalation, kind=FollowUp.Kind.DEBRIEF).first()
    if existing is not None:
        return existing
    return _create(
        by=None,
        now=now,
        kind=FollowUp.Kind.DEBRIEF,
        source=FollowUp.Source.ESCALATION,
        hotline_id=call.hotline_id,
        call=call,
        escalation=escalation,
        volunteer=volunteer,
        assignee=_debrief_supervisor(call.hotline, at=now, volunteer=volunteer),
        due_at=now + dt.timedelta(hours=settings.DEBRIEF_DUE_HOURS),
    )


@transaction.atomic
def debrief_request(*, by, now: dt.datetime) -> FollowUp:
    """A volunteer asks for a debrief (My shifts): one open request at a time, in the
    supervisors' queue, due within DEBRIEF_DUE_HOURS."""
    volunteer = access.active_volunteer_of(by)
    if volunteer is None:
        raise PermissionDenied(_("Only volunteers can ask for a debrief."))
    existing = FollowUp.objects.filter(
        volunteer=volunteer,
        kind=FollowUp.Kind.DEBRIEF,
        source=FollowUp.Source.VOLUNTEER,
        status=FollowUp.Status.OPEN,
    ).first()
    if existing is not None:
        return existing
    return _create(
        by=by,
        now=now,
        kind=FollowUp.Kind.DEBRIEF,
        source=FollowUp.Source.VOLUNTEER,
        hotline=None,
        volunteer=volunteer,
        due_at=now + dt.timedelta(hours=settings.DEBRIEF_DUE_HOURS),
    )


# --- changes --------------------------------------------------------------------------------


def _check_assignee(assignee: Volunteer | None) -> None:
    if assignee is not None and not (assignee.is_active and assignee.user.is_active):
        raise ValidationError({"assignee": [_("Choose an active volunteer.")]})


def _locked(follow_up: FollowUp) -> FollowUp:
    return FollowUp.objects.select_for_update(of=("self",)).get(pk=follow_up.pk)


def _check_open(follow_up: FollowUp) -> None:
    if not follow_up.is_open:
        raise FollowUpConflict(
            "follow_up_closed",
            _("This follow-up is closed already (%(status)s).")
            % {"status": follow_up.get_status_display()},
        )


@transaction.atomic
def follow_up_update(*, follow_up: FollowUp, by, data: dict, now: dt.datetime) -> FollowUp:
    """Change an open follow-up's due time, method, safety answers or notes (its assignee
    or the supervisors); `assignee` in `data` reassigns (supervisors and coordinators)."""
    follow_up = _locked(follow_up)
    if not access.can_work_follow_up(by, follow_up):
        raise PermissionDenied(_("This follow-up is not yours."))
    _check_open(follow_up)
    changes = _clean_safety({k: v for k, v in data.items() if k in SAFETY})
    if "due_at" in data and data["due_at"] != follow_up.due_at:
        _check_due(data["due_at"], now=now)
        changes["due_at"] = data["due_at"]
        # A new due time is a new promise: its overdue alert may go out again.
        changes["overdue_alerted_at"] = None
    if "method" in data:
        if data["method"] not in FollowUp.Method.values:
            raise ValidationError({"method": [_("Choose a method.")]})
        changes["method"] = data["method"]
    if "notes" in data:
        changes["notes"] = (data["notes"] or "").strip()[:5000]
    if "assignee" in data:
        assignee = data["assignee"]
        if assignee != follow_up.assignee:
            if not access.can_manage_follow_ups(by) and not (
                follow_up.kind == FollowUp.Kind.DEBRIEF and access.can_see_debriefs(by)
            ):
                raise PermissionDenied(_("Only supervisors and coordinators can reassign."))
            _check_assignee(assignee)
            changes["assignee"] = assignee
    changed = sorted(k for k, v in changes.items() if getattr(follow_up, k) != v)
    for key, value in changes.items():
        setattr(follow_up, key, value)
    follow_up.updated_at = now
    follow_up.save()
    audit_record(
        actor=by,
        action="followup.update",
        obj=follow_up,
        at=now,
        detail={"fields": changed, "assignee": follow_up.assignee_id},
    )
    return follow_up


def follow_up_reassign(
    *, follow_up: FollowUp, by, assignee: Volunteer | None, now: dt.datetime
) -> FollowUp:
    return follow_up_update(follow_up=follow_up, by=by, data={"assignee": assignee}, now=now)


@transaction.atomic
def follow_up_complete(
    *, follow_up: FollowUp, by, status: str, notes: str = "", now: dt.datetime
) -> FollowUp:
    """Close a follow-up as done, could not reach, or cancelled, with outcome notes (its
    assignee or the supervisors). A closed one answers FollowUpConflict."""
    follow_up = _locked(follow_up)
    if not access.can_work_follow_up(by, follow_up):
        raise PermissionDenied(_("This follow-up is not yours."))
    if status not in CLOSING:
        raise ValidationError({"status": [_("Choose done, could not reach, or cancelled.")]})
    _check_open(follow_up)
    notes = (notes or "").strip()[:5000]
    FollowUp.objects.filter(pk=follow_up.pk).update(
        status=status,
        notes=notes or follow_up.notes,
        closed_at=now,
        closed_by=by,
        updated_at=now,
    )
    follow_up.refresh_from_db()
    audit_record(
        actor=by, action="followup.complete", obj=follow_up, at=now, detail={"status": status}
    )
    return follow_up


def follow_up_viewed(*, follow_up: FollowUp, by, now: dt.datetime, via: str = "web") -> None:
    audit_record(actor=by, action="followup.view", obj=follow_up, at=now, detail={"via": via})


# --- overdue ----------------------------------------------------------------------------------


def follow_up_link(follow_up: FollowUp) -> str:
    return site_url(reverse("followups:detail", args=[follow_up.pk]))


def follow_up_alert_overdue(*, follow_up_id: int, now: dt.datetime) -> int:
    """Tell the escalation chain's first non-empty tier (supervisors on shift, else every
    supervisor, else the coordinators) that one follow-up is overdue. The claim
    (`overdue_alerted_at`) and the SMS rows are written in one transaction: a worker killed
    midway leaves nothing, and the next run does it all; a second run finds it claimed.
    Returns how many were told (0: not due, or done by another worker)."""
    with transaction.atomic():
        follow_up = (
            FollowUp.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("hotline", "assignee")
            .filter(
                pk=follow_up_id,
                status=FollowUp.Status.OPEN,
                overdue_alerted_at__isnull=True,
                due_at__lt=now,
            )
            .first()
        )
        if follow_up is None:
            return 0
        claimed = FollowUp.objects.filter(pk=follow_up.pk, overdue_alerted_at__isnull=True).update(
            overdue_alerted_at=now
        )
        if not claimed:
            return 0
        assignee = follow_up.assignee
        people = chain_first_people(
            hotline=follow_up.hotline,
            at=now,
            exclude_user_id=assignee.user_id if assignee else None,
        )
        for person in people:
            with translation.override(person.language or settings.LANGUAGE_CODE):
                body = _(
                    "Hotline Roster: follow-up %(id)s (%(kind)s) is overdue; assigned to %(who)s. %(link)s"
                ) % {
                    "id": follow_up.pk,
                    "kind": follow_up.get_kind_display(),
                    "who": assignee.display_name if assignee else _("nobody"),
                    "link": follow_up_link(follow_up),
                }
            sms_send(
                to=person.phone_number,
                body=body,
                dedupe_key=f"followup-overdue:{follow_up.pk}:v{person.pk}",
                purpose="followup",
            )
        audit_record(
            actor=None,
            action="followup.overdue",
            obj=follow_up,
            at=now,
            detail={"recipients": [p.pk for p in people]},
        )
        return len(people)


def follow_ups_alert_overdue(*, now: dt.datetime | None = None) -> int:
    """The schedule's job: alert every overdue follow-up not yet alerted. One failing
    follow-up never stops the others. Returns how many people were told."""
    now = now or timezone.now()
    told = 0
    for follow_up_id in follow_ups_overdue(now=now):
        try:
            told += follow_up_alert_overdue(follow_up_id=follow_up_id, now=now)
        except Exception:
            log.exception("follow-up %s: the overdue alert failed; retried next run", follow_up_id)
    return told
