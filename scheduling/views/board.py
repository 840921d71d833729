"""The coverage board: a roster's week as a grid (days × shifts) for coordinators.

Plain POST forms and redirects (works without JavaScript); a small script only polls the
auto-fill status. The grid and a shift's candidates are read by `scheduling.selectors`
(`board_week`, `shift_candidates`); every change goes through `scheduling.services` /
`scheduling.builder`.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from hotline.access import can_manage_rosters, managed_organisations_q
from hotline.dates import date_in_range
from hotline.ids import id_or_404
from hotline.models import Volunteer
from scheduling import builder, services
from scheduling.forms import ShiftEditForm
from scheduling.models import Assignment, AutofillRun, Roster, Shift
from scheduling.rules import PLANNED, RuleViolation
from scheduling.selectors import (
    assignments_conflicts,
    board_week,
    roster_pending_changes,
    rosters_managed_by,
    shift_candidates,
    shift_people,
)
from scheduling.views.pages import roster_special_days

TIME_LIMIT_CHOICES = (5, 10, 30, 60)


def _coordinator_only(request: HttpRequest) -> None:
    if not can_manage_rosters(request.user):
        raise PermissionDenied(_("Only coordinators use the coverage board."))


def _roster(request: HttpRequest, pk: int) -> Roster:
    return get_object_or_404(rosters_managed_by(request.user).select_related("hotline"), pk=pk)


def _managed_volunteers(request: HttpRequest):
    """The volunteers this coordinator may put on shifts: those they manage."""
    return Volunteer.objects.filter(managed_organisations_q(request.user, "organisation__"))


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _week_of(request: HttpRequest, roster: Roster) -> dt.date:
    """The Monday of the week asked for, kept within the roster's weeks."""
    first, last = _monday(roster.first_day), _monday(roster.last_day)
    raw = request.GET.get("week") or request.POST.get("week")
    try:
        day = dt.date.fromisoformat(raw[:10]) if raw else None
    except ValueError:
        day = None
    if not date_in_range(day):  # year 1 or 9999: as if no week were asked for
        day = None
    if day is None:
        today = timezone.now().astimezone(roster.hotline.tz).date()
        day = today if roster.first_day <= today <= roster.last_day else roster.first_day
    return min(max(_monday(day), first), last)


def _board_url(
    roster: Roster,
    week: dt.date | None = None,
    shift_id: int | None = None,
    anchor: str = "",
) -> str:
    query = {}
    if week is not None:
        query["week"] = week.isoformat()
    if shift_id is not None:
        query["shift"] = shift_id
    url = reverse("scheduling:roster-board", args=[roster.pk])
    anchor = anchor or (f"shift-{shift_id}" if shift_id else "")
    suffix = f"#{anchor}" if anchor else ""
    return f"{url}?{urlencode(query)}{suffix}" if query else f"{url}{suffix}"


# A refusal is shown next to the control that caused it, after a redirect (a reload does not
# post again): kept in the session for the next view of the board.
PANEL_ERROR = "board_panel_error"


def _refuse_in_panel(
    request: HttpRequest, roster: Roster, week: dt.date, shift_id: int, message: str
) -> HttpResponse:
    request.session[PANEL_ERROR] = {"shift": shift_id, "message": message}
    return redirect(_board_url(roster, week, shift_id))


def _change_message(assignment: Assignment, done: str) -> str:
    """What happened to a coordinator's change: staged, urgent (told at once), or done."""
    mode = getattr(assignment, "change_mode", services.DIRECT)
    if mode == services.STAGED:
        return _("%(done)s Pending: volunteers see it once you publish the changes.") % {
            "done": done
        }
    if mode == services.URGENT:
        return _("%(done)s Urgent change: it took effect now and the volunteer is told.") % {
            "done": done
        }
    return done


