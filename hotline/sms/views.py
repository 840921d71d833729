"""The coordinators' list of SMS that could not be delivered."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from hotline.access import can_see_failed_sms
from hotline.models import Message


@login_required
def sms_failed_list(request):
    if not can_see_failed_sms(request.user):
        raise PermissionDenied
    failed = Message.objects.filter(
        status__in=[Message.Status.FAILED, Message.Status.UNDELIVERED]
    ).order_by("-updated_at", "-id")[:200]
    return render(request, "sms/failed_list.html", {"failed": failed})
