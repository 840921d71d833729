from rest_framework import permissions

from hotline.access import is_coordinator


class IsCoordinator(permissions.BasePermission):
    def has_permission(self, request, view):
        return is_coordinator(request.user)


class CoordinatorWritesOthersRead(permissions.BasePermission):
    """Any signed-in user reads (the queryset limits what); only coordinators write."""

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or is_coordinator(request.user)
