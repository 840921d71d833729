"""Every figure of the activity statistics, computed in the database.

`activity_stats` answers one scope (scope.py) and one period (periods.py) with a dict shaped
like the API's answer (docs/api.md, "Statistics"), the previous period of the same length
under "previous". The number of queries is fixed (about a dozen per period), whatever the
number of calls or shifts: counts, groupings and percentiles are SQL, and Python only
reshapes rows whose number is bounded by days, hours, categories or volunteers.

What is counted where:

- calls, reports: calls that *arrived* in the period, on the scope's hotlines; a report
  counts with its call;
- escalations: opened in the period; acknowledged / resolved: those of them that were;
- roster: shifts of published rosters that *start* in the period. Seats and filled seats
  count every such shift; hours, nights and weekends count the shifts already over (served).
"""

from __future__ import annotations

import datetime as dt
import math

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from hotline.models import (
    Call,
    CallReport,
    Escalation,
    RiskLevel,
    TaxonomyCallerGroup,
    TaxonomyCategory,
    Volunteer,
)
from hotline.stats.periods import Period
from hotline.stats.scope import Scope
from hotline.stats.sql import Local, Seconds
from scheduling.models import Assignment, Roster, Shift

# A night shift overlaps 00:00–05:00 local time (scheduling/solver/facts.py, is_night).
NIGHT_END_MINUTE = 5 * 60
MAX_TIER = 3

OUTCOMES = ("answered", "voicemail", "abandoned", "missed", "out_of_hours")


