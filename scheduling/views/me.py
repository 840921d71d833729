"""Pages for volunteers on their own: My shifts, calendar feed, reminders, availability.
Thin: parse, check, call a service, render."""

from __future__ import annotations

import datetime as dt

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from hotline.access import can_see_open_slots, is_coordinator, volunteer_of
from hotline.ids import id_or_404
from hotline.models import MessageChannel
from hotline.people import services as people
from hotline.stats.selectors import volunteer_service
from scheduling import reminders, services, swaps
from scheduling.availability import ics_import
from scheduling.availability import services as availability_services
from scheduling.feeds import tokens
from scheduling.forms import (
    WEEKDAYS,
    AvailabilityForm,
    CalendarImportForm,
    OfferForm,
    TimeOffForm,
)
from scheduling.models import Assignment, Availability, CalendarToken, Roster, SwapRequest, TimeOff
from scheduling.rules import RuleViolation
from scheduling.selectors import shifts_ended_since_q, volunteer_conflicts

PAST_DAYS = 60


def volunteer_or_404(request):
    volunteer = volunteer_of(request.user)
    if volunteer is None:
        raise Http404(_("You have no volunteer record."))
    return volunteer


def qr_svg(text: str) -> str:
    """An inline SVG QR code, drawn here (no CDN, no script)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


@login_required
def my_shifts(request):
    if volunteer_of(request.user) is None and is_coordinator(request.user):
        return redirect(
            "scheduling:swap-list"
        )  # coordinators without shifts: approvals and open slots
    volunteer = volunteer_or_404(request)
    now = timezone.now()
    others = Prefetch(
        "shift__assignments",
        queryset=Assignment.objects.filter(status=Assignment.Status.ACTIVE)
        .select_related("volunteer")
        .order_by("volunteer__display_name"),
        to_attr="active_assignments",
    )
    live_swaps = Prefetch(
        "swap_requests",
        queryset=SwapRequest.objects.filter(status__in=SwapRequest.LIVE),
        to_attr="live_swaps",
    )
    mine = (
        Assignment.objects.filter(
            shifts_ended_since_q(now - dt.timedelta(days=PAST_DAYS)),
            volunteer=volunteer,
            shift__roster__status=Roster.Status.PUBLISHED,
        )
        .exclude(status=Assignment.Status.PENDING)  # staged: not published yet
        .select_related("shift__roster__hotline", "created_by__volunteer")
        .prefetch_related(others, live_swaps)
        .order_by("shift__starts_at", "id")
    )
    upcoming, past = [], []
    for a in mine:
        a.co_volunteers = [
            o.volunteer.display_name
            for o in a.shift.active_assignments
            if o.volunteer_id != volunteer.pk
        ]
        a.live_swap = a.live_swaps[0] if a.live_swaps else None
        a.started = a.shift.starts_at <= now
        if a.shift.ends_at > now:
            upcoming.append(a)
        elif a.is_active:
            past.append(a)
    past.reverse()
    token = tokens.calendar_token_get(user=request.user)
    urls = tokens.feed_urls(request, token)
    return render(
        request,
        "scheduling/me/my_shifts.html",
        {
            "volunteer": volunteer,
            "upcoming": upcoming,
            "past": past[:30],
            "feed": urls,
            "qr": qr_svg(urls["webcal_url"]),
            "contact": settings.COORDINATOR_CONTACT,
            "reminders_enabled": reminders.reminders_enabled(volunteer),
            "reminder_hours": reminders.reminder_hours(),
            "channel_choices": MessageChannel.choices,
            "channel_slots": _channel_slots(volunteer),
        },
    )


def _channel_slots(volunteer) -> list[str]:
    """The person's order, padded to one select per channel ("" = none)."""
    order = list(volunteer.channels or [])
    return order + [""] * (len(MessageChannel.values) - len(order))


