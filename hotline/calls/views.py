"""Call pages: recent calls and the callback queue. Thin: hotline/access.py decides who may
do what, selectors which rows they see (hotline/calls/selectors.py), services change things
(hotline/calls/services.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from hotline import access
from hotline.access import can_see_callbacks, is_coordinator
from hotline.calls import conference, recordings
from hotline.calls import services as calls
from hotline.calls.forms import CallFilterForm
from hotline.calls.selectors import (
    callbacks_visible_to,
    calls_filtered,
    calls_visible_to,
    recordings_visible_to,
    with_earlier_calls,
    with_recording_flag,
    with_report_and_escalation,
)
from hotline.models import Call, FollowUp, Volunteer
from hotline.paging import BoundedPaginator

PAGE_SIZE = 50


@login_required
def call_list(request):
    """Calls the user may see, newest first, a page at a time, narrowed by the filters
    (hotline/calls/forms.py). Invalid filters are shown with their error and not applied."""
    visible = calls_visible_to(request.user)
    staff = is_coordinator(request.user) or can_see_callbacks(request.user)
    # Who answered any visible call: a seek per volunteer on the answered_by index, not a
    # scan of every call.
    volunteers = (
        Volunteer.objects.filter(Exists(visible.filter(answered_by=OuterRef("pk")))).order_by(
            "display_name"
        )
        if staff
        else None
    )
    form = CallFilterForm(request.GET or None, volunteers=volunteers)
    calls = visible
    if form.is_bound and form.is_valid():
        calls = calls_filtered(calls, form.cleaned_data, tz=timezone.get_default_timezone())

    def rows(page_calls):
        return with_report_and_escalation(
            with_recording_flag(
                with_earlier_calls(page_calls.select_related("hotline", "answered_by")),
                request.user,
            )
        )

    page = BoundedPaginator(calls, PAGE_SIZE, rows=rows).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "calls/call_list.html",
        {
            "calls": page.object_list,
            "page": page,
            "query": query.urlencode(),
            "form": form,
            "me": access.active_volunteer_of(request.user),
            "coordinator": is_coordinator(request.user),
            "can_see_callbacks": can_see_callbacks(request.user),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@login_required
def callback_list(request):
    if not can_see_callbacks(request.user):
        raise PermissionDenied
    visible = callbacks_visible_to(request.user)
    # Two lists, not one slice of the whole queue: the oldest 200 would soon all be done
    # ones, hiding every open request.
    done = visible.filter(done_at__isnull=False).order_by("-requested_at", "-id")[:20]
    return render(
        request,
        "calls/callback_list.html",
        {
            # Each with its open follow-up: the call-back goes through the hotline from there.
            "open": list(
                visible.filter(done_at__isnull=True).prefetch_related(
                    Prefetch(
                        "follow_ups",
                        queryset=FollowUp.objects.filter(status=FollowUp.Status.OPEN),
                        to_attr="open_follow_ups",
                    )
                )[:200]
            ),
            "done": list(done)[::-1],
        },
    )


@login_required
@require_POST
def callback_mark_done(request, pk: int):
    if not can_see_callbacks(request.user):
        raise Http404
    callback = get_object_or_404(callbacks_visible_to(request.user), pk=pk)
    calls.callback_done(
        callback=callback, by=request.user, note=request.POST.get("note", ""), now=timezone.now()
    )
    messages.success(request, _("Marked as called back."))
    return redirect("calls:callback-list")


@login_required
@require_POST
def call_mark_non_data(request, call_id: int):
    """One tap on the call's page: silent, hang-up, wrong number, prank, abusive, test."""
    call = get_object_or_404(Call, pk=call_id)
    try:
        calls.call_mark_non_data(
            call=call, by=request.user, kind=request.POST.get("type", ""), now=timezone.now()
        )
        messages.success(request, _("Marked. No report is needed for this call."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("calls:report", call_id=call.pk)


@login_required
@require_safe
def call_recording(request, call_id: int):
    """A call's voicemail, streamed from Twilio through us. A call the user may not hear is a
    404, as one that does not exist."""
    call = get_object_or_404(recordings_visible_to(request.user), pk=call_id)
    try:
        media = recordings.recording_stream(
            call=call,
            by=request.user,
            via="web",
            now=timezone.now(),
            range_header=request.headers.get("Range", ""),
        )
    except recordings.RecordingUnavailable as exc:
        return HttpResponse(
            _("This recording no longer exists.")
            if exc.gone
            else _("The recording cannot be fetched right now. Try again in a minute."),
            status=410 if exc.gone else 502,
            content_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "private, no-store"},
        )
    return recordings.recording_response(media, call=call)


@csrf_exempt
def bench_bare(request):
    """bench/webhook.py's baseline: the cheapest Django response. Mounted only when the
    BENCH_BARE_VIEW setting is on."""
    return HttpResponse("<Response/>", content_type="text/xml")


@login_required
@require_POST
def call_ask_supervisor(request, call_id: int):
    """The volunteer on a live call brings in the supervisor on shift (speaking)."""
    call = get_object_or_404(calls_visible_to(request.user), pk=call_id)
    if not access.can_ask_for_supervisor(request.user, call):
        raise PermissionDenied
    now = timezone.now()
    try:
        join = conference.call_join(
            call=call,
            volunteer=conference.supervisor_for(call=call, now=now),
            mode="speak",
            by=request.user,
            now=now,
            why="volunteer_asked",
        )
        messages.success(
            request,
            _("%(name)s is being called to join you.") % {"name": join.volunteer.display_name},
        )
    except conference.JoinRefused as exc:
        messages.error(request, exc.message)
    return redirect("calls:list")