def _render_board(
    request: HttpRequest,
    roster: Roster,
    week: dt.date,
    *,
    open_shift_id: int | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    grid = board_week(roster, week)
    special = roster_special_days(roster)
    for row in grid["rows"]:
        row["special"] = special.get(row["day"])
    first, last = _monday(roster.first_day), _monday(roster.last_day)
    open_shift = None
    candidates = []
    on_shift = []
    on_shift_conflicts = {}
    if open_shift_id is not None:
        open_shift = grid["shifts"].get(open_shift_id)
        if open_shift is None:  # a shift of another week of this roster
            open_shift = Shift.objects.filter(roster=roster, pk=open_shift_id).first()
            if open_shift is not None:
                open_shift.roster = roster
        if open_shift is not None:
            on_shift = shift_people(open_shift)
            candidates = shift_candidates(open_shift, on_shift, among=_managed_volunteers(request))
            planned = [a for a in on_shift if not a.pending_cancel]
            for a in planned:
                a.shift = open_shift
            on_shift_conflicts = {
                c.assignment.pk: c.reason for c in assignments_conflicts(planned, PLANNED)
            }
    run = builder.autofill_latest(roster)
    panel_error = request.session.pop(PANEL_ERROR, None)
    if not error and panel_error and panel_error.get("shift") == open_shift_id:
        error = panel_error.get("message", "")
    now = timezone.now()
    return render(
        request,
        "scheduling/board/board.html",
        {
            "roster": roster,
            "week": week,
            "week_end": week + dt.timedelta(days=6),
            "prev_week": week - dt.timedelta(days=7) if week > first else None,
            "next_week": week + dt.timedelta(days=7) if week < last else None,
            "grid": grid,
            "open_shift": open_shift,
            "on_shift": on_shift,
            "on_shift_conflicts": on_shift_conflicts,
            "candidates": candidates,
            "error": error,
            "run": run,
            "run_stage": builder.stage_label(run.message) if run else "",
            "run_reasons": builder.unfilled_reasons((run.result or {}).get("unfilled", []))
            if run and run.status == AutofillRun.Status.DONE
            else [],
            "time_limits": TIME_LIMIT_CHOICES,
            "modes": AutofillRun.Mode.choices,
            "changes": roster_pending_changes(roster) if roster.is_published else None,
            "freeze_hours": services.freeze_hours(),
            "open_shift_urgent": bool(
                open_shift is not None
                and roster.is_published
                and services.is_frozen(open_shift, now=now)
            ),
            "run_options": _run_options(run),
            # Why fewer than three choices (e.g. a new roster: nothing earlier to keep).
            "run_notes": builder.option_notes((run.result or {}).get("notes", []))
            if run and run.status == AutofillRun.Status.DONE
            else [],
        },
        status=status,
    )


@login_required
@require_GET
def board(request: HttpRequest, pk: int) -> HttpResponse:
    _coordinator_only(request)
    roster = _roster(request, pk)
    try:
        open_shift_id = id_or_404(request.GET.get("shift"))
    except Http404:
        open_shift_id = None
    return _render_board(request, roster, _week_of(request, roster), open_shift_id=open_shift_id)


@login_required
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    _coordinator_only(request)
    roster = _roster(request, pk)
    week = _week_of(request, roster)
    shift = get_object_or_404(Shift, roster=roster, pk=id_or_404(request.POST.get("shift")))
    volunteer = get_object_or_404(
        _managed_volunteers(request), pk=id_or_404(request.POST.get("volunteer"))
    )
    role = request.POST.get("role", "")
    override_reason = request.POST.get("override_reason", "")
    if request.POST.get("override") and not override_reason.strip():
        # "Assign anyway" needs the reason the override is recorded with.
        return _refuse_in_panel(
            request,
            roster,
            week,
            shift.pk,
            _("Give a reason to assign %(name)s anyway; it is recorded with the assignment.")
            % {"name": volunteer.display_name},
        )
    try:
        assignment = services.assignment_create(
            shift=shift,
            volunteer=volunteer,
            role=role,
            by=request.user,
            locked=bool(request.POST.get("locked")),
            override_reason=override_reason,
        )
    except RuleViolation as exc:
        # Shown in place, next to the shift, in the coordinator's language.
        return _refuse_in_panel(request, roster, week, shift.pk, exc.message)
    done = _("%(name)s is on the shift %(when)s.") % {
        "name": volunteer.display_name,
        "when": shift,
    }
    messages.success(request, _change_message(assignment, done))
    return redirect(_board_url(roster, week, shift.pk))


@login_required
@require_POST
def unassign(request: HttpRequest, pk: int, assignment_id: int) -> HttpResponse:
    _coordinator_only(request)
    roster = _roster(request, pk)
    assignment = get_object_or_404(
        Assignment.objects.select_related("volunteer"), pk=assignment_id, shift__roster=roster
    )
    shift_id = assignment.shift_id
    result = services.assignment_cancel(assignment=assignment, by=request.user)
    name = assignment.volunteer.display_name
    if getattr(result, "change_mode", "") == "reverted":
        messages.success(
            request, _("The pending addition of %(name)s is taken back.") % {"name": name}
        )
    else:
        done = _("%(name)s is off the shift.") % {"name": name}
        messages.success(request, _change_message(result, done))
    return redirect(_board_url(roster, _week_of(request, roster), shift_id))


@login_required
@require_POST
def lock(request: HttpRequest, pk: int, assignment_id: int) -> HttpResponse:
    _coordinator_only(request)
    roster = _roster(request, pk)
    assignment = get_object_or_404(Assignment, pk=assignment_id, shift__roster=roster)
    try:
        services.assignment_update(
            assignment=assignment, by=request.user, locked=bool(request.POST.get("locked"))
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_board_url(roster, _week_of(request, roster), assignment.shift_id))


@login_required
@require_POST
def shift_edit(request: HttpRequest, pk: int, shift_id: int) -> HttpResponse:
    """Change a shift's times or seats from its panel: staged on a published roster, urgent
    within the freeze window, direct on a draft (services.shift_update)."""
    _coordinator_only(request)
    roster = _roster(request, pk)
    week = _week_of(request, roster)
    shift = get_object_or_404(Shift.objects.select_related("roster__hotline"), pk=shift_id)
    if shift.roster_id != roster.pk:
        raise Http404
    with timezone.override(roster.hotline.tz):  # the times are the hotline's wall clock
        form = ShiftEditForm(request.POST)
        valid = form.is_valid()
    if not valid:
        problems = [e for errors in form.errors.values() for e in errors]
        return _refuse_in_panel(request, roster, week, shift.pk, " ".join(problems))
    changes = {
        name: value for name, value in form.cleaned_data.items() if getattr(shift, name) != value
    }
    if not changes:
        return redirect(_board_url(roster, week, shift.pk))
    try:
        updated = services.shift_update(shift=shift, by=request.user, **changes)
    except RuleViolation as exc:
        return _refuse_in_panel(
            request, roster, week, shift.pk, " ".join(v.message for v in exc.violations)
        )
    except ValidationError as exc:
        return _refuse_in_panel(request, roster, week, shift.pk, " ".join(exc.messages))
    messages.success(request, _change_message(updated, _("The shift is changed.")))
    return redirect(_board_url(roster, week, shift.pk))


@login_required
@require_POST
def autofill(request: HttpRequest, pk: int) -> HttpResponse:
    _coordinator_only(request)
    roster = _roster(request, pk)
    week = _week_of(request, roster)
    mode = request.POST.get("mode", AutofillRun.Mode.FILL)
    if mode not in AutofillRun.Mode.values:
        mode = AutofillRun.Mode.FILL
    try:
        time_limit = float(request.POST.get("time_limit") or builder.DEFAULT_TIME_LIMIT)
    except ValueError:
        time_limit = builder.DEFAULT_TIME_LIMIT
    scope = {"include_frozen": bool(request.POST.get("include_frozen"))}
    which = request.POST.get("scope", "roster")
    if which == "week":
        scope["first_day"], scope["last_day"] = week, week + dt.timedelta(days=6)
    elif which == "range":
        scope["first_day"] = request.POST.get("first_day") or None
        scope["last_day"] = request.POST.get("last_day") or None
    options = bool(request.POST.get("options")) and mode == AutofillRun.Mode.REBUILD
    try:
        builder.autofill_start(
            roster=roster,
            mode=mode,
            time_limit=time_limit,
            by=request.user,
            scope=scope,
            options=options,
        )
    except (builder.AutofillBusy, builder.BuildRefused) as exc:
        messages.error(request, str(exc))
    return redirect(_board_url(roster, week, anchor="autofill"))


@login_required
@require_GET
def autofill_status(request: HttpRequest, pk: int, run_id: int) -> JsonResponse:
    _coordinator_only(request)
    roster = _roster(request, pk)
    run = get_object_or_404(AutofillRun, pk=run_id, roster=roster)
    return JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "status_label": run.get_status_display(),
            "progress": run.progress,
            "stage": run.message if run.status != AutofillRun.Status.FAILED else "failed",
            "stage_label": builder.stage_label(run.message),
            "live": run.is_live,
        }
    )


