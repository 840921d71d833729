"""Call reports: filed by the volunteer who answered the call, editable by them for
REPORT_EDIT_HOURS, then closed to edits (addenda only). A report at risk 3 or more opens an
escalation in the same transaction (hotline.crisis.escalations.escalation_raise).

Services check who may write (one place for the web page and the API); who may read is
hotline.crisis.selectors.reports_visible_to. Every write and every view is audited.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from hotline import access
from hotline.conflicts import DomainConflict
from hotline.crisis.audit import audit_record
from hotline.crisis.escalations import escalation_raise
from hotline.followups.services import follow_up_from_report
from hotline.models import (
    ESCALATION_RISK,
    CallReport,
    CallReportAddendum,
    Escalation,
    Resource,
    TaxonomyAction,
)
from hotline.taxonomy.selectors import check_report_codes

EDITABLE_FIELDS = (
    "category",
    "sub_category",
    "caller_group",
    "caller_sex",
    "caller_age_band",
    "summary",
    "risk_level",
    "follow_up_needed",
    "referral",
)
# Set through the many-to-many, after the row is saved: a list of action codes, and a list
# of directory resource ids (the free-text `referral` stays beside them).
ACTIONS = "actions"
REFERRALS = "referred_resources"


class ReportConflict(DomainConflict):
    """The call already has a report, or the report is closed to edits."""


def edit_window() -> dt.timedelta:
    return dt.timedelta(hours=settings.REPORT_EDIT_HOURS)


def report_editable(report: CallReport, *, now: dt.datetime) -> bool:
    return now < report.created_at + edit_window()


def _is_author(user, report: CallReport) -> bool:
    volunteer = access.volunteer_of(user)
    return volunteer is not None and volunteer.pk == report.author_id


def _clean(data: dict, *, current: dict | None = None) -> dict:
    """The same checks as the model's field validators, for callers that skip a form, and
    the taxonomy's (hotline.taxonomy.selectors.check_report_codes): an unknown code, or one
    no longer offered that the report did not already carry, is refused."""
    errors = {}
    risk = data.get("risk_level")
    if not isinstance(risk, int) or isinstance(risk, bool) or not 0 <= risk <= 4:
        errors["risk_level"] = [_("Choose a risk level from 0 to 4.")]
    if not data.get("category"):
        errors["category"] = [_("Choose a category.")]
    if not data.get("caller_group"):
        errors["caller_group"] = [_("Choose a caller group.")]
    codes = {k: v for k, v in data.items() if k not in errors}
    errors.update(check_report_codes(codes, current=current))
    if data.get(REFERRALS):
        wanted = {int(i) for i in data[REFERRALS] if str(i).isdigit()}
        had = set((current or {}).get(REFERRALS) or [])
        listed = set(
            Resource.objects.filter(pk__in=wanted, active=True).values_list("pk", flat=True)
        )
        if len(wanted) != len(data[REFERRALS]) or wanted - listed - had:
            errors[REFERRALS] = [_("Choose resources from the directory.")]
    if errors:
        raise ValidationError(errors)
    return {k: data[k] for k in (*EDITABLE_FIELDS, ACTIONS, REFERRALS) if k in data}


def _set_actions(report: CallReport, codes) -> None:
    report.actions.set(TaxonomyAction.objects.filter(code__in=list(codes or [])))


def _set_referrals(report: CallReport, ids) -> None:
    report.referred_resources.set(Resource.objects.filter(pk__in=[int(i) for i in ids or []]))


def _escalate_if_high(report: CallReport, *, by, now: dt.datetime) -> Escalation | None:
    if report.risk_level < ESCALATION_RISK:
        return None
    return escalation_raise(
        call=report.call,
        by=by,
        reason=_("Call report at risk level %(level)s.") % {"level": report.risk_level},
        source=Escalation.Source.REPORT,
        report=report,
        risk_level=report.risk_level,
        now=now,
    )


@transaction.atomic
def report_create(
    *, call, by, data: dict, now: dt.datetime, safety: dict | None = None
) -> CallReport:
    """File the report on `call` by user `by` (must have answered it: else PermissionDenied).
    Raises ReportConflict if the call has a report already, ValidationError on bad data.
    With `follow_up_needed`, a follow-up is made with the caller's `safety` answers
    (safe_to_call, safe_to_leave_message, best_time, number)."""
    if not access.can_report_on(by, call):
        raise PermissionDenied(_("Only the volunteer who answered this call can report on it."))
    fields = _clean({"summary": "", "follow_up_needed": False, "referral": "", **data})
    actions = fields.pop(ACTIONS, [])
    referrals = fields.pop(REFERRALS, [])
    try:
        with transaction.atomic():
            report = CallReport.objects.create(
                call=call, author=access.volunteer_of(by), created_at=now, updated_at=now, **fields
            )
            _set_actions(report, actions)
            _set_referrals(report, referrals)
    except IntegrityError as exc:
        raise ReportConflict(
            "report_exists", _("This call already has a report: edit it instead.")
        ) from exc
    audit_record(
        actor=by,
        action="report.create",
        obj=report,
        at=now,
        detail={"call": call.pk, "risk_level": report.risk_level},
    )
    report.follow_up = follow_up_from_report(report=report, by=by, now=now, safety=safety)
    report.escalation = _escalate_if_high(report, by=by, now=now)
    return report


@transaction.atomic
def report_update(
    *, report: CallReport, by, data: dict, now: dt.datetime, safety: dict | None = None
) -> CallReport:
    """Change a report: its author only, within the edit window (else ReportConflict)."""
    report = (
        CallReport.objects.select_for_update(of=("self",)).select_related("call").get(pk=report.pk)
    )
    if not _is_author(by, report):
        raise PermissionDenied(_("Only the report's author can change it."))
    if not report_editable(report, now=now):
        raise ReportConflict(
            "report_closed",
            _("Reports can be changed for %(hours)s hours; add an addendum instead.")
            % {"hours": int(edit_window().total_seconds() // 3600)},
        )
    current = {k: getattr(report, k) for k in EDITABLE_FIELDS}
    current[ACTIONS] = sorted(report.actions.values_list("code", flat=True))
    current[REFERRALS] = sorted(report.referred_resources.values_list("pk", flat=True))
    fields = _clean({**current, **data}, current=current)
    actions = sorted(fields.pop(ACTIONS, current[ACTIONS]))
    referrals = sorted(int(i) for i in fields.pop(REFERRALS, current[REFERRALS]))
    changed = sorted(k for k, v in fields.items() if current[k] != v)
    if actions != current[ACTIONS]:
        changed = sorted([*changed, ACTIONS])
        _set_actions(report, actions)
    if referrals != current[REFERRALS]:
        changed = sorted([*changed, REFERRALS])
        _set_referrals(report, referrals)
    for key, value in fields.items():
        setattr(report, key, value)
    report.updated_at = now
    report.save()
    audit_record(
        actor=by,
        action="report.update",
        obj=report,
        at=now,
        # Field names and the risk level only: notes never go into the audit log.
        detail={"fields": changed, "risk_level": report.risk_level},
    )
    # Only a rise into the high levels opens (or joins) a chain: editing the summary of a
    # report whose escalation was resolved must not start a new one.
    raised = report.risk_level > current["risk_level"]
    report.follow_up = follow_up_from_report(report=report, by=by, now=now, safety=safety)
    report.escalation = _escalate_if_high(report, by=by, now=now) if raised else None
    return report


@transaction.atomic
def report_addendum_add(
    *, report: CallReport, by, text: str, now: dt.datetime
) -> CallReportAddendum:
    """Append a note to a report (its author only)."""
    if not _is_author(by, report):
        raise PermissionDenied(_("Only the report's author can add to it."))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": [_("Write the addendum.")]})
    addendum = CallReportAddendum.objects.create(
        report=report, author=by, text=text[:5000], created_at=now
    )
    audit_record(
        actor=by, action="report.addendum", obj=report, at=now, detail={"addendum": addendum.pk}
    )
    return addendum


def report_viewed(*, report: CallReport, by, now: dt.datetime, via: str = "web") -> None:
    audit_record(actor=by, action="report.view", obj=report, at=now, detail={"via": via})
