"""Escalations: list and read (supervisors, coordinators; a raiser reads their own), raise
by hand, acknowledge, resolve. Every read of one escalation is audited."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.permissions import IsCrisisStaff
from api.serializers.escalation import (
    EscalationRaiseSerializer,
    EscalationResolveSerializer,
    EscalationSerializer,
)
from hotline import access
from hotline.crisis import escalations
from hotline.crisis.selectors import escalations_visible_to
from hotline.models import Call, Escalation


class EscalationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """`GET` lists every escalation (newest first) for supervisors and coordinators.
    `POST` raises one by hand for a call you answered. `acknowledge` stops the alert
    chain; `resolve` records the outcome."""

    serializer_class = EscalationSerializer
    filterset_fields = ["status", "hotline"]
    queryset = Escalation.objects.none()  # for the schema only

    def get_permissions(self):
        if self.action in ("retrieve", "create"):
            return [permissions.IsAuthenticated()]
        return [IsCrisisStaff()]

    def get_queryset(self):
        return escalations_visible_to(self.request.user).order_by("-opened_at", "-id")

    def retrieve(self, request, *args, **kwargs):
        escalation = self.get_object()
        escalations.escalation_viewed(
            escalation=escalation, by=request.user, now=timezone.now(), via="api"
        )
        return Response(self.get_serializer(escalation).data)

    @extend_schema(request=EscalationRaiseSerializer, responses={201: EscalationSerializer})
    def create(self, request, *args, **kwargs):
        payload = EscalationRaiseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        # A call the user may not escalate is "not found", like one that does not exist.
        call = Call.objects.select_related("hotline").filter(pk=payload.validated_data["call"])
        call = call.first()
        if call is None or not access.can_escalate(request.user, call):
            raise Http404
        escalation = escalations.escalation_raise(
            call=call, by=request.user, reason=payload.validated_data["reason"], now=timezone.now()
        )
        return Response(EscalationSerializer(escalation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={200: EscalationSerializer, 409: OpenApiResponse(description="not open")},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        escalation = escalations.escalation_acknowledge(
            escalation=self.get_object(),
            by=request.user,
            now=timezone.now(),
            channel=Escalation.Channel.API,
        )
        return Response(EscalationSerializer(escalation).data)

    @extend_schema(
        request=EscalationResolveSerializer,
        responses={200: EscalationSerializer, 409: OpenApiResponse(description="resolved already")},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        escalation = self.get_object()
        payload = EscalationResolveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        escalation = escalations.escalation_resolve(
            escalation=escalation,
            by=request.user,
            outcome=payload.validated_data["outcome"],
            notes=payload.validated_data["notes"],
            now=timezone.now(),
            channel=Escalation.Channel.API,
        )
        return Response(EscalationSerializer(escalation).data)