def _offered(model, **filters) -> list[str]:
    return list(
        model.objects.filter(active=True, **filters)
        .order_by("order", "code")
        .values_list("code", flat=True)
    )


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _seconds(value) -> int | None:
    """Whole seconds (half up) of a timedelta or a number of seconds; None stays None."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    return int(math.floor(value + 0.5))


def percentiles(values: QuerySet, expression, n: int) -> dict[str, int | None]:
    """Median and 90th percentile of `expression` over `values` (`n` rows), in one query:
    the rows are numbered in order in the database and only the two middle ones and the
    90th-percentile one are fetched. Median: the middle value (the mean of the two middle
    ones for an even n); p90: nearest rank."""
    if n == 0:
        return {"median": None, "p90": None}
    middle = {(n - 1) // 2 + 1, n // 2 + 1}
    rank = max(math.ceil(0.9 * n), 1)
    rows = dict(
        values.annotate(v=expression, rn=Window(RowNumber(), order_by=expression))
        .filter(rn__in=sorted(middle | {rank}))
        .values_list("rn", "v")
    )
    median = sum((rows[k] for k in middle), 0.0) / len(middle)
    return {"median": _seconds(median), "p90": _seconds(rows[rank])}


def _wait() -> Seconds:
    return Seconds(F("answered_at"), F("arrived_at"))


def _ack() -> Seconds:
    return Seconds(F("acknowledged_at"), F("opened_at"))


def _duration() -> Seconds:
    return Seconds(F("shift__ends_at"), F("shift__starts_at"))


def _calls(scope: Scope, period: Period) -> QuerySet[Call]:
    return Call.objects.filter(
        hotline_id__in=scope.hotline_ids, arrived_at__gte=period.start, arrived_at__lt=period.end
    ).order_by()


def _zeros(codes) -> dict[str, int]:
    return {str(code): 0 for code in codes}


# --- calls --------------------------------------------------------------------------------


def call_figures(scope: Scope, period: Period) -> dict:
    """Calls by outcome, per local day and per local hour of day, waits and repeat callers.
    The counts come from one query grouped by local hour (at most 24 rows a day), added up
    here into the totals, the days and the hours."""
    calls = _calls(scope, period)
    rows = (
        calls.annotate(
            hour=Local("arrived_at", "hour", tz=period.tz, start=period.start, end=period.end)
        )
        .values("hour")
        .annotate(
            received=Count("pk"),
            **{o: Count("pk", filter=Q(outcome=o)) for o in OUTCOMES},
            waited=Count("pk", filter=Q(outcome="answered", answered_at__isnull=False)),
        )
    )
    totals = dict.fromkeys(("received", *OUTCOMES, "waited"), 0)
    by_day = {day: [0, 0] for day in period.dates()}
    by_hour = {hour: [0, 0] for hour in range(24)}
    for row in rows:
        for key in totals:
            totals[key] += row[key]
        day, hour = dt.date.fromisoformat(row["hour"][:10]), int(row["hour"][11:13])
        for bucket in (by_day.setdefault(day, [0, 0]), by_hour[hour]):
            bucket[0] += row["received"]
            bucket[1] += row["answered"]
    repeat_callers = (
        calls.exclude(caller_hash="")
        .values("caller_hash")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    waits = percentiles(
        calls.filter(outcome="answered", answered_at__isnull=False), _wait(), totals["waited"]
    )
    figures = {o: totals[o] for o in ("received", *OUTCOMES)}
    figures["answer_rate"] = _ratio(totals["answered"], totals["received"])
    figures["wait_seconds"] = waits
    figures["repeat_callers"] = repeat_callers
    return {
        "calls": figures,
        "by_day": [
            {"date": day.isoformat(), "received": r, "answered": a}
            for day, (r, a) in sorted(by_day.items())
        ],
        "by_hour": [{"hour": h, "received": r, "answered": a} for h, (r, a) in by_hour.items()],
    }


# --- reports and escalations -----------------------------------------------------------------


def report_figures(scope: Scope, period: Period) -> dict:
    rows = (
        CallReport.objects.filter(
            call__hotline_id__in=scope.hotline_ids,
            call__arrived_at__gte=period.start,
            call__arrived_at__lt=period.end,
        )
        .order_by()
        .values("category", "caller_group", "risk_level")
        .annotate(n=Count("pk"), follow_ups=Count("pk", filter=Q(follow_up_needed=True)))
    )
    # Every category and caller group offered today, zero or not; a code no longer offered
    # appears when it was used in the period (counted by code: renames keep their counts).
    by_category = _zeros(_offered(TaxonomyCategory, parent__isnull=True))
    by_group = _zeros(_offered(TaxonomyCallerGroup))
    by_risk = _zeros(RiskLevel.values)
    filed = follow_ups = 0
    for row in rows:
        n = row["n"]
        filed += n
        follow_ups += row["follow_ups"]
        for table, key in (
            (by_category, row["category"]),
            (by_group, row["caller_group"]),
            (by_risk, str(row["risk_level"])),
        ):
            table[key] = table.get(key, 0) + n
    return {
        "reports": {"filed": filed, "follow_ups_needed": follow_ups},
        "by_category": by_category,
        "by_caller_group": by_group,
        "by_risk": by_risk,
    }


def escalation_figures(scope: Scope, period: Period) -> dict:
    escalations = Escalation.objects.filter(
        hotline_id__in=scope.hotline_ids, opened_at__gte=period.start, opened_at__lt=period.end
    ).order_by()
    counts = escalations.annotate(ack=_ack()).aggregate(
        opened=Count("pk"),
        acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
        resolved=Count("pk", filter=Q(resolved_at__isnull=False)),
        ack_max=Max("ack"),
        **{f"tier{t}": Count("pk", filter=Q(tier__gte=t)) for t in range(1, MAX_TIER + 1)},
    )
    by_outcome = _zeros(Escalation.Outcome.values)
    for row in escalations.exclude(outcome="").values("outcome").annotate(n=Count("pk")):
        by_outcome[row["outcome"]] = row["n"]
    median = percentiles(
        escalations.filter(acknowledged_at__isnull=False), _ack(), counts["acknowledged"]
    )["median"]
    return {
        "opened": counts["opened"],
        "acknowledged": counts["acknowledged"],
        "resolved": counts["resolved"],
        "ack_seconds": {"median": median, "max": _seconds(counts["ack_max"])},
        "by_outcome": by_outcome,
        "reached_tier": {str(t): counts[f"tier{t}"] for t in range(1, MAX_TIER + 1)},
    }


# --- roster ---------------------------------------------------------------------------------


def _shifts(scope: Scope, period: Period) -> QuerySet[Shift]:
    return Shift.objects.filter(
        roster__hotline_id__in=scope.hotline_ids,
        roster__status=Roster.Status.PUBLISHED,
        starts_at__gte=period.start,
        starts_at__lt=period.end,
    ).order_by()


def _served(scope: Scope, period: Period, now: dt.datetime) -> QuerySet[Assignment]:
    return Assignment.objects.filter(
        status=Assignment.Status.ACTIVE,
        shift__roster__hotline_id__in=scope.hotline_ids,
        shift__roster__status=Roster.Status.PUBLISHED,
        shift__starts_at__gte=period.start,
        shift__starts_at__lt=period.end,
        shift__ends_at__lte=now,
    ).order_by()


def with_night_and_weekend(assignments: QuerySet[Assignment], period: Period) -> QuerySet:
    """Annotate `is_night` and `is_weekend` (1 or 0) on assignments, in the database
    (local time in the period's zone, hotline/stats/sql.py), with
    the builder's definitions (scheduling/solver/facts.py): a night shift overlaps
    00:00–05:00 local time (shifts last at most 24 h, so: it starts before 05:00, or it ends
    after midnight on a later local day); a weekend shift starts on a local Saturday or
    Sunday."""
    span = {"tz": period.tz, "start": period.start, "end": period.end}
    return assignments.annotate(
        start_minute=Local("shift__starts_at", "minute", **span),
        end_minute=Local("shift__ends_at", "minute", **span),
        start_day=Local("shift__starts_at", "day", **span),
        end_day=Local("shift__ends_at", "day", **span),
        weekday=Local("shift__starts_at", "weekday", **span),
    ).annotate(
        is_night=Case(
            When(
                Q(start_minute__lt=NIGHT_END_MINUTE)
                | Q(end_day__gt=F("start_day"), end_minute__gt=0),
                then=Value(1),
            ),
            default=Value(0),
            output_field=IntegerField(),
        ),
        is_weekend=Case(
            When(weekday__in=(0, 6), then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ),
    )


def _hours(value) -> float:
    if value is None:
        return 0.0
    return round(value / 3600, 2)


def roster_figures(scope: Scope, period: Period, now: dt.datetime) -> dict:
    shifts = _shifts(scope, period)
    seats = shifts.aggregate(
        seats=Sum(
            F("required_counsellors") + F("required_family_educators") + F("required_supervisors")
        )
    )["seats"]
    filled = Assignment.objects.filter(
        status=Assignment.Status.ACTIVE, shift__in=shifts.values("pk")
    ).count()
    seats = seats or 0
    served = (
        with_night_and_weekend(_served(scope, period, now), period)
        .values(
            "volunteer_id",
            "volunteer__display_name",
            "volunteer__organisation_id",
            "volunteer__organisation__name",
        )
        .annotate(
            duration=Sum(_duration()),
            shifts=Count("pk"),
            nights=Sum("is_night"),
            weekends=Sum("is_weekend"),
        )
    )
    taken = dict(
        _calls(scope, period)
        .filter(outcome="answered", answered_by__isnull=False)
        .values("answered_by_id")
        .annotate(n=Count("pk"))
        .values_list("answered_by_id", "n")
    )
    people: dict[int, dict] = {}

    def person(pk, name, org_id, org_name) -> dict:
        return people.setdefault(
            pk,
            {
                "volunteer": pk,
                "name": name,
                "organisation": org_id,
                "organisation_name": org_name or "",
                "hours": 0.0,
                "shifts": 0,
                "nights": 0,
                "weekends": 0,
                "calls": 0,
            },
        )

    for row in served:
        p = person(
            row["volunteer_id"],
            row["volunteer__display_name"],
            row["volunteer__organisation_id"],
            row["volunteer__organisation__name"],
        )
        p.update(
            hours=_hours(row["duration"]),
            shifts=row["shifts"],
            nights=row["nights"] or 0,
            weekends=row["weekends"] or 0,
        )
    # Those who answered calls without serving a shift here (a supervisor rung as a last
    # resort): their names in one more query, as many rows as such people.
    missing = [pk for pk in taken if pk not in people]
    for v in Volunteer.objects.filter(pk__in=missing).values(
        "pk", "display_name", "organisation_id", "organisation__name"
    ):
        person(v["pk"], v["display_name"], v["organisation_id"], v["organisation__name"])
    for pk, n in taken.items():
        people[pk]["calls"] = n
    volunteers = sorted(people.values(), key=lambda p: (-p["hours"], p["name"], p["volunteer"]))
    organisations: dict[int | None, dict] = {}
    for p in volunteers:
        o = organisations.setdefault(
            p["organisation"],
            {
                "organisation": p["organisation"],
                "name": p["organisation_name"],
                "hours": 0.0,
                "shifts": 0,
                "volunteers": 0,
                "calls": 0,
            },
        )
        o["hours"] = round(o["hours"] + p["hours"], 2)
        o["shifts"] += p["shifts"]
        o["volunteers"] += 1
        o["calls"] += p["calls"]
    return {
        "seats": seats,
        "filled": filled,
        "coverage": round(min(filled / seats, 1.0), 4) if seats else 0.0,
        "hours": round(sum(p["hours"] for p in volunteers), 2),
        "active_volunteers": len(volunteers),
        "volunteer_hours": volunteers,
        "by_organisation": sorted(organisations.values(), key=lambda o: (-o["hours"], o["name"])),
    }


# --- one volunteer's record (/me/hours/) ---------------------------------------------------------


def volunteer_service(*, volunteer: Volunteer, now: dt.datetime, tz) -> dict:
    """A volunteer's served shifts (hours, shifts, nights, weekends) and answered calls per
    local month in `tz` and in total, on every hotline: four queries, whatever the history."""
    served = Assignment.objects.filter(
        volunteer=volunteer,
        status=Assignment.Status.ACTIVE,
        shift__roster__status=Roster.Status.PUBLISHED,
        shift__ends_at__lte=now,
    ).order_by()
    calls = Call.objects.filter(answered_by=volunteer, outcome="answered").order_by()
    firsts = [
        served.aggregate(first=Min("shift__starts_at"))["first"],
        calls.aggregate(first=Min("arrived_at"))["first"],
    ]
    first = min((f for f in firsts if f is not None), default=now)
    span = Period(first=first.astimezone(tz).date(), last=now.astimezone(tz).date(), tz=tz)
    month = {"tz": tz, "start": span.start, "end": span.end}
    rows = (
        with_night_and_weekend(served, span)
        .annotate(month=Local("shift__starts_at", "month", **month))
        .values("month")
        .annotate(
            duration=Sum(_duration()),
            shifts=Count("pk"),
            nights=Sum("is_night"),
            weekends=Sum("is_weekend"),
        )
    )
    taken = dict(
        calls.annotate(month=Local("arrived_at", "month", **month))
        .values("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
    )
    months: dict[str, dict] = {}
    blank = {"hours": 0.0, "shifts": 0, "nights": 0, "weekends": 0, "calls": 0}
    for row in rows:
        months[row["month"]] = {
            **blank,
            "hours": _hours(row["duration"]),
            "shifts": row["shifts"],
            "nights": row["nights"] or 0,
            "weekends": row["weekends"] or 0,
        }
    for key, n in taken.items():
        months.setdefault(key, dict(blank))["calls"] = n
    ordered = [{"month": key, **months[key]} for key in sorted(months)]
    total = {key: sum(m[key] for m in ordered) for key in blank}
    total["hours"] = round(total["hours"], 2)
    return {"months": ordered, "total": total, "since": ordered[0]["month"] if ordered else None}


# --- everything -------------------------------------------------------------------------------


def period_stats(scope: Scope, period: Period, *, now: dt.datetime) -> dict:
    calls = call_figures(scope, period)
    reports = report_figures(scope, period)
    return {
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "calls": calls["calls"],
        "by_day": calls["by_day"],
        "by_hour": calls["by_hour"],
        "reports": reports["reports"],
        "by_category": reports["by_category"],
        "by_caller_group": reports["by_caller_group"],
        "by_risk": reports["by_risk"],
        "escalations": escalation_figures(scope, period),
        "roster": roster_figures(scope, period, now),
    }


def activity_stats(*, scope: Scope, period: Period, now: dt.datetime | None = None) -> dict:
    """The figures for `period` and, under "previous", for the period of the same length just
    before it. `scope.time_zone` must be the zone `period` counts days in."""
    now = now or timezone.now()
    result = period_stats(scope, period, now=now)
    result["previous"] = period_stats(scope, period.previous(), now=now)
    result["scope"] = {
        "hotlines": list(scope.hotline_ids),
        "organisation": scope.organisation.pk if scope.organisation else None,
        "time_zone": scope.time_zone,
    }
    return result


def crisis_stats(*, scope: Scope, period: Period) -> dict:
    """The crisis part only (what a supervisor sees): risk levels and escalations."""
    reports = report_figures(scope, period)
    previous = period.previous()
    return {
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "by_risk": reports["by_risk"],
        "escalations": escalation_figures(scope, period),
        "previous": {
            "period": {"from": previous.first.isoformat(), "to": previous.last.isoformat()},
            "by_risk": report_figures(scope, previous)["by_risk"],
            "escalations": escalation_figures(scope, previous),
        },
    }
