from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from hotline.access import is_coordinator, volunteer_of
from hotline.models import FollowUp
from scheduling.models import Assignment, Roster
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
    coverage = roster_coverage(roster)
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
