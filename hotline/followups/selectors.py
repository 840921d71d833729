"""Reads for follow-ups: which a user may see (on the predicates of hotline/access.py),
a volunteer's own list and counts, the supervisors' queue, what is overdue. Each is a
bounded number of queries."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from hotline import access
from hotline.models import FollowUp, Volunteer

DEBRIEF = FollowUp.Kind.DEBRIEF


def _with_related(qs: QuerySet[FollowUp]) -> QuerySet[FollowUp]:
    return qs.select_related("hotline", "assignee", "volunteer", "call", "callback")


def follow_ups_visible_to(user) -> QuerySet[FollowUp]:
    """Supervisors: every follow-up, debriefs included. Coordinators: those of the hotlines
    they manage, never a debrief (debrief notes are for supervisors only). Other volunteers:
    those assigned to them, never a debrief about them. Anonymous: none."""
    qs = _with_related(FollowUp.objects.all())
    if user is None or not user.is_authenticated:
        return qs.none()
    mine = Q(pk__in=[])
    volunteer = access.active_volunteer_of(user)
    if volunteer is not None:
        mine = Q(assignee=volunteer)
    if access.can_see_debriefs(user):
        return qs
    if access.can_manage_follow_ups(user):
        return qs.exclude(kind=DEBRIEF).filter(
            access.managed_hotlines_q(user, "hotline__") | Q(hotline__isnull=True) | mine
        )
    return qs.filter(mine).exclude(kind=DEBRIEF)


def follow_ups_assigned_to(volunteer: Volunteer | None) -> QuerySet[FollowUp]:
    """A volunteer's open follow-ups, the earliest due first."""
    if volunteer is None:
        return FollowUp.objects.none()
    return _with_related(
        FollowUp.objects.filter(assignee=volunteer, status=FollowUp.Status.OPEN)
    ).order_by("due_at", "id")


def follow_up_queue(user, *, hotline_id: int | None = None) -> QuerySet[FollowUp]:
    """The supervisors' queue: every open follow-up they may see, unassigned first, then
    the earliest due."""
    qs = follow_ups_visible_to(user).filter(status=FollowUp.Status.OPEN)
    if hotline_id:
        qs = qs.filter(hotline_id=hotline_id)
    unassigned_first = Case(
        When(assignee__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return qs.annotate(assigned_rank=unassigned_first).order_by("assigned_rank", "due_at", "id")


def follow_ups_overdue(*, now: dt.datetime, limit: int = 500) -> list[int]:
    """Ids of open follow-ups past due whose overdue alert has not gone out."""
    return list(
        FollowUp.objects.filter(
            status=FollowUp.Status.OPEN, overdue_alerted_at__isnull=True, due_at__lt=now
        )
        .order_by("due_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def assignable_volunteers() -> QuerySet[Volunteer]:
    """Who a follow-up may be assigned to: active volunteers with an active login."""
    return Volunteer.objects.filter(is_active=True, user__is_active=True).order_by(
        "display_name", "id"
    )