@login_required
@require_POST
def my_channels(request):
    """The channels messages reach me on, in order, and my WeCom user id."""
    volunteer = volunteer_or_404(request)
    order = [c for c in request.POST.getlist("channel") if c]
    try:
        people.volunteer_update(
            # Their own channel order, not an account change: no one else's say (by=None).
            by=None,
            volunteer=volunteer,
            channels=order,
            wecom_user_id=request.POST.get("wecom_user_id", volunteer.wecom_user_id)[:64],
        )
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
        return redirect("scheduling:my-shifts")
    messages.success(request, _("Your message channels are saved."))
    return redirect("scheduling:my-shifts")


@login_required
@require_POST
def my_shift_confirm(request, pk: int):
    volunteer = volunteer_or_404(request)
    assignment = get_object_or_404(
        Assignment, pk=pk, volunteer=volunteer, status=Assignment.Status.ACTIVE
    )
    services.assignment_confirm(assignment=assignment, volunteer=volunteer)
    messages.success(request, _("Shift confirmed. Thank you!"))
    return redirect("scheduling:my-shifts")


@login_required
@require_POST
def my_shift_offer(request, pk: int):
    volunteer = volunteer_or_404(request)
    assignment = get_object_or_404(Assignment, pk=pk, volunteer=volunteer)
    form = OfferForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a swap offer or a drop request."))
        return redirect("scheduling:my-shifts")
    try:
        swaps.swap_offer(
            assignment=assignment,
            volunteer=volunteer,
            kind=form.cleaned_data["kind"],
            note=form.cleaned_data["note"],
        )
    except RuleViolation as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your shift is offered. You keep it until someone takes it."))
    if request.POST.get("next") == "availability":
        return redirect(reverse("scheduling:my-availability") + "#conflicts")
    return redirect("scheduling:my-shifts")


@login_required
@require_POST
def my_calendar_rotate(request):
    kind = request.POST.get("kind", CalendarToken.Kind.SHIFTS)
    if kind == CalendarToken.Kind.OPEN and not can_see_open_slots(request.user):
        raise PermissionDenied
    if kind not in CalendarToken.Kind.values:
        raise Http404
    tokens.calendar_token_rotate(user=request.user, kind=kind)
    messages.success(
        request, _("New calendar link made. The old link no longer works: subscribe again.")
    )
    return redirect(
        "scheduling:swap-list" if kind == CalendarToken.Kind.OPEN else "scheduling:my-shifts"
    )


@login_required
@require_POST
def my_reminders(request):
    volunteer = volunteer_or_404(request)
    enabled = request.POST.get("enabled") == "1"
    reminders.reminder_preference_set(volunteer=volunteer, enabled=enabled)
    messages.success(request, _("Reminders are on.") if enabled else _("Reminders are off."))
    return redirect("scheduling:my-shifts")


# --- availability ------------------------------------------------------------------------


def _with_offers(conflicts):
    """Mark the clashing assignments already offered or dropped (`live_swap`)."""
    offered = set(
        SwapRequest.objects.filter(
            assignment__in=[c.assignment.pk for c in conflicts], status__in=SwapRequest.LIVE
        ).values_list("assignment_id", flat=True)
    )
    for c in conflicts:
        c.assignment.live_swap = c.assignment.pk in offered
    return conflicts


def _after_change(request, volunteer):
    """Back to the page; when the change clashes with shifts, at the list of them, with a
    warning (the coordinators are told by the service)."""
    conflicts = volunteer_conflicts(volunteer, now=timezone.now())
    if not conflicts:
        return redirect("scheduling:my-availability")
    messages.warning(
        request,
        ngettext(
            "This clashes with %(count)d of your shifts: offer it for a swap or ask to drop it.",
            "This clashes with %(count)d of your shifts: offer them for a swap or ask to drop them.",
            len(conflicts),
        )
        % {"count": len(conflicts)},
    )
    return redirect(reverse("scheduling:my-availability") + "#conflicts")


