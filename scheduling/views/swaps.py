"""The swaps page: offers a volunteer can take, their own offers, and (coordinators) swaps
awaiting approval and drops nobody took. Thin: parse, check, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hotline.access import (
    can_decide_swaps,
    can_see_open_slots,
    is_coordinator,
    managed_hotlines_q,
    volunteer_of,
)
from hotline.links import ActionLinkInvalid, action_token_read
from scheduling import swaps
from scheduling.feeds import tokens
from scheduling.forms import (
    RejectForm,
)
from scheduling.models import CalendarToken, SwapRequest
from scheduling.notify import shift_words
from scheduling.rules import RuleViolation
from scheduling.views.me import volunteer_or_404


@login_required
def swap_list(request):
    volunteer = volunteer_of(request.user)
    coordinator = is_coordinator(request.user)
    if volunteer is None and not coordinator:
        raise Http404
    now = timezone.now()
    context = {"coordinator": coordinator, "volunteer": volunteer}
    if volunteer is not None:
        context["claimable"] = swaps.swaps_claimable(volunteer, now=now)
        context["mine"] = (
            SwapRequest.objects.filter(offered_by=volunteer)
            .select_related("assignment__shift__roster__hotline", "claimant")
            .order_by("-created_at")[:20]
        )
    if can_decide_swaps(request.user):
        context["pending"] = (
            SwapRequest.objects.filter(status=SwapRequest.Status.CLAIMED)
            .filter(managed_hotlines_q(request.user, "assignment__shift__roster__hotline__"))
            .select_related("assignment__shift__roster__hotline", "offered_by", "claimant")
            .order_by("assignment__shift__starts_at")
        )
        context["uncovered"] = swaps.drops_uncovered(now=now)
    if can_see_open_slots(request.user):
        token = tokens.calendar_token_get(user=request.user, kind=CalendarToken.Kind.OPEN)
        context["open_feed"] = tokens.feed_urls(request, token)
    context["reject_form"] = RejectForm()
    return render(request, "scheduling/swaps/swap_list.html", context)


def _swap_action(request, pk: int, act, done):
    """Run `act` on the swap; `done` is the success message, or a function of the swap as
    the service left it (a claim waits for a coordinator unless the hotline auto-approves)."""
    swap = get_object_or_404(SwapRequest, pk=pk)
    try:
        swap = act(swap)
    except RuleViolation as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done(swap) if callable(done) else done)
    return redirect("scheduling:swap-list")


def _claimed(swap: SwapRequest) -> str:
    if swap.status == SwapRequest.Status.DONE:
        return _("You took the shift. Thank you!")
    return _("Thank you. A coordinator will confirm before the shift is yours.")


@login_required
def swap_take(request, token: str):
    """A drop ask's WeCom card: the signed link names the drop and the person asked. Opening
    it (after login, as that person) shows the shift and a button; pressing it takes the
    shift through the same rules as the list. A forged, altered or expired link, or
    another person's, changes nothing; a GET never takes (chat apps preview links)."""
    try:
        swap_id, volunteer_id = action_token_read(token, action="swap")
    except ActionLinkInvalid:
        return render(
            request,
            "scheduling/swaps/take.html",
            {"error": _("This link is not valid or has expired. Open the open shifts instead.")},
            status=403,
        )
    volunteer = volunteer_of(request.user)
    if volunteer is None or volunteer.pk != volunteer_id:
        return render(
            request,
            "scheduling/swaps/take.html",
            {"error": _("This link was sent to someone else.")},
            status=403,
        )
    swap = get_object_or_404(
        SwapRequest.objects.select_related("assignment__shift__roster__hotline"), pk=swap_id
    )
    if request.method == "POST":
        return _swap_action(
            request,
            swap.pk,
            lambda s: swaps.swap_claim(swap=s, volunteer=volunteer),
            _("You took the shift. Thank you!"),
        )
    return render(
        request,
        "scheduling/swaps/take.html",
        {"swap": swap, "shift": shift_words(swap.assignment)},
    )


@login_required
@require_POST
def swap_claim(request, pk: int):
    volunteer = volunteer_or_404(request)
    return _swap_action(
        request,
        pk,
        lambda s: swaps.swap_claim(swap=s, volunteer=volunteer),
        _claimed,
    )


@login_required
@require_POST
def swap_withdraw(request, pk: int):
    volunteer = volunteer_or_404(request)
    return _swap_action(
        request,
        pk,
        lambda s: swaps.swap_withdraw(swap=s, volunteer=volunteer),
        _("Offer withdrawn."),
    )


@login_required
@require_POST
def swap_approve(request, pk: int):
    if not can_decide_swaps(request.user):
        raise PermissionDenied
    return _swap_action(
        request, pk, lambda s: swaps.swap_approve(swap=s, by=request.user), _("Swap approved.")
    )


@login_required
@require_POST
def swap_reject(request, pk: int):
    if not can_decide_swaps(request.user):
        raise PermissionDenied
    reason = request.POST.get("reason", "")
    return _swap_action(
        request,
        pk,
        lambda s: swaps.swap_reject(swap=s, by=request.user, reason=reason),
        _("Swap turned down."),
    )
