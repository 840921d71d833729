"""The core resources. Assignment writes, and roster and shift deletes, go through
scheduling.services (the rule layer, and the delete rules the admin applies too).

A refused delete raises a plain ValidationError message: api.exceptions files it under
`non_field_errors`, as for a serializer's own errors.
"""

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings

from api.permissions import IsCoordinator
from api.serializers.assignment import AssignmentSerializer
from api.serializers.availability import AvailabilitySerializer, TimeOffSerializer
from api.serializers.hotline import HotlineSerializer
from api.serializers.organisation import OrganisationSerializer
from api.serializers.roster import RosterSerializer
from api.serializers.shift import ShiftSerializer
from api.serializers.volunteer import VolunteerSerializer
from api.views.common import CoordinatorWriteViewSet, OwnDataViewSet, own_volunteer
from api.views.roster_build import RosterBuildActions
from hotline.access import is_coordinator, managed_organisations_q
from hotline.accounts.reset import password_reset_send
from hotline.models import Hotline, Organisation, Volunteer
from hotline.people import services as people
from scheduling import services
from scheduling.models import Assignment, Availability, Shift, TimeOff
from scheduling.selectors import roster_visibility_q, rosters_visible_to


class OrganisationViewSet(CoordinatorWriteViewSet):
    queryset = Organisation.objects.order_by("name", "id")
    serializer_class = OrganisationSerializer

    def perform_destroy(self, instance):
        # Volunteers point at their organisation with PROTECT: say so instead of a 500.
        if instance.volunteers.exists():
            raise exceptions.ValidationError(
                _("Volunteers belong to this organisation; move them first.")
            )
        instance.delete()


class HotlineViewSet(CoordinatorWriteViewSet):
    queryset = Hotline.objects.order_by("name", "id")
    serializer_class = HotlineSerializer

    def perform_update(self, serializer):
        hotline = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(hotline, field, value)
        serializer.instance = people.hotline_save(hotline=hotline)

    def perform_destroy(self, instance):
        if instance.rosters.exists():
            raise exceptions.ValidationError(_("This hotline has rosters; deactivate it instead."))
        instance.delete()


class VolunteerViewSet(CoordinatorWriteViewSet):
    queryset = Volunteer.objects.none()  # for the schema; get_queryset decides
    serializer_class = VolunteerSerializer
    filterset_fields = ["organisation", "is_active", "crisis_trained"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        qs = Volunteer.objects.select_related("user").order_by("display_name", "id")
        if is_coordinator(self.request.user):
            return qs.filter(managed_organisations_q(self.request.user, "organisation__"))
        return qs.filter(user=self.request.user)

    @extend_schema(request=None, responses={202: None})
    @action(
        detail=True,
        methods=["post"],
        url_path="password-reset",
        permission_classes=[IsCoordinator],
    )
    def password_reset(self, request, pk=None):
        """Send the volunteer a password reset code by SMS (she sets a new password at
        /accounts/reset/). 403 for staff accounts unless you are a superuser."""
        password_reset_send(volunteer=self.get_object(), by=request.user)
        return Response(status=202)


class RosterViewSet(RosterBuildActions, CoordinatorWriteViewSet):
    serializer_class = RosterSerializer
    filterset_fields = ["hotline", "status"]

    def get_queryset(self):
        return rosters_visible_to(self.request.user).order_by("-first_day", "id")

    def perform_update(self, serializer):
        serializer.instance = services.roster_update(
            roster=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.roster_delete(roster=instance, by=self.request.user)

    @extend_schema(request=None, responses=RosterSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsCoordinator])
    def publish(self, request, pk=None):
        roster = services.roster_publish(roster=self.get_object(), by=request.user)
        return Response(RosterSerializer(roster).data)


class ShiftFilter(django_filters.FilterSet):
    starts_after = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = Shift
        fields = ["roster", "starts_after", "starts_before"]


class ShiftViewSet(CoordinatorWriteViewSet):
    serializer_class = ShiftSerializer
    filterset_class = ShiftFilter

    def get_queryset(self):
        return (
            Shift.objects.filter(roster_visibility_q(self.request.user, "roster__"))
            .select_related("roster__hotline")
            .order_by("starts_at", "id")
        )

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        changes.pop("roster", None)
        serializer.instance = services.shift_update(
            shift=serializer.instance, by=self.request.user, **changes
        )

    def perform_destroy(self, instance):
        services.shift_delete(shift=instance, by=self.request.user)


class AssignmentFilter(django_filters.FilterSet):
    class Meta:
        model = Assignment
        fields = ["volunteer", "shift", "status", "role", "shift__roster"]


class AssignmentViewSet(CoordinatorWriteViewSet):
    """DELETE cancels: the assignment stays, so calendar feeds can show the cancellation."""

    queryset = Assignment.objects.none()  # for the schema; get_queryset decides
    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilter

    def get_queryset(self):
        qs = Assignment.objects.filter(
            roster_visibility_q(self.request.user, "shift__roster__")
        ).order_by("shift__starts_at", "id")
        if is_coordinator(self.request.user):
            return qs
        return qs.filter(volunteer__user=self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.assignment_create(
            shift=data["shift"],
            volunteer=data["volunteer"],
            role=data["role"],
            by=self.request.user,
            locked=data.get("locked", False),
            override_reason=data.get("override_reason", ""),
        )

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.assignment_update(
            assignment=serializer.instance,
            by=self.request.user,
            role=data.get("role"),
            locked=data.get("locked"),
            override_reason=data.get("override_reason"),
        )

    def destroy(self, request, *args, **kwargs):
        services.assignment_cancel(assignment=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AvailabilityViewSet(OwnDataViewSet):
    serializer_class = AvailabilitySerializer
    filterset_fields = ["volunteer", "weekday", "kind"]

    def base_queryset(self):
        return Availability.objects.order_by("volunteer_id", "weekday", "start_time", "id")


class TimeOffViewSet(OwnDataViewSet):
    serializer_class = TimeOffSerializer
    filterset_fields = ["volunteer"]

    def base_queryset(self):
        return TimeOff.objects.order_by("volunteer_id", "starts_at", "id")


class MeViewSet(viewsets.GenericViewSet):
    """The signed-in volunteer's own record and assignments."""

    permission_classes = [permissions.IsAuthenticated]
    queryset = Volunteer.objects.none()  # for the schema only
    serializer_class = VolunteerSerializer
    pagination_class = None

    @extend_schema(responses=VolunteerSerializer)
    def list(self, request):
        return Response(VolunteerSerializer(own_volunteer(request)).data)

    @extend_schema(responses=AssignmentSerializer(many=True))
    @action(
        detail=False,
        methods=["get"],
        serializer_class=AssignmentSerializer,
        # Paginated like every other list: a volunteer's history grows without end.
        pagination_class=api_settings.DEFAULT_PAGINATION_CLASS,
    )
    def assignments(self, request):
        volunteer = own_volunteer(request)
        qs = (
            Assignment.objects.filter(volunteer=volunteer)
            .filter(roster_visibility_q(request.user, "shift__roster__"))
            .order_by("shift__starts_at", "id")
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(AssignmentSerializer(page, many=True).data)
