"""Calls (read-only) and the callback queue. Visibility lives in hotline/calls/selectors.py,
on the predicates of hotline/access.py."""

import json

import django_filters
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from api.filters import BoundedIsoDateTimeFilter
from api.permissions import CanSeeCallbacks
from api.serializers.call import (
    CallbackDoneSerializer,
    CallbackSerializer,
    CallSerializer,
    NonDataSerializer,
)
from hotline.calls import recordings
from hotline.calls import services as calls
from hotline.calls.selectors import (
    callbacks_visible_to,
    calls_visible_to,
    recordings_visible_to,
    with_earlier_calls,
    with_recording_flag,
)
from hotline.models import Call, CallbackRequest
from hotline.paging import BoundedPaginator


class RecordingGone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = _("This recording no longer exists.")
    default_code = "recording_gone"


class RecordingUnavailable(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = _("The recording cannot be fetched right now. Try again in a minute.")
    default_code = "recording_unavailable"


class AudioRenderer(renderers.BaseRenderer):
    """Lets a client ask for `Accept: audio/mpeg`; errors still come as JSON text."""

    media_type = "audio/mpeg"
    format = "mp3"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b"" if data is None else json.dumps(data).encode()


class CallFilter(django_filters.FilterSet):
    arrived_after = BoundedIsoDateTimeFilter(field_name="arrived_at", lookup_expr="gte")
    arrived_before = BoundedIsoDateTimeFilter(field_name="arrived_at", lookup_expr="lt")
    last4 = django_filters.CharFilter(field_name="caller_last4", max_length=4)
    risk = django_filters.NumberFilter(field_name="report__risk_level")

    class Meta:
        model = Call
        fields = ["hotline", "outcome", "category", "answered_by"]


class CallPagination(PageNumberPagination):
    """Pages whose cost does not grow with the years of calls (hotline/paging.py): `count`
    stops at 10,000 (a date filter reaches older calls); `rows` adds the annotations to the
    page's calls only."""

    rows = None

    def django_paginator_class(self, queryset, page_size):
        return BoundedPaginator(queryset, page_size, rows=self.rows)


class CallViewSet(viewsets.ReadOnlyModelViewSet):
    """Coordinators see every call, supervisors the calls of their hotlines, a volunteer
    only the calls they answered."""

    serializer_class = CallSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = CallFilter
    queryset = Call.objects.none()  # for the schema only

    pagination_class = CallPagination

    def get_queryset(self):
        if self.action == "list":  # the page's rows get their annotations (CallPagination)
            return calls_visible_to(self.request.user)
        return self.annotated(calls_visible_to(self.request.user))

    def annotated(self, calls):
        return with_recording_flag(with_earlier_calls(calls), self.request.user)

    def paginate_queryset(self, queryset):
        self.paginator.rows = lambda page_calls: self.annotated(
            page_calls.select_related("hotline", "answered_by")
        )
        return super().paginate_queryset(queryset)

    @extend_schema(
        responses={
            (200, "audio/mpeg"): OpenApiTypes.BINARY,
            (206, "audio/mpeg"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such call, or no voicemail you may hear."),
            410: OpenApiResponse(description="Twilio no longer has the recording."),
            502: OpenApiResponse(description="Twilio could not be reached; try again."),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="recording",
        renderer_classes=[renderers.JSONRenderer, AudioRenderer],
        filter_backends=[],
        pagination_class=None,
    )
    def recording(self, request, pk=None):
        """The call's voicemail (MP3), streamed from Twilio through us, never cached. Only
        for those who may hear it (coordinators; supervisors on the call's hotline): for
        anyone else, as for a call without a voicemail, 404. Each listening is audited.
        Byte ranges (`Range`) are passed on."""
        try:
            call = recordings_visible_to(request.user).get(pk=int(pk))
        except (Call.DoesNotExist, ValueError, TypeError):
            raise Http404 from None
        try:
            media = recordings.recording_stream(
                call=call,
                by=request.user,
                via="api",
                now=timezone.now(),
                range_header=request.headers.get("Range", ""),
            )
        except recordings.RecordingUnavailable as exc:
            raise (RecordingGone() if exc.gone else RecordingUnavailable()) from exc
        return recordings.recording_response(media, call=call)

    @extend_schema(
        request=NonDataSerializer,
        responses={200: CallSerializer, 400: OpenApiResponse(description="unknown type")},
    )
    @action(detail=True, methods=["post"], url_path="non-data")
    def non_data(self, request, pk=None):
        """Mark the call silent, hung up, wrong number, prank, abusive or a test: counted,
        no report needed."""
        payload = NonDataSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        call = calls.call_mark_non_data(
            call=self.get_object(),
            by=request.user,
            kind=payload.validated_data["type"],
            now=timezone.now(),
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=call.pk)).data)


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
        return Response(CallbackSerializer(callback, context=self.get_serializer_context()).data)
