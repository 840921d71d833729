"""Statistics and the activity report's files: `GET /api/v1/stats/`, `activity.xlsx`,
`activity.docx` and `{table}.csv`, all with the same query parameters. The figures come from
hotline/stats/selectors.py; parameters are checked by hotline/stats/params.py (bad input:
400 naming the field); coordinators only (hotline/access.py), within their scope."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import CanSeeStatistics
from hotline.stats import exports
from hotline.stats.params import StatsInputError, stats_query
from hotline.stats.selectors import activity_stats

PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, required=True, description="First day (local)"),
    OpenApiParameter("to", OpenApiTypes.DATE, required=True, description="Last day (local)"),
    OpenApiParameter("hotline", OpenApiTypes.INT, description="One hotline"),
    OpenApiParameter(
        "organisation", OpenApiTypes.INT, description="One organisation (and its branches)"
    ),
]


class FileRenderer(renderers.BaseRenderer):
    """Lets a client ask for the file's type; errors still come back as JSON text."""

    charset = None
    format = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        import json

        return b"" if data is None else json.dumps(data).encode()


def _renderer(media_type: str, fmt: str) -> type[FileRenderer]:
    return type(
        f"{fmt.title()}Renderer", (FileRenderer,), {"media_type": media_type, "format": fmt}
    )


class _StatsBase(APIView):
    permission_classes = [CanSeeStatistics]

    def figures(self, request):
        try:
            query = stats_query(request.user, request.query_params)
        except StatsInputError as exc:
            raise exceptions.ValidationError(exc.errors) from None
        return query, activity_stats(scope=query.scope, period=query.period, now=timezone.now())


def _file(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _filename(query, ext: str) -> str:
    return f"activity-{query.period.first:%Y%m%d}-{query.period.last:%Y%m%d}.{ext}"


class StatsView(_StatsBase):
    """What the line did in a period: calls, waits, reports, escalations and the roster,
    with the previous period of the same length under `previous` (docs/api.md)."""

    @extend_schema(
        parameters=PARAMETERS,
        responses={
            200: OpenApiTypes.OBJECT,
            400: OpenApiResponse(description="A bad parameter, named in the answer."),
        },
    )
    def get(self, request):
        _query, stats = self.figures(request)
        return Response(stats)


class ActivityXlsxView(_StatsBase):
    renderer_classes = [renderers.JSONRenderer, _renderer(exports.XLSX_TYPE, "xlsx")]

    @extend_schema(
        parameters=PARAMETERS,
        responses={(200, exports.XLSX_TYPE): OpenApiTypes.BINARY, 400: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        """The activity report as a spreadsheet: a summary sheet and one per breakdown."""
        query, stats = self.figures(request)
        content = exports.activity_xlsx(stats, title=exports.report_title(query.scope))
        return _file(content, exports.XLSX_TYPE, _filename(query, "xlsx"))


class ActivityDocxView(_StatsBase):
    renderer_classes = [renderers.JSONRenderer, _renderer(exports.DOCX_TYPE, "docx")]

    @extend_schema(
        parameters=PARAMETERS,
        responses={(200, exports.DOCX_TYPE): OpenApiTypes.BINARY, 400: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        """The activity report as a Word document, in the user's language."""
        query, stats = self.figures(request)
        content = exports.activity_docx(
            stats, title=exports.report_title(query.scope), scope_label=query.scope.label
        )
        return _file(content, exports.DOCX_TYPE, _filename(query, "docx"))


class StatsTableCsvView(_StatsBase):
    renderer_classes = [renderers.JSONRenderer, _renderer(exports.CSV_TYPE, "csv")]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "table", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(exports.TABLES)
            ),
            *PARAMETERS,
        ],
        responses={
            (200, exports.CSV_TYPE): OpenApiTypes.BINARY,
            400: OpenApiTypes.OBJECT,
            404: OpenApiResponse(description="No such table."),
        },
    )
    def get(self, request, table: str):
        """One table of the activity report as CSV (UTF-8)."""
        if table not in exports.TABLES:
            raise Http404
        query, stats = self.figures(request)
        return _file(
            exports.table_csv(stats, table),
            f"{exports.CSV_TYPE}; charset=utf-8",
            _filename(query, "csv").replace("activity", table),
        )
