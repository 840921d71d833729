from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.access import can_manage_rosters, is_coordinator, managed_hotlines_q, volunteer_of
from hotline.models import FollowUp, Hotline
from scheduling import holidays, services
from scheduling.forms import RosterForm
from scheduling.models import Assignment, Roster
from scheduling.rules import LIVE, PLANNED
from scheduling.selectors import (
    coverage_summary,
    roster_coverage,
    rosters_managed_by,
    rosters_visible_to,
)


@login_required
def home(request):
    coordinator = is_coordinator(request.user)
    volunteer = volunteer_of(request.user)
    upcoming = []
    if volunteer is not None:
        upcoming = (
            Assignment.objects.filter(
                volunteer=volunteer,
                status=Assignment.Status.ACTIVE,
                shift__roster__status=Roster.Status.PUBLISHED,
                shift__ends_at__gt=timezone.now(),
            )
            .select_related("shift__roster__hotline")
            .order_by("shift__starts_at")[:10]
        )
    rosters = []
    if coordinator:
        rosters = (
            rosters_managed_by(request.user).select_related("hotline").order_by("-first_day")[:12]
        )
    return render(
        request,
        "scheduling/pages/home.html",
        {
            "coordinator": coordinator,
            "volunteer": volunteer,
            "upcoming": upcoming,
            "rosters": rosters,
            "follow_ups": _follow_up_counts(volunteer),
        },
    )


def _follow_up_counts(volunteer) -> dict[str, int]:
    """The volunteer's open follow-ups and how many are overdue (one query)."""
    if volunteer is None:
        return {"open": 0, "overdue": 0}
    return FollowUp.objects.filter(assignee=volunteer, status=FollowUp.Status.OPEN).aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=timezone.now()))
    )


@login_required
def roster_detail(request, pk: int):
    coordinator = is_coordinator(request.user)
    roster = get_object_or_404(rosters_visible_to(request.user).select_related("hotline"), pk=pk)
    manages = rosters_managed_by(request.user).filter(pk=roster.pk).exists()
    # Coordinators of the roster see it with its staged changes; everyone else as published.
    coverage = roster_coverage(roster, PLANNED if manages else LIVE)
    return render(
        request,
        "scheduling/pages/roster_detail.html",
        {
            "roster": roster,
            "coverage": coverage,
            "summary": coverage_summary(coverage),
            "coordinator": coordinator,
        },
    )


@login_required
def roster_new(request):
    """A new roster: hotline, first and last day; shifts from the hotline's patterns. The
    period's Chinese public holidays and make-up working days are listed (and marked on the
    board); auto-fill counts holiday shifts like weekend shifts."""
    if not can_manage_rosters(request.user):
        raise PermissionDenied(_("Only coordinators make rosters."))
    hotlines = Hotline.objects.filter(managed_hotlines_q(request.user)).order_by("name", "id")
    form = RosterForm(request.POST or None, hotlines=hotlines)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            roster = services.roster_create(
                hotline=data["hotline"],
                first_day=data["first_day"],
                last_day=data["last_day"],
                with_patterns=data["with_patterns"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            count = roster.shifts.count()
            messages.success(
                request,
                _("Roster made with %(count)d shifts. Fill it on the board, then publish it.")
                % {"count": count},
            )
            special = roster_special_days(roster)
            if any(d.kind == holidays.UNKNOWN for d in special.values()):
                messages.warning(
                    request,
                    _(
                        "The public holidays of part of this period are not published yet: "
                        "those days are not marked."
                    ),
                )
            return redirect("scheduling:roster-board", roster.pk)
    return render(
        request,
        "scheduling/pages/roster_new.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def roster_special_days(roster) -> dict:
    """Public holidays and make-up working days of the roster's period (hotlines on the
    mainland calendar only)."""
    if not holidays.applies_to(roster.hotline.time_zone):
        return {}
    return holidays.days_between(roster.first_day, roster.last_day)