def _run_options(run: AutofillRun | None) -> list[dict]:
    """An options run's alternatives, as lines for the board (newest run only)."""
    if run is None or run.status != AutofillRun.Status.DONE:
        return []
    labels = {
        "fewest_changes": _("Fewest changes"),
        "balanced": _("Balanced"),
        "fairest": _("Fairest"),
        "no_change": _("No change needed"),
    }
    return [
        {**option, "label": labels.get(option["key"], option["key"])}
        for option in (run.result or {}).get("options", [])
    ]


@login_required
@require_POST
def choose(request: HttpRequest, pk: int, run_id: int) -> HttpResponse:
    """The coordinator picks one of an options run's alternatives: it becomes the roster's
    pending changes (a draft roster: its assignments)."""
    _coordinator_only(request)
    roster = _roster(request, pk)
    run = get_object_or_404(AutofillRun, pk=run_id, roster=roster)
    try:
        applied = builder.option_apply(run=run, key=request.POST.get("option", ""), by=request.user)
    except builder.BuildRefused as exc:
        messages.error(request, str(exc))
        return redirect(_board_url(roster, _week_of(request, roster), anchor="autofill"))
    messages.success(
        request,
        _("Option chosen: %(created)d added, %(cancelled)d removed.")
        % {"created": applied["created"], "cancelled": applied["cancelled"]}
        + (" " + _("Review the pending changes, then publish them.") if applied["staged"] else ""),
    )
    anchor = "pending-changes" if applied["staged"] else "autofill"
    return redirect(_board_url(roster, _week_of(request, roster), anchor=anchor))


