"""Reads of the referral directory: search (by category, area, words), resources not
verified for a while, and referral counts by resource category for statistics."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from hotline.models import CallReport, Resource, ResourceCategory


def resources_search(
    *, category: str = "", area: str = "", q: str = "", include_inactive: bool = False
) -> QuerySet[Resource]:
    """Listed resources matching every criterion given. `area` also matches resources with
    no area (national lines serve everyone); `q` searches the name, address and notes."""
    qs = Resource.objects.all()
    if not include_inactive:
        qs = qs.filter(active=True)
    if category:
        qs = qs.filter(category=category)
    if area:
        qs = qs.filter(Q(area__icontains=area) | Q(area=""))
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(address__icontains=q) | Q(eligibility__icontains=q))
    return qs.order_by("category", "area", "name", "id")


def resources_areas() -> list[str]:
    """The areas the directory covers, for the search page's list."""
    return list(
        Resource.objects.filter(active=True)
        .exclude(area="")
        .order_by("area")
        .values_list("area", flat=True)
        .distinct()
    )


def unverified_cutoff(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings.RESOURCE_VERIFY_DAYS)


def resources_unverified(*, now: dt.datetime) -> QuerySet[Resource]:
    """Listed resources never verified, or not for RESOURCE_VERIFY_DAYS (180)."""
    return Resource.objects.filter(active=True).filter(
        Q(verified_at__isnull=True) | Q(verified_at__lt=unverified_cutoff(now))
    )


def referral_counts(reports: QuerySet[CallReport]) -> list[tuple[str, str, int]]:
    """How many referrals `reports` made to each resource category, as (category, label,
    count), most first. A report referring to two shelters counts two."""
    rows = (
        Resource.objects.filter(referrals__in=reports)
        .order_by()
        .values("category")
        .annotate(n=Count("referrals"))
    )
    labels = dict(ResourceCategory.choices)
    return sorted(
        ((r["category"], str(labels.get(r["category"], r["category"])), r["n"]) for r in rows),
        key=lambda r: (-r[2], r[0]),
    )
