"""Who may do what: the personas of DESIGN.md, decided in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q

if TYPE_CHECKING:
    from hotline.models import Volunteer

COORDINATORS_GROUP = "coordinators"


def is_coordinator(user: User | AnonymousUser | None) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or user.is_superuser:
        return True
    # Cached per user object: permission checks run several times per request.
    cached = getattr(user, "_is_coordinator", None)
    if cached is None:
        cached = user.groups.filter(name=COORDINATORS_GROUP).exists()
        user._is_coordinator = cached
    return cached


def coordinator_q(user_path: str = "user__") -> Q:
    """`is_coordinator` as a query filter, for rows related to a user through `user_path`
    (active users only), so lists of coordinators agree with the permission check."""
    return Q(**{f"{user_path}is_active": True}) & (
        Q(**{f"{user_path}is_staff": True})
        | Q(**{f"{user_path}is_superuser": True})
        | Q(**{f"{user_path}groups__name": COORDINATORS_GROUP})
    )


def volunteer_of(user) -> Volunteer | None:
    """The user's Volunteer record, or None (coordinators need not have one)."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.volunteer
    except ObjectDoesNotExist:  # the reverse one-to-one's RelatedObjectDoesNotExist
        return None


# --- signing in (docs/security-logins.md) ------------------------------------------------


def is_supervisor(user) -> bool:
    volunteer = volunteer_of(user)
    return volunteer is not None and volunteer.is_supervisor


def holds_privileged_role(user) -> bool:
    """Staff, superusers, coordinators and supervisors: the people who see other people's
    calls and notes. They sign in with two factors and are signed out sooner when idle."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return is_coordinator(user) or is_supervisor(user)


def two_factor_required(user) -> bool:
    """Must this user confirm a one-time code after their password? (`OTP_REQUIRED`)."""
    return bool(settings.OTP_REQUIRED) and holds_privileged_role(user)


def can_unlock_login(user, *, username: str | None = None, ip_address: str | None = None) -> bool:
    """Who may lift a sign-in lockout. Superusers: any. Coordinators: accounts that are
    not staff (only superusers change staff accounts), never a whole client address (that
    would also reset the count of guesses against staff accounts from it)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if ip_address or not username or not is_coordinator(user):
        return False
    target = User.objects.filter(username=username).only("is_staff", "is_superuser").first()
    return target is None or not (target.is_staff or target.is_superuser)