@login_required
@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    _coordinator_only(request)
    roster = _roster(request, pk)
    week = _week_of(request, roster)
    was_published = roster.is_published
    try:
        roster = services.roster_publish(roster=roster, by=request.user)
    except RuleViolation as exc:
        messages.error(
            request,
            _("Nothing was published: %(reason)s")
            % {"reason": " ".join(v.message for v in exc.violations)},
        )
        return redirect(_board_url(roster, week, anchor="pending-changes"))
    if was_published:
        applied = roster.published_changes
        messages.success(
            request,
            _(
                "Changes published: %(added)d added, %(removed)d removed. Only the volunteers "
                "whose shifts changed are told."
            )
            % applied,
        )
        if applied.get("shifts"):
            messages.success(
                request,
                ngettext(
                    "%(count)d shift changed: its volunteers are told the new times.",
                    "%(count)d shifts changed: their volunteers are told the new times.",
                    applied["shifts"],
                )
                % {"count": applied["shifts"]},
            )
    else:
        messages.success(
            request, _("The roster is published; volunteers whose shifts changed are told.")
        )
    return redirect(_board_url(roster, week))


@login_required
@require_POST
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    _coordinator_only(request)
    roster = _roster(request, pk)
    taken_back = services.roster_changes_discard(roster=roster, by=request.user)
    messages.success(
        request,
        _("Pending changes discarded: %(added)d additions and %(removed)d removals taken back.")
        % taken_back,
    )
    if taken_back.get("shifts"):
        messages.success(
            request,
            ngettext(
                "%(count)d shift edit taken back.",
                "%(count)d shift edits taken back.",
                taken_back["shifts"],
            )
            % {"count": taken_back["shifts"]},
        )
    return redirect(_board_url(roster, _week_of(request, roster)))
