"""DRF permission classes: each wraps one predicate of hotline/access.py (no rule here)."""

from rest_framework import permissions

from hotline.access import (
    can_decide_swaps,
    can_see_callbacks,
    can_see_statistics,
    is_coordinator,
    is_crisis_staff,
)


class IsCoordinator(permissions.BasePermission):
    def has_permission(self, request, view):
        return is_coordinator(request.user)


class CoordinatorWritesOthersRead(permissions.BasePermission):
    """Any signed-in user reads (the queryset limits what); only coordinators write."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or is_coordinator(request.user)


class IsCrisisStaff(permissions.BasePermission):
    def has_permission(self, request, view):
        return is_crisis_staff(request.user)


class CanSeeCallbacks(permissions.BasePermission):
    def has_permission(self, request, view):
        return can_see_callbacks(request.user)


class CanDecideSwaps(permissions.BasePermission):
    def has_permission(self, request, view):
        return can_decide_swaps(request.user)


class CanSeeStatistics(permissions.BasePermission):
    def has_permission(self, request, view):
        return can_see_statistics(request.user)
