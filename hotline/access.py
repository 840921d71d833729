"""Who may do what: the personas of DESIGN.md, decided in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
