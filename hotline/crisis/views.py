"""Crisis pages: the call report, raising an escalation by hand, the supervisors'
dashboard and an escalation's page. Thin: hotline/access.py decides who may do what and
hotline/crisis/selectors.py which rows they see, hotline/crisis/reports.py and escalations.py change things and write the audit log."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hotline.access import can_escalate, can_report_on, is_crisis_staff, volunteer_of
from hotline.crisis import escalations, reports
from hotline.crisis.audit import action_words, actor_words, audit_trail
from hotline.crisis.forms import AddendumForm, RaiseForm, ReportForm, ResolveForm
from hotline.crisis.selectors import (
    calls_reportable_by,
    escalations_for_dashboard,
    escalations_visible_to,
    reports_visible_to,
)
from hotline.followups.forms import SafetyForm
from hotline.links import ActionLinkInvalid, action_token_read
from hotline.models import (
    RISK_DESCRIPTIONS,
    Call,
    CallReport,
    Escalation,
    NonDataType,
    RiskLevel,
)
from hotline.taxonomy import selectors as taxonomy

DASHBOARD_RESOLVED_DAYS = 7
REFRESH_SECONDS = 30


def _risk_choices():
    return [(level, label, RISK_DESCRIPTIONS[level]) for level, label in RiskLevel.choices]


def _visible_call(user, call_id: int) -> Call:
    """A call's pages (report, escalate) are for the people who may escalate it."""
    call = get_object_or_404(Call.objects.select_related("hotline", "answered_by"), pk=call_id)
    if not can_escalate(user, call):
        raise PermissionDenied
    return call