@login_required
def my_availability(request):
    volunteer = volunteer_or_404(request)
    window_form, off_form, import_form = AvailabilityForm(), TimeOffForm(), CalendarImportForm()
    throttled = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "window":
                window_form = AvailabilityForm(request.POST)
                if window_form.is_valid():
                    first = not Availability.objects.filter(volunteer=volunteer).exists()
                    availability_services.availability_add(
                        volunteer=volunteer, **window_form.cleaned_data
                    )
                    messages.success(request, _("Window added."))
                    if first:
                        messages.warning(
                            request,
                            _(
                                "From now on you are rostered only inside your weekly windows. "
                                "Add a window for every time you can take shifts."
                            ),
                        )
                    return _after_change(request, volunteer)
            elif action == "time_off":
                off_form = TimeOffForm(request.POST)
                if off_form.is_valid():
                    availability_services.time_off_add(volunteer=volunteer, **off_form.cleaned_data)
                    messages.success(request, _("Time off added."))
                    return _after_change(request, volunteer)
            elif action == "import":
                import_form = CalendarImportForm(request.POST, request.FILES)
                if import_form.is_valid():
                    upload = import_form.cleaned_data["file"]
                    # One byte past the limit at most: the import refuses larger files itself.
                    created = availability_services.time_off_import(
                        volunteer=volunteer, data=upload.read(ics_import.MAX_IMPORT_BYTES + 1)
                    )
                    messages.success(
                        request,
                        _("Imported %(count)d busy times as time off.")
                        % {"count": created.count()},
                    )
                    return _after_change(request, volunteer)
            elif action == "delete_window":
                availability_services.availability_delete(
                    volunteer=volunteer, window_id=id_or_404(request.POST.get("id"))
                )
                return _after_change(request, volunteer)
            elif action == "delete_time_off":
                availability_services.time_off_delete(
                    volunteer=volunteer, time_off_id=id_or_404(request.POST.get("id"))
                )
                return redirect("scheduling:my-availability")
        except (
            ics_import.CalendarImportError,
            availability_services.CalendarImportThrottled,
        ) as exc:
            import_form.add_error("file", str(exc))
            if isinstance(exc, availability_services.CalendarImportThrottled):
                throttled = exc
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except (KeyError, ValueError):
            messages.error(request, _("Something was missing from the form."))
    now = timezone.now()
    windows = list(
        Availability.objects.filter(volunteer=volunteer).order_by("weekday", "start_time")
    )
    day_names = dict(WEEKDAYS)
    for window in windows:
        window.day_name = day_names[window.weekday]
    if throttled:
        status = 429
    elif window_form.errors or off_form.errors or import_form.errors:
        status = 400
    else:
        status = 200
    response = render(
        request,
        "scheduling/me/my_availability.html",
        {
            "volunteer": volunteer,
            "windows": windows,
            "time_off": TimeOff.objects.filter(volunteer=volunteer, ends_at__gt=now).order_by(
                "starts_at"
            )[:200],
            "window_form": window_form,
            "off_form": off_form,
            "conflicts": _with_offers(volunteer_conflicts(volunteer, now=now)),
            "import_form": import_form,
        },
        status=status,
    )
    if throttled:
        response["Retry-After"] = str(throttled.retry_after)
    return response


@login_required
def my_hours(request):
    """The volunteer's own service record: hours, shifts, nights, weekends and calls per
    month and in total, with a certificate that prints on its own (static/css/reports.css)."""
    volunteer = volunteer_or_404(request)
    now = timezone.now()
    record = volunteer_service(volunteer=volunteer, now=now, tz=timezone.get_default_timezone())
    return render(
        request,
        "scheduling/me/my_hours.html",
        {
            "volunteer": volunteer,
            "record": record,
            "today": timezone.localdate(),
            "organisation": volunteer.organisation,
        },
    )
