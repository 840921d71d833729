"""Two checks on every signed-in request (web pages, the admin, and the API when used with
the session cookie): the idle timeout, then the second factor."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from hotline.access import holds_privileged_role
from hotline.accounts.twofactor import (
    has_two_factor,
    needs_second_factor,
    remember_second_factor,
)

LAST_SEEN_SESSION_KEY = "last_seen"
# The stored time moves on at most this often, so an active user's session is not written
# on every request; the timeout is therefore exact to within this many seconds.
LAST_SEEN_RESOLUTION_SECONDS = 60
# The stored session outlives the idle limit by this much, so that the middleware (which
# says why) and not the session's own expiry (which says nothing) signs the user out.
EXPIRY_MARGIN_SECONDS = 5 * 60


def session_expiry_seconds(user) -> int:
    return idle_limit_minutes(user) * 60 + EXPIRY_MARGIN_SECONDS


def idle_limit_minutes(user) -> int:
    if holds_privileged_role(user):
        return settings.SESSION_IDLE_MINUTES_PRIVILEGED
    return settings.SESSION_IDLE_MINUTES


def session_start(sender, request, user, **kwargs) -> None:
    """On `user_logged_in`: start the idle clock, and note whether the user has a second
    factor, in the session Django is saving anyway, so later pages write and ask nothing."""
    if request is None or not hasattr(request, "session"):
        return
    request.session[LAST_SEEN_SESSION_KEY] = timezone.now().timestamp()
    request.session.set_expiry(session_expiry_seconds(user))
    remember_second_factor(request.session, user)


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


class IdleTimeoutMiddleware:
    """Signs a user out after `SESSION_IDLE_MINUTES[_PRIVILEGED]` without a request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            minutes = idle_limit_minutes(user)
            now = timezone.now().timestamp()
            last_seen = request.session.get(LAST_SEEN_SESSION_KEY)
            if last_seen is not None and now - last_seen > minutes * 60:
                logout(request)
                if not _is_api(request):
                    messages.info(
                        request,
                        ngettext(
                            "You were signed out after %(n)d minute without activity.",
                            "You were signed out after %(n)d minutes without activity.",
                            minutes,
                        )
                        % {"n": minutes},
                    )
                    return redirect(
                        f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}"
                    )
            elif last_seen is None or now - last_seen >= LAST_SEEN_RESOLUTION_SECONDS:
                request.session[LAST_SEEN_SESSION_KEY] = now
                # The cookie and the stored session end soon after the idle limit too.
                request.session.set_expiry(session_expiry_seconds(user))
        return self.get_response(request)


# Where a signed-in user who still owes a second factor may go: the two-factor pages,
# signing out, the language switch. Everything else sends them to the two-factor step.
OPEN_VIEWS = {
    "accounts:two-factor-setup",
    "accounts:two-factor-verify",
    "logout",
    "admin:logout",
    "set_language",
}


class TwoFactorMiddleware:
    """Right after the password, and before anything else, a user who needs a second
    factor sets up an authenticator (first time) or enters a code."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified() and not self._open(request):
            if needs_second_factor(user, session=request.session):
                if _is_api(request):
                    return JsonResponse(
                        {
                            "code": "two_factor_required",
                            "detail": _("Finish signing in with your second factor first."),
                        },
                        status=403,
                    )
                step = (
                    "accounts:two-factor-verify"
                    if has_two_factor(user)
                    else "accounts:two-factor-setup"
                )
                return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _open(request) -> bool:
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return True
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return True  # a 404 page shows nothing
        return match.view_name in OPEN_VIEWS
