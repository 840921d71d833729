"""The reports pages (mounted at /reports/, namespace `reports`): the figures of a period and
scope as tiles, tables and server-drawn SVG charts, with links to the exports. Coordinators
see everything within their scope; supervisors the crisis part for the hotlines they work
on; anyone else 403. Thin: params.py parses, selectors.py counts, charts.py draws."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from hotline import access
from hotline.models import (
    ActivityReport,
    Escalation,
    Organisation,
    RiskLevel,
)
from hotline.stats import charts, exports, periods
from hotline.stats.params import StatsInputError, stats_query
from hotline.stats.scope import visible_hotlines, visible_organisations
from hotline.stats.selectors import activity_stats, crisis_stats
from hotline.taxonomy.selectors import labels as taxonomy_labels

ARCHIVE_SIZE = 24
PRESETS = ("this_month", "last_month", "quarter", "custom")


def _preset_labels() -> dict[str, str]:
    return {
        "this_month": _("This month"),
        "last_month": _("Last month"),
        "quarter": _("This quarter"),
        "custom": _("Custom"),
    }


def _with_period(data) -> dict:
    """The request's parameters, with `from`/`to` filled from the chosen preset."""
    params = {k: data.get(k, "") for k in ("from", "to", "hotline", "organisation")}
    preset = data.get("period") or ("custom" if params["from"] or params["to"] else "this_month")
    preset = preset if preset in PRESETS else "this_month"
    today = timezone.localdate()
    span = {
        "this_month": lambda: periods.month_of(today),
        "last_month": lambda: periods.last_month(today),
        "quarter": lambda: periods.quarter_of(today),
    }.get(preset)
    if span is not None:
        first, last = span()
        params["from"], params["to"] = first.isoformat(), last.isoformat()
    params["period"] = preset
    return params


def _counts(table: dict, label) -> list[tuple[str, int]]:
    return [(label(code), n) for code, n in table.items()]


def _choice(choices):
    def label(code: str) -> str:
        try:
            return str(choices(code).label)
        except ValueError:
            return code

    return label


def _risk(code: str) -> str:
    return str(RiskLevel(int(code)).label)


def _crisis_charts(stats: dict) -> list:
    return [
        charts.bar_chart(_counts(stats["by_risk"], _risk), title=_("Reports by risk level")),
        charts.bar_chart(
            _counts(stats["escalations"]["by_outcome"], _choice(Escalation.Outcome)),
            title=_("Escalations by outcome"),
        ),
    ]


def _charts(stats: dict) -> list:
    days = stats["by_day"]
    names = taxonomy_labels()  # code → label per table, in the reader's language
    legend = (_("received"), _("answered"))
    return [
        charts.paired_chart(
            [(d["date"][5:], d["received"], d["answered"]) for d in days],
            title=_("Calls per day: received and answered"),
            legend=legend,
            every=max(len(days) // 10, 1),
        ),
        charts.paired_chart(
            [(f"{h['hour']:02d}", h["received"], h["answered"]) for h in stats["by_hour"]],
            title=_("Calls by hour of day: received and answered"),
            legend=legend,
            every=3,
        ),
        charts.bar_chart(
            _counts(stats["by_category"], lambda c: names["category"].get(c, c)),
            title=_("Calls by category"),
        ),
        charts.bar_chart(
            _counts(stats["by_caller_group"], lambda c: names["caller_group"].get(c, c)),
            title=_("Calls by caller group"),
        ),
        *_crisis_charts(stats),
        charts.bar_chart(
            [(r["name"], r["hours"]) for r in stats["roster"]["volunteer_hours"]],
            title=_("Hours served per volunteer"),
            unit=" h",
        ),
    ]


def _tiles(stats: dict) -> list[dict]:
    tiles = []
    for label, path in exports.SUMMARY:
        value, previous = exports.figure(stats, path), exports.figure(stats["previous"], path)
        percent = path[-1] in exports.PERCENT_KEYS
        tiles.append(
            {
                "label": label,
                "value": value,
                "previous": previous,
                "percent": percent,
            }
        )
    return tiles


@login_required
@require_safe
def reports_home(request):
    user = request.user
    full = access.can_see_statistics(user)
    if not full and not access.can_see_crisis_statistics(user):
        raise PermissionDenied
    if full:
        hotlines, organisations = visible_hotlines(user), visible_organisations(user)
    else:
        hotlines = access.supervised_hotlines(access.volunteer_of(user))
        organisations = Organisation.objects.none()
    params = _with_period(request.GET)
    context = {
        "params": params,
        "presets": _preset_labels(),
        "full": full,
        "hotlines": list(hotlines.order_by("name").values_list("pk", "name")),
        "organisations": list(organisations.order_by("name").values_list("pk", "name")),
        "errors": {},
    }
    try:
        query = stats_query(user, params, hotlines=hotlines, organisations=organisations)
    except StatsInputError as exc:
        context["errors"] = exc.errors
        return render(request, "reports/index.html", context, status=400)
    context["scope"] = query.scope
    if full:
        context["archive"] = list(
            ActivityReport.objects.filter(access.managed_organisations_q(user, "organisation__"))
            .select_related("organisation")
            .defer("xlsx", "docx", "figures")[:ARCHIVE_SIZE]
        )
        stats = activity_stats(scope=query.scope, period=query.period)
        api_params = urlencode(
            {k: params[k] for k in ("from", "to", "hotline", "organisation") if params[k]}
        )
        context.update(
            stats=stats,
            tiles=_tiles(stats),
            charts=_charts(stats),
            exports=[
                (_("Spreadsheet (XLSX)"), f"{reverse('api:stats-xlsx')}?{api_params}"),
                (_("Report (Word)"), f"{reverse('api:stats-docx')}?{api_params}"),
                *(
                    (
                        f"{table.title()} (CSV)",
                        f"{reverse('api:stats-csv', args=[name])}?{api_params}",
                    )
                    for name, table in exports.TABLES.items()
                ),
            ],
        )
    else:
        stats = crisis_stats(scope=query.scope, period=query.period)
        context.update(stats=stats, charts=_crisis_charts(stats))
    return render(request, "reports/index.html", context)


@login_required
@require_safe
def archived_report(request, pk: int, kind: str):
    """A kept monthly report's file, for coordinators managing its organisation (else 404)."""
    if not access.can_see_statistics(request.user):
        raise PermissionDenied
    if kind not in ("xlsx", "docx"):
        raise Http404
    report = get_object_or_404(
        ActivityReport.objects.filter(
            access.managed_organisations_q(request.user, "organisation__")
        ),
        pk=pk,
    )
    content, content_type = {
        "xlsx": (report.xlsx, exports.XLSX_TYPE),
        "docx": (report.docx, exports.DOCX_TYPE),
    }[kind]
    response = HttpResponse(bytes(content), content_type=content_type)
    name = f"activity-{report.organisation_id}-{report.first_day:%Y%m}.{kind}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
