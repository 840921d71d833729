"""Follow-ups: `/api/v1/follow-ups/` — list (`?status=&assignee=&overdue=1`), create (from an
escalation or a call), retrieve (audited: it carries the notes), update, and
`POST /api/v1/follow-ups/{id}/complete/` with `{"status", "notes"}`;
`POST /api/v1/follow-ups/{id}/call-back/` rings you, then the caller, through the hotline;
`POST /api/v1/follow-ups/{id}/send-sms/` with `{"body"}` texts the caller from the hotline.
A follow-up you may not see is a 404 (hotline.followups.selectors.follow_ups_visible_to);
the services refuse (403) a change you may not make."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.serializers.follow_up import (
    CallBackAttemptSerializer,
    FollowUpCompleteSerializer,
    FollowUpCreateSerializer,
    FollowUpListSerializer,
    FollowUpSendSmsSerializer,
    FollowUpSerializer,
    FollowUpSmsSerializer,
)
from hotline import access
from hotline.crisis.selectors import escalations_visible_to
from hotline.followups import callbacks, messages, services
from hotline.followups.selectors import follow_ups_visible_to
from hotline.models import Call, FollowUp

WRITABLE = (
    "due_at",
    "assignee",
    "method",
    "safe_to_call",
    "safe_to_leave_message",
    "best_time",
    "notes",
    "number",
)


@extend_schema(
    parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=FollowUp.Status.values),
        OpenApiParameter("assignee", OpenApiTypes.STR, description='a volunteer id, or "me"'),
        OpenApiParameter("overdue", OpenApiTypes.STR, enum=["1", "0"]),
    ]
)
class FollowUpViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = FollowUpSerializer
    queryset = FollowUp.objects.none()  # for the schema only

    def get_serializer_class(self):
        if self.action == "list":
            return FollowUpListSerializer
        return FollowUpSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def get_queryset(self):
        qs = follow_ups_visible_to(self.request.user)
        if self.action != "list":
            return qs.prefetch_related("attempts", "sms__message")
        params = self.request.query_params
        errors = {}
        wanted = params.get("status", "")
        if wanted:
            if wanted not in FollowUp.Status.values:
                errors["status"] = [_("Unknown status.")]
            qs = qs.filter(status=wanted)
        assignee = params.get("assignee", "")
        if assignee == "me":
            volunteer = access.volunteer_of(self.request.user)
            qs = qs.filter(assignee=volunteer) if volunteer else qs.none()
        elif assignee:
            if not assignee.isdigit() or len(assignee) > 18:
                errors["assignee"] = [_('Give a volunteer id, or "me".')]
            else:
                qs = qs.filter(assignee_id=int(assignee))
        overdue = params.get("overdue", "")
        if overdue not in ("", "0", "1"):
            errors["overdue"] = [_("Give 1 or 0.")]
        elif overdue == "1":
            qs = qs.filter(status=FollowUp.Status.OPEN, due_at__lt=timezone.now())
        if errors:
            raise exceptions.ValidationError(errors)
        return qs.order_by("due_at", "id")

    def retrieve(self, request, *args, **kwargs):
        follow_up = self.get_object()
        services.follow_up_viewed(
            follow_up=follow_up, by=request.user, now=timezone.now(), via="api"
        )
        return Response(self.get_serializer(follow_up).data)

    @extend_schema(request=FollowUpCreateSerializer, responses={201: FollowUpSerializer})
    def create(self, request, *args, **kwargs):
        payload = FollowUpCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        now = timezone.now()
        if data.get("escalation"):
            escalation = get_object_or_404(
                escalations_visible_to(request.user), pk=data["escalation"]
            )
            follow_up = services.follow_up_from_escalation(
                escalation=escalation,
                by=request.user,
                due_at=data["due_at"],
                assignee=data.get("assignee"),
                method=data["method"],
                notes=data["notes"],
                now=now,
            )
        else:
            call = get_object_or_404(Call, pk=data["call"])
            follow_up = services.follow_up_for_call(
                call=call,
                by=request.user,
                due_at=data["due_at"],
                assignee=data.get("assignee"),
                method=data["method"],
                safety={
                    k: data[k]
                    for k in ("safe_to_call", "safe_to_leave_message", "best_time", "number")
                    if k in data
                },
                notes=data["notes"],
                now=now,
            )
        return Response(
            FollowUpSerializer(follow_up, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def update(self, request, *args, **kwargs):
        follow_up = self.get_object()
        payload = FollowUpSerializer(
            follow_up,
            data=request.data,
            partial=True,  # PUT and PATCH alike change only what they name
            context=self.get_serializer_context(),
        )
        payload.is_valid(raise_exception=True)
        data = {k: v for k, v in payload.validated_data.items() if k in WRITABLE}
        follow_up = services.follow_up_update(
            follow_up=follow_up, by=request.user, data=data, now=timezone.now()
        )
        return Response(FollowUpSerializer(follow_up, context=self.get_serializer_context()).data)

    @extend_schema(
        request=FollowUpCompleteSerializer,
        responses={200: FollowUpSerializer, 409: OpenApiResponse(description="closed already")},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        follow_up = self.get_object()
        payload = FollowUpCompleteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        follow_up = services.follow_up_complete(
            follow_up=follow_up,
            by=request.user,
            status=payload.validated_data["status"],
            notes=payload.validated_data["notes"],
            now=timezone.now(),
        )
        return Response(FollowUpSerializer(follow_up, context=self.get_serializer_context()).data)

    @extend_schema(
        request=None,
        responses={
            202: CallBackAttemptSerializer,
            409: OpenApiResponse(description="not safe to call, no number, or closed"),
        },
    )
    @action(detail=True, methods=["post"], url_path="call-back")
    def call_back(self, request, pk=None):
        follow_up = self.get_object()
        attempt = callbacks.callback_start(
            follow_up=follow_up,
            by=request.user,
            now=timezone.now(),
            base_url=request.build_absolute_uri("/"),
        )
        return Response(CallBackAttemptSerializer(attempt).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=FollowUpSendSmsSerializer,
        responses={
            202: FollowUpSmsSerializer,
            409: OpenApiResponse(
                description="not safe to leave a message or to contact, no number, or closed"
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="send-sms")
    def send_sms(self, request, pk=None):
        follow_up = self.get_object()
        payload = FollowUpSendSmsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        sms = messages.follow_up_sms_send(
            follow_up=follow_up,
            by=request.user,
            body=payload.validated_data["body"],
            now=timezone.now(),
        )
        return Response(FollowUpSmsSerializer(sms).data, status=status.HTTP_202_ACCEPTED)
