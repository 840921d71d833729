"""The referral directory's page (mounted at /referrals/, namespace `referrals`): search by
category, area and words, on a phone, while the caller is still on the line. Everyone
signed in reads it; coordinators mark entries verified and see the unverified ones."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hotline.access import is_coordinator
from hotline.models import Resource, ResourceCategory
from hotline.referrals import services
from hotline.referrals.selectors import resources_areas, resources_search, resources_unverified

LIMIT = 200


@login_required
def resource_search(request):
    coordinator = is_coordinator(request.user)
    category = request.GET.get("category", "")
    if category not in ResourceCategory.values:
        category = ""
    area = request.GET.get("area", "").strip()[:100]
    q = request.GET.get("q", "").strip()[:100]
    unverified = coordinator and request.GET.get("unverified") == "1"
    now = timezone.now()
    if unverified:
        rows = resources_unverified(now=now).order_by("verified_at", "name")
    else:
        rows = resources_search(category=category, area=area, q=q)
    return render(
        request,
        "referrals/search.html",
        {
            "rows": list(rows[:LIMIT]),
            "categories": ResourceCategory.choices,
            "areas": resources_areas(),
            "category": category,
            "area": area,
            "q": q,
            "unverified": unverified,
            "coordinator": coordinator,
        },
    )


@login_required
@require_POST
def resource_verify(request, pk: int):
    if not is_coordinator(request.user):
        raise PermissionDenied
    resource = get_object_or_404(Resource, pk=pk)
    services.resource_verify(resource=resource, by=request.user, now=timezone.now())
    messages.success(request, _("Marked as verified today."))
    target = reverse("referrals:search")
    if request.POST.get("back") == "unverified":
        target += "?unverified=1"
    return redirect(target)
