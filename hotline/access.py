"""Who may do what: the personas of DESIGN.md, decided in one place."""

from django.contrib.auth.models import AnonymousUser, User

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


def volunteer_of(user) -> "object | None":
    """The user's Volunteer record, or None (coordinators need not have one)."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.volunteer
    except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist has no public import path
        return None
