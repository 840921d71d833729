"""The coordinators' list of messages that could not be delivered, and of channels that
failed on the way (a WeCom user id that does not exist, a number that cannot be called)."""

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
    fell_back = (
        Message.objects.exclude(channel_log=[])
        .exclude(status__in=[Message.Status.FAILED, Message.Status.UNDELIVERED])
        .select_related("recipient")
        .order_by("-updated_at", "-id")[:200]
    )
    return render(request, "sms/failed_list.html", {"failed": failed, "fell_back": fell_back})
