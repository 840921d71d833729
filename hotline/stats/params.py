"""A statistics request's parameters (`from`, `to`, `hotline`, `organisation`), checked once
for the API, the pages and the exports. Bad input raises StatsInputError naming the field;
an id the user may not see is answered exactly like an id that does not exist."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from hotline.models import Hotline, Organisation
from hotline.stats import periods
from hotline.stats.periods import Period
from hotline.stats.scope import Scope, scope_for, visible_hotlines, visible_organisations


class StatsInputError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class StatsQuery:
    scope: Scope
    period: Period


def _date(value: str | None, field: str, errors: dict) -> dt.date | None:
    if not value:
        errors[field] = _("Give a date as YYYY-MM-DD.")
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors[field] = _("Give a date as YYYY-MM-DD.")
        return None
    if not periods.MIN_DATE <= day <= periods.MAX_DATE:
        errors[field] = _("Give a date between 2000 and 2100.")
        return None
    return day


def _unknown(field: str) -> str:
    return {"hotline": _("Unknown hotline."), "organisation": _("Unknown organisation.")}[field]


def _pick(queryset, value: str | None, field: str, errors: dict):
    if value in (None, ""):
        return None
    try:
        pk = int(value)
    except (TypeError, ValueError):
        pk = None
    found = queryset.filter(pk=pk).first() if pk is not None and 0 < pk < 2**63 else None
    if found is None:
        errors[field] = _unknown(field)
    return found


def stats_query(user, data, *, hotlines=None, organisations=None) -> StatsQuery:
    """Parse `data` (a QueryDict or dict) for `user`. Raises StatsInputError. `hotlines` and
    `organisations` are what the user may choose from (default: what they manage)."""
    hotlines = visible_hotlines(user) if hotlines is None else hotlines
    organisations = visible_organisations(user) if organisations is None else organisations
    errors: dict[str, str] = {}
    first = _date(data.get("from"), "from", errors)
    last = _date(data.get("to"), "to", errors)
    hotline: Hotline | None = _pick(hotlines, data.get("hotline"), "hotline", errors)
    organisation: Organisation | None = _pick(
        organisations, data.get("organisation"), "organisation", errors
    )
    if first and last and "from" not in errors and "to" not in errors:
        if first > last:
            errors["from"] = _("The first day comes after the last day.")
        elif (last - first).days + 1 > periods.MAX_DAYS:
            errors["to"] = _("A period covers at most %(days)s days.") % {"days": periods.MAX_DAYS}
    if errors:
        raise StatsInputError(errors)
    scope = scope_for(hotlines, hotline=hotline, organisation=organisation)
    return StatsQuery(scope=scope, period=Period(first=first, last=last, tz=scope.tz))
