"""The report on one call: `/api/v1/calls/{id}/report/` (GET, POST, PATCH) and
`/api/v1/calls/{id}/report/addenda/` (POST). Writes go through hotline.crisis.reports,
which refuses whoever hotline/access.py does not let write; reads are audited."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.report import AddendumSerializer, CallReportSerializer
from hotline.access import can_report_on
from hotline.crisis import reports
from hotline.crisis.selectors import reports_visible_to
from hotline.models import Call, CallReport


def _data(validated: dict) -> dict:
    """The serializer's data as the report service takes it: actions as codes."""
    data = dict(validated)
    if "actions" in data:
        data["actions"] = [action.code for action in data["actions"]]
    if "referred_resources" in data:
        data["referred_resources"] = [r.pk for r in data["referred_resources"]]
    return data


# Ids past a 64-bit integer exist nowhere (and SQLite refuses to compare them): 404.
MAX_ID = 2**63 - 1


def _visible_report(request, pk) -> CallReport:
    if pk > MAX_ID:
        raise exceptions.NotFound()
    report = reports_visible_to(request.user).filter(call_id=pk).first()
    if report is None:
        raise exceptions.NotFound()
    return report


class CallReportView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = CallReportSerializer

    @extend_schema(responses={200: CallReportSerializer})
    def get(self, request, pk: int):
        report = _visible_report(request, pk)
        reports.report_viewed(report=report, by=request.user, now=timezone.now(), via="api")
        return Response(CallReportSerializer(report).data)

    @extend_schema(
        request=CallReportSerializer,
        responses={
            201: CallReportSerializer,
            403: OpenApiResponse(description="you did not answer this call"),
            409: OpenApiResponse(description="the call has a report already"),
        },
    )
    def post(self, request, pk: int):
        if pk > MAX_ID:
            raise exceptions.NotFound()
        call = get_object_or_404(Call, pk=pk)
        if not can_report_on(request.user, call):
            raise exceptions.PermissionDenied(
                _("Only the volunteer who answered this call can report on it.")
            )
        payload = CallReportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        report = reports.report_create(
            call=call, by=request.user, data=_data(payload.validated_data), now=timezone.now()
        )
        return Response(CallReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CallReportSerializer,
        responses={200: CallReportSerializer, 409: OpenApiResponse(description="edit window over")},
    )
    def patch(self, request, pk: int):
        report = _visible_report(request, pk)
        payload = CallReportSerializer(report, data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        report = reports.report_update(
            report=report, by=request.user, data=_data(payload.validated_data), now=timezone.now()
        )
        return Response(CallReportSerializer(report).data)


class CallReportAddendumView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = AddendumSerializer

    @extend_schema(request=AddendumSerializer, responses={201: AddendumSerializer})
    def post(self, request, pk: int):
        report = _visible_report(request, pk)
        payload = AddendumSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        addendum = reports.report_addendum_add(
            report=report, by=request.user, text=payload.validated_data["text"], now=timezone.now()
        )
        return Response(AddendumSerializer(addendum).data, status=status.HTTP_201_CREATED)
