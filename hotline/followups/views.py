"""Follow-up pages (mounted at /follow-ups/, namespace `followups`): my follow-ups, the
supervisors' queue, one follow-up (complete, reassign, call back through the hotline), a
follow-up from an escalation, and a volunteer asking for a debrief. Thin: hotline/access.py
decides who may do what, hotline/followups/selectors.py which rows they see (a follow-up
they may not see is a 404), the services change things and write the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hotline import access
from hotline.crisis.selectors import escalations_visible_to
from hotline.followups import callbacks, services
from hotline.followups import messages as sms
from hotline.followups.forms import CompleteForm, FromEscalationForm, ReassignForm, SmsForm
from hotline.followups.selectors import (
    follow_up_queue,
    follow_ups_assigned_to,
    follow_ups_visible_to,
)
from hotline.models import FollowUp

QUEUE_LIMIT = 300


@login_required
def my_follow_ups(request):
    now = timezone.now()
    volunteer = access.volunteer_of(request.user)
    rows = list(follow_ups_assigned_to(volunteer)[:QUEUE_LIMIT])
    for row in rows:
        row.overdue = row.due_at < now
    return render(
        request,
        "followups/my_list.html",
        {
            "rows": rows,
            "overdue_count": sum(1 for r in rows if r.overdue),
            "can_manage": access.can_manage_follow_ups(request.user)
            or access.can_see_debriefs(request.user),
            "can_request_debrief": access.active_volunteer_of(request.user) is not None,
        },
    )


@login_required
def follow_up_queue_page(request):
    if not (access.can_manage_follow_ups(request.user) or access.can_see_debriefs(request.user)):
        raise PermissionDenied
    now = timezone.now()
    hotline = request.GET.get("hotline", "")
    rows = list(
        follow_up_queue(request.user, hotline_id=int(hotline) if hotline.isdigit() else None)[
            :QUEUE_LIMIT
        ]
    )
    for row in rows:
        row.overdue = row.due_at < now
    return render(
        request,
        "followups/queue.html",
        {"rows": rows, "overdue_count": sum(1 for r in rows if r.overdue)},
    )


def _visible(request, pk: int) -> FollowUp:
    return get_object_or_404(follow_ups_visible_to(request.user), pk=pk)


@login_required
def follow_up_detail(request, pk: int):
    follow_up = _visible(request, pk)
    now = timezone.now()
    services.follow_up_viewed(follow_up=follow_up, by=request.user, now=now)
    can_work = access.can_work_follow_up(request.user, follow_up)
    can_reassign = can_work and (
        access.can_manage_follow_ups(request.user)
        or (follow_up.kind == FollowUp.Kind.DEBRIEF and access.can_see_debriefs(request.user))
    )
    return render(
        request,
        "followups/detail.html",
        {
            "f": follow_up,
            "now": now,
            "overdue": follow_up.is_overdue(now),
            "can_work": can_work and follow_up.is_open,
            "can_reassign": can_reassign and follow_up.is_open,
            "complete_form": CompleteForm(),
            "reassign_form": ReassignForm(initial={"assignee": follow_up.assignee_id}),
            "attempts": list(follow_up.attempts.select_related("volunteer")),
            "callable": follow_up.kind != FollowUp.Kind.DEBRIEF,
            "not_callable": callbacks.not_callable_reason(follow_up),
            "number_last4": callbacks.number_to_call(follow_up)[-4:],
            "not_sendable": sms.not_sendable_reason(follow_up),
            # The call's report page: its author's, or (a voicemail) whoever handles it.
            "report_link": follow_up.call_id is not None
            and follow_up.kind != FollowUp.Kind.DEBRIEF
            and (
                follow_up.report_id is not None
                or access.can_report_on(request.user, follow_up.call)
            ),
            "sms_form": SmsForm(),
            "sms_max": sms.BODY_MAX,
            "sms_sent": list(follow_up.sms.select_related("message", "sent_by__volunteer")),
        },
    )


@login_required
@require_POST
def follow_up_complete(request, pk: int):
    follow_up = _visible(request, pk)
    form = CompleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an outcome."))
        return redirect("followups:detail", pk=pk)
    try:
        services.follow_up_complete(
            follow_up=follow_up,
            by=request.user,
            status=form.cleaned_data["status"],
            notes=form.cleaned_data["notes"],
            now=timezone.now(),
        )
        messages.success(request, _("Follow-up closed."))
    except services.FollowUpConflict as exc:
        messages.error(request, exc.message)
    return redirect("followups:detail", pk=pk)


@login_required
@require_POST
def follow_up_reassign(request, pk: int):
    follow_up = _visible(request, pk)
    form = ReassignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose someone to assign it to."))
        return redirect("followups:detail", pk=pk)
    try:
        services.follow_up_reassign(
            follow_up=follow_up,
            by=request.user,
            assignee=form.cleaned_data["assignee"],
            now=timezone.now(),
        )
        messages.success(request, _("Reassigned."))
    except services.FollowUpConflict as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("followups:detail", pk=pk)


@login_required
@require_POST
def follow_up_call_back(request, pk: int):
    """Ring the signed-in volunteer's phone, then the caller, from the hotline's number."""
    follow_up = _visible(request, pk)
    try:
        attempt = callbacks.callback_start(
            follow_up=follow_up,
            by=request.user,
            now=timezone.now(),
            base_url=request.build_absolute_uri("/"),
        )
    except services.FollowUpConflict as exc:
        messages.error(request, exc.message)
        return redirect("followups:detail", pk=pk)
    if attempt.result == attempt.Result.FAILED:
        messages.error(request, _("The call could not be placed. Try again in a minute."))
    else:
        messages.success(
            request,
            _("Your phone will ring now. Answer and press 1 to be connected to the caller."),
        )
    return redirect("followups:detail", pk=pk)


@login_required
@require_POST
def follow_up_send_sms(request, pk: int):
    """Queue an SMS to the caller through the outbox, from the hotline's number."""
    follow_up = _visible(request, pk)
    try:
        sms.follow_up_sms_send(
            follow_up=follow_up,
            by=request.user,
            body=request.POST.get("body", ""),
            now=timezone.now(),
        )
    except services.FollowUpConflict as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The SMS is on its way, from the hotline's number."))
    return redirect("followups:detail", pk=pk)


@login_required
def follow_up_from_escalation(request, escalation_id: int):
    """A supervisor asks someone to confirm that help reached the caller."""
    if not access.can_manage_follow_ups(request.user):
        raise PermissionDenied
    escalation = get_object_or_404(escalations_visible_to(request.user), pk=escalation_id)
    form = FromEscalationForm(
        request.POST or None,
        initial={"due_at": services.default_due_at(timezone.localtime())},
    )
    if request.method == "POST" and form.is_valid():
        try:
            follow_up = services.follow_up_from_escalation(
                escalation=escalation,
                by=request.user,
                due_at=form.cleaned_data["due_at"],
                assignee=form.cleaned_data["assignee"],
                method=form.cleaned_data["method"],
                notes=form.cleaned_data["notes"],
                now=timezone.now(),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Follow-up created."))
            return redirect("followups:detail", pk=follow_up.pk)
    return render(
        request, "followups/from_escalation.html", {"form": form, "escalation": escalation}
    )


@login_required
@require_POST
def debrief_request(request):
    services.debrief_request(by=request.user, now=timezone.now())
    messages.success(
        request, _("A supervisor will contact you for a debrief within a day. Thank you.")
    )
    return redirect("scheduling:my-shifts")