@login_required
def call_report(request, call_id: int):
    """File, edit (author, first 24 h), read (author, supervisors, coordinators) and add to
    the report on one call."""
    now = timezone.now()
    call = _visible_call(request.user, call_id)
    report = reports_visible_to(request.user).filter(call=call).first()
    author = can_report_on(request.user, call)
    if report is None and CallReport.objects.filter(call=call).exists():
        raise PermissionDenied  # someone else's report (the answerer changed): not visible
    editable = bool(report and author and reports.report_editable(report, now=now))
    form = addendum_form = None
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "addendum" and report is not None:
                addendum_form = AddendumForm(request.POST)
                if addendum_form.is_valid():
                    reports.report_addendum_add(
                        report=report,
                        by=request.user,
                        text=addendum_form.cleaned_data["text"],
                        now=now,
                    )
                    messages.success(request, _("Addendum added."))
                    return redirect("calls:report", call_id=call.pk)
            else:
                if not author:
                    raise PermissionDenied
                form = ReportForm(request.POST, instance=report if editable else None)
                safety_form = SafetyForm(request.POST)
                if form.is_valid() and safety_form.is_valid():
                    data = {k: form.cleaned_data[k] for k in reports.EDITABLE_FIELDS}
                    data[reports.ACTIONS] = form.cleaned_data["actions"]
                    data[reports.REFERRALS] = form.cleaned_data["referred_resources"]
                    safety = safety_form.answers()
                    if report is None:
                        saved = reports.report_create(
                            call=call, by=request.user, data=data, now=now, safety=safety
                        )
                    else:
                        saved = reports.report_update(
                            report=report, by=request.user, data=data, now=now, safety=safety
                        )
                    if getattr(saved, "escalation", None) is not None:
                        messages.warning(
                            request,
                            _("Risk level %(level)s: the supervisors are being alerted.")
                            % {"level": saved.risk_level},
                        )
                    else:
                        messages.success(request, _("Report saved."))
                    return redirect("calls:report", call_id=call.pk)
        except reports.ReportConflict as exc:
            messages.error(request, exc.message)
            return redirect("calls:report", call_id=call.pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    if report is not None:
        reports.report_viewed(report=report, by=request.user, now=now)
    if form is None and (report is None and author or editable):
        form = ReportForm(
            instance=report, initial={} if report else {"category": call.category or None}
        )
    if addendum_form is None and report is not None and author and not editable:
        addendum_form = AddendumForm()
    return render(
        request,
        "crisis/report.html",
        {
            "call": call,
            "report": report,
            "form": form,
            "safety_form": SafetyForm(),
            "shown": _report_labels(report) if report is not None else None,
            "non_data_types": NonDataType.choices,
            "addendum_form": addendum_form,
            "addenda": list(report.addenda.all()) if report else [],
            "risk_choices": _risk_choices(),
            "risk_description": RISK_DESCRIPTIONS.get(report.risk_level) if report else None,
            "escalation": call.escalations.order_by("-opened_at").first(),
            "edit_until": report.created_at + reports.edit_window() if report else None,
        },
    )


def _report_labels(report: CallReport) -> dict:
    """The report's taxonomy codes as labels in the reader's language (a code since deleted
    shows as itself)."""
    names = taxonomy.labels()
    return {
        "category": names["category"].get(report.category, report.category),
        "sub_category": names["category"].get(report.sub_category, report.sub_category),
        "caller_group": names["caller_group"].get(report.caller_group, report.caller_group),
        "actions": [
            names["action"].get(c, c) for c in report.actions.values_list("code", flat=True)
        ],
    }


@login_required
def call_escalate(request, call_id: int):
    """Raise an escalation by hand (also while still on the call), with a reason."""
    call = _visible_call(request.user, call_id)
    form = RaiseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        escalation = escalations.escalation_raise(
            call=call,
            by=request.user,
            reason=form.cleaned_data["reason"],
            now=timezone.now(),
        )
        messages.warning(
            request,
            _("Escalation opened (code %(code)s): the supervisors are being alerted.")
            % {"code": escalation.code},
        )
        return redirect("crisis:escalation", pk=escalation.pk)
    return render(request, "crisis/raise.html", {"call": call, "form": form})


@login_required
def crisis_home(request):
    """Supervisors and coordinators: the escalation dashboard. Volunteers: their calls and
    reports, with the buttons to report and to escalate."""
    now = timezone.now()
    if not is_crisis_staff(request.user):
        volunteer = volunteer_of(request.user)
        if volunteer is None:
            raise PermissionDenied
        return render(
            request,
            "crisis/my_calls.html",
            {
                "calls": calls_reportable_by(volunteer),
                "mine": list(
                    escalations_visible_to(request.user).filter(status__in=escalations.LIVE)
                ),
            },
        )
    rows = escalations_for_dashboard(since=now - dt.timedelta(days=DASHBOARD_RESOLVED_DAYS))
    return render(
        request,
        "crisis/dashboard.html",
        {
            "escalations": rows,
            "open_count": sum(1 for e in rows if e.status == Escalation.Status.OPEN),
            "now": now,
            "refresh_seconds": REFRESH_SECONDS,
            "resolve_form": ResolveForm(),
        },
    )


@login_required
def escalation_detail(request, pk: int):
    escalation = get_object_or_404(escalations_visible_to(request.user), pk=pk)
    now = timezone.now()
    escalations.escalation_viewed(escalation=escalation, by=request.user, now=now)
    staff = is_crisis_staff(request.user)
    return render(
        request,
        "crisis/escalation.html",
        {
            "e": escalation,
            "staff": staff,
            "now": now,
            "alerts": list(escalation.alerts.select_related("recipient", "message")),
            "trail": [
                {"at": entry.at, "who": actor_words(entry), "what": action_words(entry)}
                for entry in audit_trail(escalation)
            ]
            if staff
            else [],
            "resolve_form": ResolveForm(),
        },
    )


def _staff_escalation(request, pk: int) -> Escalation:
    if not is_crisis_staff(request.user):
        raise PermissionDenied
    return get_object_or_404(Escalation, pk=pk)


def _back(request, escalation: Escalation):
    target = request.POST.get("next", "")
    if target == "dashboard":
        return redirect("crisis:home")
    return redirect("crisis:escalation", pk=escalation.pk)


@login_required
@require_POST
def escalation_acknowledge(request, pk: int):
    escalation = _staff_escalation(request, pk)
    try:
        escalations.escalation_acknowledge(
            escalation=escalation,
            by=request.user,
            now=timezone.now(),
            channel=Escalation.Channel.WEB,
        )
        messages.success(request, _("Acknowledged: the alerts have stopped."))
    except escalations.EscalationConflict as exc:
        messages.error(request, exc.message)
    return _back(request, escalation)


@login_required
def escalation_take(request, token: str):
    """A WeCom card's button: the signed link names the escalation and the person it was sent
    to. Opening it (after login, as that person) shows a button; pressing it acknowledges
    through `wecom`. A forged, altered or expired link, or another person's, changes
    nothing. A GET never acknowledges: chat apps open links to preview them."""
    try:
        escalation_id, volunteer_id = action_token_read(token, action="escalation")
    except ActionLinkInvalid:
        return render(
            request,
            "crisis/take.html",
            {"error": _("This link is not valid or has expired. Open the escalation instead.")},
            status=403,
        )
    volunteer = volunteer_of(request.user)
    if volunteer is None or volunteer.pk != volunteer_id or not is_crisis_staff(request.user):
        return render(
            request,
            "crisis/take.html",
            {"error": _("This link was sent to someone else.")},
            status=403,
        )
    escalation = get_object_or_404(Escalation, pk=escalation_id)
    if request.method == "POST":
        try:
            escalations.escalation_take_link(
                escalation=escalation, by=request.user, now=timezone.now()
            )
            messages.success(request, _("Acknowledged: the alerts have stopped."))
        except escalations.EscalationConflict as exc:
            messages.error(request, exc.message)
        return redirect("crisis:escalation", pk=escalation.pk)
    return render(request, "crisis/take.html", {"e": escalation, "token": token})


@login_required
@require_POST
def escalation_resolve(request, pk: int):
    escalation = _staff_escalation(request, pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an outcome."))
        return _back(request, escalation)
    try:
        escalations.escalation_resolve(
            escalation=escalation,
            by=request.user,
            outcome=form.cleaned_data["outcome"],
            notes=form.cleaned_data["notes"],
            now=timezone.now(),
            channel=Escalation.Channel.WEB,
        )
        messages.success(request, _("Resolved."))
    except escalations.EscalationConflict as exc:
        messages.error(request, exc.message)
    return _back(request, escalation)
