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
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import (
    ExtractHour,
    ExtractIsoWeekDay,
    ExtractMinute,
    Trunc,
    TruncDate,
)
from django.utils import timezone

from hotline.models import (
    Call,
    CallerGroup,
    CallReport,
    Escalation,
    ReportCategory,
    RiskLevel,
)
from hotline.stats.periods import Period
from hotline.stats.scope import Scope
from scheduling.models import Assignment, Roster, Shift

# A night shift overlaps 00:00–05:00 local time (scheduling/solver/facts.py, is_night).
NIGHT_END_MINUTE = 5 * 60
MAX_TIER = 3

OUTCOMES = ("answered", "voicemail", "abandoned", "missed", "out_of_hours")


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _seconds(value) -> int | None:
    """Whole seconds (half up) of a timedelta or a number of seconds; None stays None."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    return int(math.floor(value + 0.5))


def percentiles(values: QuerySet, n: int) -> dict[str, int | None]:
    """Median and 90th percentile of an ordered one-column queryset of `n` durations, read
    with two LIMIT/OFFSET queries (no row is fetched beyond the two middle ones). Median: the
    middle value (mean of the two middle ones for even n); p90: nearest rank."""
    if n == 0:
        return {"median": None, "p90": None}
    middle = list(values[(n - 1) // 2 : n // 2 + 1])
    median = sum((v.total_seconds() for v in middle), 0.0) / len(middle)
    rank = max(math.ceil(0.9 * n) - 1, 0)
    p90 = values[rank : rank + 1][0]
    return {"median": _seconds(median), "p90": _seconds(p90)}


def _wait() -> ExpressionWrapper:
    return ExpressionWrapper(F("answered_at") - F("arrived_at"), output_field=DurationField())


def _ack() -> ExpressionWrapper:
    return ExpressionWrapper(F("acknowledged_at") - F("opened_at"), output_field=DurationField())


def _duration() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("shift__ends_at") - F("shift__starts_at"), output_field=DurationField()
    )


def _calls(scope: Scope, period: Period) -> QuerySet[Call]:
    return Call.objects.filter(
        hotline_id__in=scope.hotline_ids, arrived_at__gte=period.start, arrived_at__lt=period.end
    ).order_by()


def _zeros(codes) -> dict[str, int]:
    return {str(code): 0 for code in codes}


# --- calls --------------------------------------------------------------------------------


def call_figures(scope: Scope, period: Period) -> dict:
    calls = _calls(scope, period)
    counts = calls.aggregate(
        received=Count("pk"),
        **{o: Count("pk", filter=Q(outcome=o)) for o in OUTCOMES},
        waited=Count("pk", filter=Q(outcome="answered", answered_at__isnull=False)),
    )
    waits = (
        calls.filter(outcome="answered", answered_at__isnull=False)
        .annotate(wait=_wait())
        .order_by("wait")
        .values_list("wait", flat=True)
    )
    repeat_callers = (
        calls.exclude(caller_hash="")
        .values("caller_hash")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    figures = {o: counts[o] for o in ("received", *OUTCOMES)}
    figures["answer_rate"] = _ratio(counts["answered"], counts["received"])
    figures["wait_seconds"] = percentiles(waits, counts["waited"])
    figures["repeat_callers"] = repeat_callers
    return figures


def call_timeline(scope: Scope, period: Period) -> tuple[list[dict], list[dict]]:
    """Calls received and answered per local day and per local hour of day: one grouped
    query by local hour, folded into days and hours here (at most 24 rows a day)."""
    rows = (
        _calls(scope, period)
        .annotate(hour=Trunc("arrived_at", "hour", tzinfo=period.tz))
        .values("hour")
        .annotate(received=Count("pk"), answered=Count("pk", filter=Q(outcome="answered")))
    )
    by_day = {day: [0, 0] for day in period.dates()}
    by_hour = {hour: [0, 0] for hour in range(24)}
    for row in rows:
        local = row["hour"].astimezone(period.tz)
        for bucket in (by_day.setdefault(local.date(), [0, 0]), by_hour[local.hour]):
            bucket[0] += row["received"]
            bucket[1] += row["answered"]
    return (
        [
            {"date": day.isoformat(), "received": r, "answered": a}
            for day, (r, a) in sorted(by_day.items())
        ],
        [{"hour": h, "received": r, "answered": a} for h, (r, a) in by_hour.items()],
    )


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
    by_category = _zeros(ReportCategory.values)
    by_group = _zeros(CallerGroup.values)
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
    acks = (
        escalations.filter(acknowledged_at__isnull=False)
        .annotate(ack=_ack())
        .order_by("ack")
        .values_list("ack", flat=True)
    )
    by_outcome = _zeros(Escalation.Outcome.values)
    for row in escalations.exclude(outcome="").values("outcome").annotate(n=Count("pk")):
        by_outcome[row["outcome"]] = row["n"]
    median = percentiles(acks, counts["acknowledged"])["median"]
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


def with_night_and_weekend(assignments: QuerySet[Assignment], tz) -> QuerySet[Assignment]:
    """Annotate `is_night` and `is_weekend` (1 or 0) on assignments, in the database, with
    the builder's definitions (scheduling/solver/facts.py): a night shift overlaps
    00:00–05:00 local time (shifts last at most 24 h, so: it starts before 05:00, or it ends
    after midnight on a later local day); a weekend shift starts on a local Saturday or
    Sunday."""
    start_minute = ExtractHour("shift__starts_at", tzinfo=tz) * 60 + ExtractMinute(
        "shift__starts_at", tzinfo=tz
    )
    end_minute = ExtractHour("shift__ends_at", tzinfo=tz) * 60 + ExtractMinute(
        "shift__ends_at", tzinfo=tz
    )
    return assignments.annotate(
        start_minute=start_minute,
        end_minute=end_minute,
        start_day=TruncDate("shift__starts_at", tzinfo=tz),
        end_day=TruncDate("shift__ends_at", tzinfo=tz),
        weekday=ExtractIsoWeekDay("shift__starts_at", tzinfo=tz),
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
            When(weekday__gte=6, then=Value(1)), default=Value(0), output_field=IntegerField()
        ),
    )


def _hours(value) -> float:
    if value is None:
        return 0.0
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else value / 1e6
    return round(seconds / 3600, 2)


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
        with_night_and_weekend(_served(scope, period, now), period.tz)
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
    taken = (
        _calls(scope, period)
        .filter(outcome="answered", answered_by__isnull=False)
        .values(
            "answered_by_id",
            "answered_by__display_name",
            "answered_by__organisation_id",
            "answered_by__organisation__name",
        )
        .annotate(n=Count("pk"))
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
    for row in taken:
        p = person(
            row["answered_by_id"],
            row["answered_by__display_name"],
            row["answered_by__organisation_id"],
            row["answered_by__organisation__name"],
        )
        p["calls"] = row["n"]
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


# --- everything -------------------------------------------------------------------------------


def period_stats(scope: Scope, period: Period, *, now: dt.datetime) -> dict:
    by_day, by_hour = call_timeline(scope, period)
    reports = report_figures(scope, period)
    return {
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "calls": call_figures(scope, period),
        "by_day": by_day,
        "by_hour": by_hour,
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
