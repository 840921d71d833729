"""Reads for crisis work: the reports and escalations a user may see (on the predicates of
hotline/access.py), who each tier of the alert chain reaches, and the dashboard's list.
Each is a bounded number of queries."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When

from hotline import access
from hotline.models import Call, CallReport, Escalation, EscalationAlert, Volunteer
from hotline.phone import normalize_phone
from scheduling.selectors import volunteers_on_shift

TIER_ON_SHIFT, TIER_SUPERVISORS, TIER_COORDINATORS = 1, 2, 3
LAST_TIER = TIER_COORDINATORS


def reports_visible_to(user) -> QuerySet[CallReport]:
    """Coordinators: the reports of the hotlines they manage. Supervisors: every report.
    Other volunteers: their own."""
    qs = CallReport.objects.select_related("call__hotline", "author__user")
    if access.is_coordinator(user):
        return qs.filter(access.managed_hotlines_q(user, "call__hotline__"))
    if access.is_crisis_staff(user):
        return qs
    volunteer = access.active_volunteer_of(user)
    if volunteer is None:
        return qs.none()
    return qs.filter(author=volunteer)


def escalations_visible_to(user) -> QuerySet[Escalation]:
    """Coordinators: the escalations of the hotlines they manage. Supervisors: every one.
    Anyone else: those they raised."""
    # What the pages and the API serializer show: no N+1 on a list of resolved escalations.
    qs = Escalation.objects.select_related(
        "hotline", "acknowledged_by__volunteer", "resolved_by__volunteer"
    )
    if access.is_coordinator(user):
        return qs.filter(access.managed_hotlines_q(user, "hotline__"))
    if access.is_crisis_staff(user):
        return qs
    if user is None or not user.is_authenticated:
        return qs.none()
    return qs.filter(raised_by=user)


def calls_reportable_by(volunteer: Volunteer, *, limit: int = 50) -> list[Call]:
    """The volunteer's answered calls, newest first, with their report (or None). Two queries."""
    calls = list(
        Call.objects.filter(answered_by=volunteer)
        .select_related("hotline")
        .order_by("-arrived_at", "-id")[:limit]
    )
    reports = {r.call_id: r for r in CallReport.objects.filter(call__in=calls)}
    for call in calls:
        call.report_or_none = reports.get(call.pk)
    return calls


def tier_recipients(*, escalation: Escalation, tier: int, at: dt.datetime) -> list[Volunteer]:
    """Who tier `tier` reaches at `at`, one per phone number, never the person who raised
    the escalation (they know already; an empty tier moves the chain on). One query.

    1: volunteers with the supervisor role on shift on the escalation's hotline now — those
       rostered as supervisor and supervisors rostered in another role alike;
    2: every active supervisor;
    3: the coordinators (as `is_coordinator` decides) who have an active Volunteer
       record — it carries their phone number.
    """
    return chain_tier_people(
        hotline=escalation.hotline, tier=tier, at=at, exclude_user_id=escalation.raised_by_id
    )


def chain_tier_people(
    *, hotline, tier: int, at: dt.datetime, exclude_user_id: int | None = None
) -> list[Volunteer]:
    """The escalation chain's tier `tier` on `hotline` at `at` (see tier_recipients), for
    anything that goes "up the chain" (an overdue follow-up too). One query."""
    if tier == TIER_ON_SHIFT:
        if hotline is None:
            return []
        qs = volunteers_on_shift(hotline, at).filter(is_supervisor=True)
    elif tier == TIER_SUPERVISORS:
        qs = Volunteer.objects.filter(is_active=True, is_supervisor=True)
    elif tier == TIER_COORDINATORS:
        qs = Volunteer.objects.filter(is_active=True).filter(access.coordinator_q())
    else:
        raise ValueError(f"no tier {tier}")
    qs = qs.filter(user__is_active=True).exclude(phone_number="")
    if exclude_user_id:
        qs = qs.exclude(user_id=exclude_user_id)
    seen: set[str] = set()
    result = []
    for volunteer in qs.distinct().order_by("id"):
        if volunteer.phone_number not in seen:
            seen.add(volunteer.phone_number)
            result.append(volunteer)
    return result


def chain_first_people(
    *, hotline, at: dt.datetime, exclude_user_id: int | None = None
) -> list[Volunteer]:
    """The first non-empty tier of the chain (on shift, then every supervisor, then the
    coordinators): who hears about something once, without a chain of its own."""
    for tier in (TIER_ON_SHIFT, TIER_SUPERVISORS, TIER_COORDINATORS):
        people = chain_tier_people(
            hotline=hotline, tier=tier, at=at, exclude_user_id=exclude_user_id
        )
        if people:
            return people
    return []


def crisis_staff_by_phone(number: str) -> Volunteer | None:
    """The supervisor or coordinator whose phone is `number`, or None. One query."""
    try:
        number = normalize_phone(number)
    except Exception:  # noqa: BLE001 - an unreadable sender is simply nobody we know
        return None
    return (
        Volunteer.objects.filter(phone_number=number, is_active=True, user__is_active=True)
        .filter(Q(is_supervisor=True) | access.coordinator_q())
        .select_related("user")
        .order_by("id")
        .first()
    )


def escalations_for_dashboard(*, since: dt.datetime, limit: int = 100) -> list[Escalation]:
    """Open first, then acknowledged, then those resolved since `since`; newest first in each.
    Alerts (with recipient and SMS status) prefetched: three queries whatever the size."""
    status_rank = Case(
        When(status=Escalation.Status.OPEN, then=Value(0)),
        When(status=Escalation.Status.ACKNOWLEDGED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    alerts = EscalationAlert.objects.select_related("recipient", "message").order_by(
        "alerted_at", "id"
    )
    return list(
        Escalation.objects.filter(
            Q(status__in=[Escalation.Status.OPEN, Escalation.Status.ACKNOWLEDGED])
            | Q(resolved_at__gte=since)
        )
        .select_related("hotline", "acknowledged_by__volunteer")
        .prefetch_related(Prefetch("alerts", queryset=alerts))
        .annotate(status_rank=status_rank)
        .order_by("status_rank", "-opened_at", "-id")[:limit]
    )
