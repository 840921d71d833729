from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions, viewsets

from api.permissions import CoordinatorWritesOthersRead
from hotline.access import is_coordinator, managed_organisations_q, volunteer_of


def own_volunteer(request):
    """The signed-in user's Volunteer record; 404 when they have none."""
    volunteer = volunteer_of(request.user)
    if volunteer is None:
        raise exceptions.NotFound(_("You have no volunteer record."))
    return volunteer


class CoordinatorWriteViewSet(viewsets.ModelViewSet):
    """Everyone signed in reads what `get_queryset` shows them; coordinators write."""

    permission_classes = [CoordinatorWritesOthersRead]

    def perform_create(self, serializer):
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.save()


class OwnDataViewSet(viewsets.ModelViewSet):
    """Rows that belong to one volunteer: coordinators see and write all, a volunteer their own."""

    permission_classes = [permissions.IsAuthenticated]

    def base_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        qs = self.base_queryset()
        if is_coordinator(self.request.user):
            return qs.filter(
                managed_organisations_q(self.request.user, "volunteer__organisation__")
            )
        volunteer = volunteer_of(self.request.user)
        if volunteer is None:
            return qs.none()
        return qs.filter(volunteer=volunteer)

    def _check_owner(self, serializer):
        if is_coordinator(self.request.user):
            return
        volunteer = volunteer_of(self.request.user)
        if volunteer is None:
            raise exceptions.PermissionDenied(_("Only volunteers keep availability and time off."))
        target = serializer.validated_data.get(
            "volunteer", getattr(serializer.instance, "volunteer", None)
        )
        if target is not None and target.pk != volunteer.pk:
            raise exceptions.PermissionDenied(
                _("You can only change your own availability and time off.")
            )
        serializer.validated_data["volunteer"] = volunteer

    def perform_create(self, serializer):
        self._check_owner(serializer)
        serializer.save()

    def perform_update(self, serializer):
        self._check_owner(serializer)
        serializer.save()
