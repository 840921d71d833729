"""Auto-fill and coverage of a roster.

    POST /api/v1/rosters/{id}/autofill/   → 202 {"id", "task_id", "status", "status_url"}
                                            409 {"code": "autofill_running", ...} while one runs
    GET  /api/v1/autofill/{run_id}/        → the run: status, progress, result
    GET  /api/v1/rosters/{id}/coverage/    → per shift and role, plus a summary

Auto-fill is for coordinators. Coverage is for coordinators, and for volunteers on
published rosters (the roster list shows them those already).
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.permissions import IsCoordinator
from api.serializers.roster_build import (
    AutofillRequestSerializer,
    AutofillRunSerializer,
    AutofillStartedSerializer,
    AutofillTogetherRequestSerializer,
    RosterCoverageSerializer,
    autofill_status_url,
)
from hotline.access import managed_hotlines_q
from scheduling import builder
from scheduling.models import AutofillRun
from scheduling.rules import LIVE, PLANNED
from scheduling.selectors import coverage_summary, roster_coverage, rosters_managed_by

AutofillRunningSerializer = inline_serializer(
    name="AutofillRunning",
    fields={
        "code": serializers.CharField(),
        "detail": serializers.CharField(),
        "run": serializers.IntegerField(allow_null=True),
        "status_url": serializers.URLField(allow_null=True),
    },
)


# Mixed into RosterViewSet: `autofill` and `coverage` on one roster. No docstring, so the
# schema keeps describing the roster operations with the viewset's own.
class RosterBuildActions:
    @extend_schema(
        request=AutofillRequestSerializer,
        responses={
            202: AutofillStartedSerializer,
            409: OpenApiResponse(
                AutofillRunningSerializer, description="An auto-fill is already queued or running."
            ),
        },
        summary="Start an auto-fill of the roster (runs as a background task)",
        description=(
            "Coordinators only. `fill` keeps every assignment and fills empty seats; `rebuild` "
            "keeps locked assignments and shifts already started and may change the rest: by "
            "default (`strategy` repair) with as few changes as keep the load spread within "
            "`spread_tolerance` hours of its floor, or fairness first (`strategy` fairest). "
            "Every proposed assignment is saved through the rule layer; refusals are listed "
            "in the run's result, and each change with its reason (`change_reasons`). With "
            '`"options": true` nothing is saved: the run\'s `options` are up to three '
            "rebuilds (fewest changes, balanced, fairest), each with its summary and changes "
            "per volunteer, for the coordinator to choose one. Poll `status_url` for progress. "
            "One run per roster at a time: a second start answers 409 `autofill_running`."
        ),
    )
    @action(detail=True, methods=["post"], permission_classes=[IsCoordinator])
    def autofill(self, request, pk=None):
        roster = self.get_object()
        params = AutofillRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        # A second start raises AutofillBusy: 409 with `run` and `status_url`
        # (AutofillBusy.details, mapped by api/exceptions.py).
        try:
            run = builder.autofill_start(roster=roster, by=request.user, **params.validated_data)
        except builder.BuildRefused as exc:
            return Response(
                {"code": "invalid", "detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(
            {
                "id": run.pk,
                # django-q2's id is known once the task is queued (after commit); the run id
                # is what the status URL takes.
                "task_id": str(run.pk),
                "status": run.status,
                "status_url": autofill_status_url(request, run),
            },
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        request=AutofillTogetherRequestSerializer,
        responses={
            202: AutofillStartedSerializer(many=True),
            409: OpenApiResponse(
                AutofillRunningSerializer,
                description="One of the rosters has an auto-fill queued or running.",
            ),
        },
        summary="Build several hotlines' rosters of one period together",
        description=(
            "Coordinators of every roster named (a coordinator of the parent organisation, "
            "for a province's city lines). One solve for all of them from one pool of "
            "volunteers: a volunteer's weekly limit, rest and overlaps count across every "
            "hotline, each hotline keeps its own crisis minimum and patterns, fairness is "
            "across the whole pool. One run per roster (answered in the order given), all "
            "queued or none; the first run's task builds them all. 400 naming `rosters` for "
            "fewer than two, an unknown or unmanaged id, two of one hotline, different "
            "periods or time zones."
        ),
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="autofill-together",
        permission_classes=[IsCoordinator],
    )
    def autofill_together(self, request):
        params = AutofillTogetherRequestSerializer(data=request.data, context={"request": request})
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        rosters = data.pop("rosters")
        try:
            runs = builder.autofill_start_group(rosters=rosters, by=request.user, **data)
        except builder.BuildRefused as exc:
            return Response(
                {"code": "invalid", "errors": {"rosters": [str(exc)]}, "detail": str(exc)},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            [
                {
                    "id": run.pk,
                    "task_id": str(run.pk),
                    "status": run.status,
                    "status_url": autofill_status_url(request, run),
                }
                for run in runs
            ],
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        responses=RosterCoverageSerializer,
        summary="Coverage per shift and role",
        description=(
            "Required and filled seats per shift and role, crisis-trained seats missing, and "
            "a summary. Coordinators see every roster; volunteers see published rosters."
        ),
    )
    @action(detail=True, methods=["get"])
    def coverage(self, request, pk=None):
        roster = self.get_object()
        manages = rosters_managed_by(request.user).filter(pk=roster.pk).exists()
        # With its staged changes for its coordinators; as published for everyone else.
        coverage = roster_coverage(roster, PLANNED if manages else LIVE)
        data = {"roster": roster.pk, "summary": coverage_summary(coverage), "shifts": coverage}
        return Response(RosterCoverageSerializer(data).data)


class AutofillChosenSerializer(serializers.Serializer):
    option = serializers.CharField()
    created = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    refused = serializers.IntegerField()
    staged = serializers.BooleanField()


class AutofillRunViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Auto-fill runs, newest first (coordinators only); filter with `?roster=`."""

    permission_classes = [IsCoordinator]
    serializer_class = AutofillRunSerializer
    queryset = AutofillRun.objects.none()  # for the schema; get_queryset decides
    filterset_fields = ["roster", "status"]

    def get_queryset(self):
        # The runs of the rosters of the hotlines the coordinator manages.
        return AutofillRun.objects.filter(
            managed_hotlines_q(self.request.user, "roster__hotline__")
        ).order_by("-created_at", "-id")

    @extend_schema(
        request=inline_serializer(
            name="AutofillChoose", fields={"option": serializers.CharField()}
        ),
        responses={200: AutofillChosenSerializer},
        summary="Choose one of an options run's alternatives",
        description=(
            "Saves the chosen option (`fewest_changes`, `balanced`, `fairest` or "
            "`no_change`) through the rule layer. On a published roster it becomes the "
            "roster's staged changes (GET /api/v1/rosters/{id}/changes/), published or "
            "discarded by the coordinator. 409 `option_stale` when the roster changed since "
            "the options were computed; 400 for an unknown option."
        ),
    )
    @action(detail=True, methods=["post"])
    def choose(self, request, pk=None):
        run = self.get_object()
        if not rosters_managed_by(request.user).filter(pk=run.roster_id).exists():
            raise Http404
        data = request.data if isinstance(request.data, dict) else {}
        key = str(data.get("option") or "")
        try:
            applied = builder.option_apply(run=run, key=key, by=request.user)
        except builder.OptionStale as exc:
            return Response(
                {"code": "option_stale", "detail": str(exc)}, status=status.HTTP_409_CONFLICT
            )
        except builder.BuildRefused as exc:
            return Response(
                {"code": "invalid", "detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(
            AutofillChosenSerializer(
                {
                    "option": key,
                    "created": applied["created"],
                    "cancelled": applied["cancelled"],
                    "refused": len(applied["refused"]),
                    "staged": applied["staged"],
                }
            ).data
        )
