"""Calls (read-only) and the callback queue. Visibility lives in hotline/calls/selectors.py,
on the predicates of hotline/access.py."""

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.permissions import CanSeeCallbacks
from api.serializers.call import CallbackDoneSerializer, CallbackSerializer, CallSerializer
from hotline.calls import services as calls
from hotline.calls.selectors import (
    callbacks_visible_to,
    calls_visible_to,
    with_earlier_calls,
)
from hotline.models import Call, CallbackRequest


class CallFilter(django_filters.FilterSet):
    arrived_after = django_filters.IsoDateTimeFilter(field_name="arrived_at", lookup_expr="gte")
    arrived_before = django_filters.IsoDateTimeFilter(field_name="arrived_at", lookup_expr="lt")

    class Meta:
        model = Call
        fields = ["hotline", "outcome", "category", "answered_by"]


class CallViewSet(viewsets.ReadOnlyModelViewSet):
    """Coordinators see every call, supervisors the calls of their hotlines, a volunteer
    only the calls they answered."""

    serializer_class = CallSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = CallFilter
    queryset = Call.objects.none()  # for the schema only

    def get_queryset(self):
        return with_earlier_calls(calls_visible_to(self.request.user))


class CallbackViewSet(viewsets.ReadOnlyModelViewSet):
    """The callback queue: coordinators and supervisors only (it holds callers' numbers).
    `?open=true` lists those nobody has called back yet."""

    serializer_class = CallbackSerializer
    permission_classes = [CanSeeCallbacks]
    filterset_fields = ["hotline"]
    queryset = CallbackRequest.objects.none()  # for the schema only

    def get_queryset(self):
        open_only = self.request.query_params.get("open") in ("1", "true", "yes")
        return callbacks_visible_to(self.request.user, open_only=open_only)

    @extend_schema(request=CallbackDoneSerializer, responses=CallbackSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        payload = CallbackDoneSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        callback = calls.callback_done(
            callback=self.get_object(),
            by=request.user,
            note=payload.validated_data["note"],
            now=timezone.now(),
        )
        return Response(CallbackSerializer(callback).data)
