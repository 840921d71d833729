"""Sign-in lockouts, counted by django-axes in the database (shared by every worker).

django-axes does the counting (settings `AXES_*`, read from `LOGIN_FAILURE_LIMIT` and
`LOGIN_LOCKOUT_MINUTES`); this module gives it the client's real address, words the lockout
answer for people and API clients, and lets coordinators and superusers lift a lockout.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import math

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from hotline.access import can_unlock_login


def client_ip(request: HttpRequest) -> str | None:
    """The address sign-in failures are counted against.

    `REMOTE_ADDR` unless `BEHIND_PROXY`: only then is `X-Forwarded-For` read, and only the
    entry our own proxy appended (`TRUSTED_PROXY_COUNT` from the right), because everything
    left of it is whatever the client chose to send.
    """
    address = request.META.get("REMOTE_ADDR") or None
    if settings.BEHIND_PROXY:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        hops = max(1, settings.TRUSTED_PROXY_COUNT)
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    return _valid_ip(address)


def _valid_ip(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def cool_off() -> dt.timedelta:
    return get_cool_off() or dt.timedelta(0)


def lockout_ends_at(*, username: str | None, ip_address: str | None) -> dt.datetime:
    """When the lockout matching this account or address lifts: the cool-off counted from
    the latest failure that holds it (a failure during a lockout starts it again)."""
    now = timezone.now()
    window = cool_off()
    match = Q(pk__in=[])
    if username:
        match |= Q(username=username)
    if ip_address:
        match |= Q(ip_address=ip_address)
    latest = AccessAttempt.objects.filter(match, attempt_time__gte=now - window).aggregate(
        latest=Max("attempt_time")
    )["latest"]
    return (latest or now) + window


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429, saying until when and whom to contact; JSON for the API."""
    username = get_client_username(request, credentials)
    ip_address = getattr(request, "axes_ip_address", None) or client_ip(request)
    ends_at = lockout_ends_at(username=username, ip_address=ip_address)
    seconds = max(1, math.ceil((ends_at - timezone.now()).total_seconds()))
    minutes = math.ceil(seconds / 60)
    contact = settings.COORDINATOR_CONTACT
    local_end = timezone.localtime(ends_at)
    detail = _(
        "Too many failed sign-in attempts. You can try again after %(time)s "
        "(in about %(minutes)s). If you forgot your password, ask your coordinator%(contact)s "
        "to reset it or to lift the lock."
    ) % {
        "time": local_end.strftime("%H:%M"),
        "minutes": ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes},
        "contact": f" ({contact})" if contact else "",
    }
    headers = {"Retry-After": str(seconds)}
    match = getattr(request, "resolver_match", None)
    is_api = (match is not None and match.app_name == "api") or request.path.startswith("/api/")
    if is_api:
        return JsonResponse(
            {"code": "locked_out", "detail": detail, "retry_after": ends_at.isoformat()},
            status=429,
            headers=headers,
        )
    response = render(
        request,
        "accounts/locked_out.html",
        {"ends_at": ends_at, "minutes": minutes, "contact": contact, "detail": detail},
        status=429,
    )
    response["Retry-After"] = headers["Retry-After"]
    return response


def is_locked(request: HttpRequest, *, username: str) -> bool:
    """Whether a sign-in step for this account from this request would be refused now."""
    return not AxesProxyHandler.is_allowed(request, {"username": username})


@dataclasses.dataclass(frozen=True)
class Lockout:
    username: str | None
    ip_address: str | None
    failures: int
    ends_at: dt.datetime


def lockouts_current() -> list[Lockout]:
    """Accounts and addresses that are locked out now, soonest to lift last."""
    now = timezone.now()
    window = cool_off()
    recent = AccessAttempt.objects.filter(attempt_time__gte=now - window)
    limit = settings.AXES_FAILURE_LIMIT
    found: list[Lockout] = []
    for field in ("username", "ip_address"):
        rows = (
            recent.exclude(**{f"{field}__isnull": True})
            .values(field)
            .annotate(failures=Sum("failures_since_start"), latest=Max("attempt_time"))
            .filter(failures__gte=limit)
            .order_by("-latest")
        )
        for row in rows:
            found.append(
                Lockout(
                    username=row[field] if field == "username" else None,
                    ip_address=row[field] if field == "ip_address" else None,
                    failures=row["failures"],
                    ends_at=row["latest"] + window,
                )
            )
    return sorted(found, key=lambda lockout: lockout.ends_at, reverse=True)


class UnlockRefused(Exception):
    pass


@transaction.atomic
def login_unlock(*, by, username: str | None = None, ip_address: str | None = None) -> int:
    """Forget the failed sign-ins of one account or one address (lifting its lockout).
    `by` None means an operator at the command line. Returns how many records went."""
    if not username and not ip_address:
        raise UnlockRefused(_("Name an account or an address to unlock."))
    if by is not None and not can_unlock_login(by, username=username, ip_address=ip_address):
        raise UnlockRefused(_("You may not unlock this sign-in."))
    attempts = AccessAttempt.objects.all()
    if username:
        attempts = attempts.filter(username=username)
    if ip_address:
        attempts = attempts.filter(ip_address=ip_address)
    count, _deleted = attempts.delete()
    return count
