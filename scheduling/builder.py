"""The automatic builder: roster → solver instance → assignments saved through the rule layer.

The solver (`scheduling.solver`) works on plain data; this module is the only place that
turns the database into an instance and the solver's answer back into assignments. Every
proposed assignment is saved with `services.assignment_create`, so the rule layer has the
last word; a proposal it refuses (the data changed while the solver ran) is reported as a
refusal, never forced.

Entry points (the web board, the API, the django-q2 task and `build_roster` all use these):

    autofill_start(roster=, mode=, time_limit=, greedy=, seed=, strategy=, spread_tolerance=,
                   options=, by=, enqueue=True) -> AutofillRun
    autofill_start_group(rosters=, …) -> list[AutofillRun]     (several hotlines, one period)
    autofill_execute(run_id=, progress=None) -> AutofillRun
    roster_build(roster=, rebuild=, time_limit=, greedy=, seed=, strategy=, …) -> dict
    rosters_build(rosters=, …) -> {roster id: dict}              (one solve for all of them)
    roster_options(roster=, time_limit=, seed=, spread_tolerance=, …) -> dict
    option_apply(run=, key=, by=) -> dict                         (a chosen option, saved)
    unfilled_reasons(entries) -> list[str]        (in the active language)
    change_reason(entry) -> str                   (in the active language)

`strategy` is the solver's order: ``repair`` (the default for a rebuild: the fewest changes
with the load spread within `spread_tolerance` hours of its floor, setting
ROSTER_SPREAD_TOLERANCE_HOURS) or ``fairest`` (fairness first). With ``options=True`` a
rebuild saves nothing: the run's result holds up to three alternatives (fewest changes,
balanced, fairest), each with its metrics and its changes per volunteer with reasons, for
the coordinator to choose one (`option_apply`).

One roster has at most one live (queued or running) `AutofillRun`, enforced by a partial
unique constraint; a second start raises `AutofillBusy`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from hotline.conflicts import DomainConflict
from hotline.links import site_url
from hotline.models import ROLE_FLAG, Volunteer
from scheduling import holidays, services
from scheduling.holidays import counts_as_weekend
from scheduling.models import Assignment, AutofillRun, Availability, Roster, Shift, TimeOff
from scheduling.rules import (
    FACTS_MARGIN,
    PLANNED,
    RuleViolation,
    Violation,
    availability_of,
    occupying_q,
)
from scheduling.selectors import coverage_summary, roster_coverage
from scheduling.solver import (
    MODES,
    by_volunteer,
    render_change,
    render_note,
    render_reason,
    solve,
    solve_greedy,
    solve_options,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, str], None]

# Bounds on the solver's time budget. The task's django-q2 timeout is the budget plus a
# margin for reading and saving, and must stay under Q_CLUSTER["retry"] (180 s), or the
# broker would hand the same task to a second worker.
MIN_TIME_LIMIT = 1.0
MAX_TIME_LIMIT = 90.0
DEFAULT_TIME_LIMIT = 10.0
TASK_MARGIN_SECONDS = 60
# A run still queued after this long never reached a worker (no qcluster running); one
# still running this long after its budget ran out lost its worker. Either is marked
# failed when the next run is asked for, so a dead run never blocks the roster for good.
QUEUED_STALE_AFTER = dt.timedelta(minutes=15)
RUNNING_STALE_MARGIN = dt.timedelta(minutes=5)
STRATEGIES = MODES  # repair, fairest

STAGE_LABELS = {
    "queued": _("Waiting for a task worker"),
    "instance": _("Reading the roster"),
    "coverage": _("Filling seats"),
    "spread_bound": _("Bringing the load within the tolerance"),
    "changes": _("Keeping changes few"),
    "fairness_hours": _("Balancing hours"),
    "fairness_nights_weekends": _("Balancing nights and weekends"),
    "preferences": _("Honouring preferences"),
    "stability": _("Keeping earlier assignments"),
    "options_fewest_changes": _("Option with the fewest changes"),
    "options_balanced": _("Balanced option"),
    "options_fairest": _("Fairest option"),
    "saving": _("Saving assignments"),
    "done": _("Done"),
}


class AutofillBusy(DomainConflict):
    """The roster already has a queued or running auto-fill (`run`)."""

    def __init__(self, run: AutofillRun | None):
        self.run = run
        super().__init__(
            "autofill_running", gettext("An auto-fill is already running for this roster.")
        )

    def details(self, *, request=None) -> dict:
        if self.run is None:
            return {"run": None, "status_url": None}
        path = reverse("api:autofill-detail", args=[self.run.pk])
        return {"run": self.run.pk, "status_url": site_url(path, request=request)}


class AutofillAbandoned(Exception):
    """The run was marked failed (stale) while it worked; it must not write."""


class BuildRefused(ValueError):
    """A build that cannot be started as asked (the message says why, translated)."""


class OptionStale(BuildRefused):
    """The roster changed since its options were computed."""


def stage_label(stage: str) -> str:
    label = STAGE_LABELS.get(stage)
    return str(label) if label is not None else stage


def default_spread_tolerance() -> float:
    return float(settings.ROSTER_SPREAD_TOLERANCE_HOURS)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


# --- rosters → instance -----------------------------------------------------------------


def check_group(rosters: Sequence[Roster]) -> None:
    """Several rosters are built together only for one period, one hotline each, in one
    time zone (weeks, nights and weekends are counted in it). Raises BuildRefused."""
    if len({r.pk for r in rosters}) != len(rosters):
        raise BuildRefused(gettext("A roster is named twice."))
    if len({r.hotline_id for r in rosters}) != len(rosters):
        raise BuildRefused(gettext("Rosters built together must be of different hotlines."))
    if len({(r.first_day, r.last_day) for r in rosters}) > 1:
        raise BuildRefused(gettext("Rosters built together must cover the same period."))
    if len({r.hotline.time_zone for r in rosters}) > 1:
        raise BuildRefused(gettext("Rosters built together must be in one time zone."))


def scope_check(scope: dict | None) -> dict:
    """A build's scope, checked: {"first_day", "last_day" (ISO dates or None: the roster's
    own), "include_frozen" (bool)}. Raises BuildRefused with a message for bad dates."""
    scope = dict(scope or {})
    out = {"first_day": None, "last_day": None, "include_frozen": bool(scope.get("include_frozen"))}
    for key in ("first_day", "last_day"):
        raw = scope.get(key)
        if raw in (None, ""):
            continue
        try:
            out[key] = (raw if isinstance(raw, dt.date) else dt.date.fromisoformat(raw)).isoformat()
        except (TypeError, ValueError):
            raise BuildRefused(
                gettext("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": raw}
            ) from None
    if out["first_day"] and out["last_day"] and out["last_day"] < out["first_day"]:
        raise BuildRefused(gettext("The last day of the range is before its first day."))
    return out


def shift_in_scope(shift: Shift, scope: dict | None, *, tz, now: dt.datetime) -> bool:
    """Whether a build with `scope` may change `shift`: its local day within the range, and,
    on a published roster, outside the freeze window (ROSTER_FREEZE_HOURS) unless the scope
    includes it (a draft roster has no freeze window: nobody has seen it)."""
    scope = scope or {}
    day = shift.starts_at.astimezone(tz).date().isoformat()
    if scope.get("first_day") and day < scope["first_day"]:
        return False
    if scope.get("last_day") and day > scope["last_day"]:
        return False
    if (
        not scope.get("include_frozen")
        and shift.roster.is_published
        and services.is_frozen(shift, now=now)
    ):
        return False
    return True


def roster_instance(
    roster: Roster,
    *,
    rebuild: bool = False,
    now: dt.datetime | None = None,
    scope: dict | None = None,
) -> dict:
    """The solver instance for a roster (see `rosters_instance`)."""
    return rosters_instance([roster], rebuild=rebuild, now=now, scope=scope)


def scope_shift_ids(
    rosters: Sequence[Roster], scope: dict | None, *, now: dt.datetime | None = None
) -> set[int]:
    """The shifts of the rosters a build with `scope` may change."""
    now = now or timezone.now()
    tz = rosters[0].hotline.tz
    return {
        s.pk
        for s in Shift.objects.filter(roster__in=[r.pk for r in rosters])
        .select_related("roster")
        .only("pk", "starts_at", "roster__status")
        if shift_in_scope(s, scope, tz=tz, now=now)
    }


def rosters_instance(
    rosters: Sequence[Roster],
    *,
    rebuild: bool = False,
    now: dt.datetime | None = None,
    scope: dict | None = None,
) -> dict:
    """The solver instance for one roster, or for several of one period (a hotline each)
    sharing one pool of volunteers.

    Fill-gaps mode keeps every active assignment (`fixed`). Rebuild mode keeps locked ones
    and those on shifts that have already started; the rest may change. A rebuild gives
    the whole current roster as `previous`, so the solver knows what a change is, and
    lists everyone on it (also someone no longer active, whose seats must move).

    `scope` (see `scope_check`) leaves out the shifts outside its date range and, unless it
    includes them, those in the freeze window: the build neither fills nor changes them, and
    their assignments count as the volunteers' outside busy time.

    Assignments are read as planned (a published roster's staged changes included).
    Six queries whatever the roster size.
    """
    now = now or timezone.now()
    hotlines = {r.hotline_id: r.hotline for r in rosters}
    first = rosters[0].hotline
    roster_ids = [r.pk for r in rosters]
    shifts = [
        s
        for s in Shift.objects.filter(roster__in=roster_ids)
        .select_related("roster")
        .order_by("starts_at", "id")
        if shift_in_scope(s, scope, tz=first.tz, now=now)
    ]
    every = Shift.objects.filter(roster__in=roster_ids).count() == len(shifts)
    # In SQL: the rosters when nothing is left out (no long id list on big rosters).
    in_scope = Q(shift__roster__in=roster_ids) if every else Q(shift__in=[s.pk for s in shifts])
    base = {
        "time_zone": first.time_zone,
        "min_rest_hours": first.min_rest_hours,
        "allow_back_to_back": first.allow_back_to_back,
        "hotlines": [
            {
                "id": h.pk,
                "min_rest_hours": h.min_rest_hours,
                "allow_back_to_back": h.allow_back_to_back,
            }
            for h in hotlines.values()
        ],
    }
    if not shifts:
        return {**base, "shifts": [], "volunteers": []}
    tz = first.tz
    # Wide enough for the rule layer's look-around: the local week of the first and last
    # shift, and the rest time either side.
    longest_rest = max(h.min_rest_hours for h in hotlines.values())
    margin = FACTS_MARGIN + dt.timedelta(hours=longest_rest)
    lo = min(s.starts_at for s in shifts) - margin
    hi = max(s.ends_at for s in shifts) + margin

    current = list(
        Assignment.objects.filter(occupying_q(PLANNED), in_scope)
        .select_related("shift")
        .order_by("shift__starts_at", "id")
    )
    kept = [a for a in current if not rebuild or a.locked or a.shift.starts_at <= now]
    on_roster = {a.volunteer_id for a in (current if rebuild else kept)}
    volunteers = list(
        Volunteer.objects.filter(pk__in=on_roster) | Volunteer.objects.filter(is_active=True)
    )
    volunteers.sort(key=lambda v: v.pk)
    # Who the solver may put on new seats: active and holding a role.
    eligible = {v.pk for v in volunteers if v.is_active and v.roles}
    listed = [v for v in volunteers if v.pk in eligible or v.pk in on_roster]
    listed_ids = {v.pk for v in listed}

    windows = defaultdict(list)
    for window in Availability.objects.filter(volunteer__in=listed_ids):
        windows[window.volunteer_id].append(window)
    time_off = defaultdict(list)
    for off in TimeOff.objects.filter(volunteer__in=listed_ids, starts_at__lt=hi, ends_at__gt=lo):
        time_off[off.volunteer_id].append((off.starts_at, off.ends_at))

    def entry(a: Assignment) -> dict:
        return {"shift": a.shift_id, "volunteer": a.volunteer_id, "role": a.role}

    fixed = [entry(a) for a in kept]
    # The whole current roster is the version a rebuild changes.
    previous = [entry(a) for a in current] if rebuild else []
    busy = [
        {
            "volunteer": volunteer_id,
            "starts_at": _iso(start),
            "ends_at": _iso(end),
            # The back-to-back exception holds only between shifts of one hotline.
            "hotline": hotline_id,
            "same_hotline": hotline_id == first.pk and len(hotlines) == 1,
        }
        for volunteer_id, start, end, hotline_id in Assignment.objects.filter(
            occupying_q(PLANNED),
            volunteer__in=listed_ids,
            shift__ends_at__gt=lo,
            shift__starts_at__lt=hi,
        )
        .exclude(in_scope)
        .values_list(
            "volunteer_id", "shift__starts_at", "shift__ends_at", "shift__roster__hotline_id"
        )
    ]

    fixed_pairs = {(e["shift"], e["volunteer"]) for e in fixed}
    volunteer_rows = []
    for v in listed:
        available, preferred, off = [], [], []
        for s in shifts:
            if (s.pk, v.pk) in fixed_pairs:
                # A kept assignment stays possible even if availability changed since (it
                # may have been an override); the solver must be able to keep it.
                available.append(s.pk)
                continue
            if v.pk not in eligible:
                continue
            if any(start < s.ends_at and end > s.starts_at for start, end in time_off[v.pk]):
                off.append(s.pk)
                continue
            kind = availability_of(windows[v.pk], s.starts_at, s.ends_at, tz)
            if kind is None:
                continue
            available.append(s.pk)
            if kind == Availability.Kind.PREFERRED:
                preferred.append(s.pk)
        row = {
            "id": v.pk,
            "name": v.display_name,
            "roles": [str(r) for r in v.roles if r in ROLE_FLAG],
            "crisis_trained": v.crisis_trained,
            "max_shifts_per_week": v.max_shifts_per_week,
            "available": available,
            "preferred": preferred,
            "undesired": [],
        }
        if off:
            row["time_off"] = off
        if not v.is_active:
            row["active"] = False
        volunteer_rows.append(row)
    return {
        **base,
        "shifts": [_shift_entry(s, tz) for s in shifts],
        "volunteers": volunteer_rows,
        "fixed": fixed,
        "previous": previous,
        "busy": busy,
    }


def _shift_entry(shift: Shift, tz) -> dict:
    entry = {
        "id": shift.pk,
        "hotline": shift.roster.hotline_id,
        "starts_at": _iso(shift.starts_at),
        "ends_at": _iso(shift.ends_at),
        "requirements": shift.requirements,
        "crisis_trained_required": shift.crisis_trained_required,
    }
    # Chinese public holidays count as weekends in fairness, make-up working days do not.
    weekend = (
        counts_as_weekend(shift.starts_at.astimezone(tz).date())
        if holidays.applies_to(str(tz))
        else None
    )
    if weekend is not None:
        entry["weekend"] = weekend
    return entry


def roster_fingerprint(rosters: Iterable[Roster]) -> str:
    """A digest of the rosters' active assignments and shifts: options computed for one
    fingerprint are applied only while it still holds."""
    ids = sorted(r.pk for r in rosters)
    assignments = Assignment.objects.filter(
        occupying_q(PLANNED), shift__roster__in=ids
    ).values_list("pk", "shift_id", "volunteer_id", "role", "sequence", "status")
    shifts = Shift.objects.filter(roster__in=ids).values_list(
        "pk", "starts_at", "ends_at", "updated_at"
    )
    text = repr((ids, sorted(assignments), sorted(shifts)))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- solution → database ----------------------------------------------------------------


def _reason_index(result: dict) -> dict[tuple, dict]:
    """The solver's change entries by (kind, shift, volunteer, role)."""
    return {
        (e["kind"], e["shift"], e["volunteer"], e["role"]): {
            k: e[k]
            for k in ("kind", "reason_code", "cause", "to", "partner", "name", "reason")
            if k in e
        }
        for e in result.get("changes", [])
    }


def roster_apply(
    *,
    roster: Roster,
    result: dict,
    rebuild: bool,
    by=None,
    progress: Progress | None = None,
    run_id: int | None = None,
    scope: dict | None = None,
) -> dict:
    """Save the solver's assignments through the rule layer, in one transaction.

    On a published roster every change is staged (pending until a coordinator publishes
    them; none is an urgent change, even in the freeze window). Only shifts in `scope`
    (see `scope_check`; the one the solver was given) are touched.

    In rebuild mode unlocked assignments the solution drops are cancelled first. Returns
    counts and the proposals the rule layer refused (with its code and message). With
    `run_id`, the run must still be running once the roster is locked (a run marked stale
    meanwhile writes nothing). Each change carries the solver's reason for it
    (`Assignment.change_reason`), which the change notice tells the volunteer.
    """
    return rosters_apply(
        rosters=[roster],
        result=result,
        rebuild=rebuild,
        by=by,
        progress=progress,
        run_ids=[run_id] if run_id is not None else [],
        scope=scope,
    )[roster.pk]


def rosters_apply(
    *,
    rosters: Sequence[Roster],
    result: dict,
    rebuild: bool,
    by=None,
    progress: Progress | None = None,
    run_ids: Sequence[int] = (),
    scope: dict | None = None,
) -> dict[int, dict]:
    """`roster_apply` for several rosters in one transaction: every cancellation first,
    then every new assignment, so a volunteer moving from one hotline to another's
    overlapping shift is not refused by their own old assignment."""
    wanted = {(a["shift"], a["volunteer"], a["role"]) for a in result["assignments"]}
    reasons = _reason_index(result)
    out = {r.pk: {"created": 0, "cancelled": 0, "refused": []} for r in rosters}
    with transaction.atomic():
        # Serialises builders of these rosters (in id order: no deadlock between two
        # groups), even a run that was given up on as stale.
        list(
            Roster.objects.select_for_update().filter(pk__in=[r.pk for r in rosters]).order_by("pk")
        )
        live = AutofillRun.objects.filter(pk__in=run_ids, status=AutofillRun.Status.RUNNING)
        if run_ids and live.count() != len(set(run_ids)):
            raise AutofillAbandoned(run_ids)
        scoped = scope_shift_ids(rosters, scope)
        current = [
            a
            for a in Assignment.objects.filter(
                occupying_q(PLANNED), shift__roster__in=[r.pk for r in rosters]
            ).select_related("shift")
            if a.shift_id in scoped
        ]
        have = {(a.shift_id, a.volunteer_id, a.role) for a in current}
        roster_of_shift = dict(
            Shift.objects.filter(roster__in=[r.pk for r in rosters]).values_list("pk", "roster_id")
        )
        if rebuild:
            for a in current:
                key = (a.shift_id, a.volunteer_id, a.role)
                if key not in wanted and not a.locked:
                    services.assignment_cancel(
                        assignment=a,
                        by=by,
                        change_reason=reasons.get(("removed", *key)),
                        stage=True,
                    )
                    have.discard(key)
                    out[a.shift.roster_id]["cancelled"] += 1
        todo = sorted(k for k in wanted - have if k[0] in scoped)
        shifts = Shift.objects.select_related("roster__hotline").in_bulk({s for s, _v, _r in todo})
        people = Volunteer.objects.in_bulk({v for _s, v, _r in todo})
        for i, (shift_id, volunteer_id, role) in enumerate(todo, start=1):
            shift = shifts.get(shift_id)
            counts = out.get(roster_of_shift.get(shift_id), out[rosters[0].pk])
            try:
                if shift is None or volunteer_id not in people:
                    raise RuleViolation(
                        [Violation("gone", gettext("The shift or volunteer no longer exists."))]
                    )
                with transaction.atomic():
                    services.assignment_create(
                        shift=shift,
                        volunteer=people[volunteer_id],
                        role=role,
                        by=by,
                        source=Assignment.Source.AUTO,
                        change_reason=reasons.get(("added", shift_id, volunteer_id, role)),
                        stage=True,
                    )
                counts["created"] += 1
            except RuleViolation as exc:
                counts["refused"].append(
                    {
                        "shift": shift_id,
                        "volunteer": volunteer_id,
                        "role": role,
                        "code": exc.code,
                        "detail": exc.message,
                        "starts_at": shift.local_start.isoformat() if shift else None,
                        "ends_at": shift.local_end.isoformat() if shift else None,
                    }
                )
            if progress and (i % 25 == 0 or i == len(todo)):
                progress(90 + int(9 * i / max(len(todo), 1)), "saving")
    return out


# --- the whole build --------------------------------------------------------------------

METRIC_KEYS = (
    "mode",
    "unfilled_seats",
    "spread_hours",
    "spread_floor_hours",
    "spread_hours_by_role",
    "spread_tolerance_hours",
    "night_spread",
    "weekend_spread",
    "preferred",
    "undesired",
    "changes",
    "moved_volunteers",
    "coverage_proven_optimal",
    "by_hotline",
    "seconds",
)


def _metrics(metrics: dict) -> dict:
    return {key: metrics.get(key) for key in METRIC_KEYS if key in metrics}


def _reporter(progress: Progress | None) -> Progress:
    def report(percent: int, stage: str) -> None:
        if progress is not None:
            progress(max(0, min(100, percent)), stage)

    return report


def _solve(
    instance: dict,
    *,
    greedy: bool,
    strategy: str | None,
    spread_tolerance: float | None,
    time_limit: float,
    seed: int,
    report: Progress,
) -> dict:
    if greedy:
        return solve_greedy(instance)
    return solve(
        instance,
        mode=strategy,
        spread_tolerance=default_spread_tolerance()
        if spread_tolerance is None
        else spread_tolerance,
        time_limit=time_limit,
        seed=seed,
        # The solver's own "done" is not ours: saving comes next.
        progress=lambda stage, fraction: (
            report(5 + int(85 * fraction), stage) if stage != "done" else None
        ),
    )


def _check_strategy(strategy: str | None) -> None:
    if strategy is not None and strategy not in STRATEGIES:
        raise BuildRefused(
            gettext("Unknown strategy “%(strategy)s”: use repair or fairest.")
            % {"strategy": strategy}
        )


def _check_tolerance(spread_tolerance: float | None) -> None:
    if spread_tolerance is not None and not spread_tolerance >= 0:
        raise BuildRefused(gettext("The spread tolerance must be a number of hours, 0 or more."))


def roster_build(
    *,
    roster: Roster,
    rebuild: bool = False,
    time_limit: float = DEFAULT_TIME_LIMIT,
    greedy: bool = False,
    seed: int = 0,
    strategy: str | None = None,
    spread_tolerance: float | None = None,
    by=None,
    progress: Progress | None = None,
    run_id: int | None = None,
    now: dt.datetime | None = None,
    scope: dict | None = None,
) -> dict:
    """Read the roster, solve, save through the rule layer; returns a JSON-able summary.

    `progress(percent, stage)` is called along the way; `stage` is a key of STAGE_LABELS.
    `strategy` (repair or fairest) and `spread_tolerance` (hours) go to the solver; a
    rebuild defaults to repair, fill-gaps to fairest (it has nothing to keep).
    """
    return rosters_build(
        rosters=[roster],
        rebuild=rebuild,
        time_limit=time_limit,
        greedy=greedy,
        seed=seed,
        strategy=strategy,
        spread_tolerance=spread_tolerance,
        by=by,
        progress=progress,
        run_ids=[run_id] if run_id is not None else [],
        now=now,
        scope=scope,
    )[roster.pk]


def rosters_build(
    *,
    rosters: Sequence[Roster],
    rebuild: bool = False,
    time_limit: float = DEFAULT_TIME_LIMIT,
    greedy: bool = False,
    seed: int = 0,
    strategy: str | None = None,
    spread_tolerance: float | None = None,
    by=None,
    progress: Progress | None = None,
    run_ids: Sequence[int] = (),
    now: dt.datetime | None = None,
    scope: dict | None = None,
) -> dict[int, dict]:
    """Build several rosters of one period (a hotline each) in one solve, with one pool of
    volunteers: weekly limits, rest and overlap count across all of them, fairness is over
    the whole pool, each hotline keeps its own shifts, crisis minimum and rest. Returns
    each roster's summary, by roster id (as `roster_build` returns for one)."""
    check_group(rosters)
    _check_strategy(strategy)
    _check_tolerance(spread_tolerance)
    report = _reporter(progress)
    report(1, "instance")
    scope = scope_check(scope)
    instance = rosters_instance(rosters, rebuild=rebuild, now=now, scope=scope)
    report(5, "coverage")
    result = _solve(
        instance,
        greedy=greedy,
        strategy=strategy,
        spread_tolerance=spread_tolerance,
        time_limit=time_limit,
        seed=seed,
        report=report,
    )
    report(90, "saving")
    applied = rosters_apply(
        rosters=rosters,
        result=result,
        rebuild=rebuild,
        by=by,
        progress=report,
        run_ids=run_ids,
        scope=scope,
    )
    report(100, "done")
    metrics = _metrics(result.get("metrics", {}))
    shift_roster = dict(
        Shift.objects.filter(roster__in=[r.pk for r in rosters]).values_list("pk", "roster_id")
    )
    summaries = {}
    for roster in rosters:

        def mine(entries: Iterable[dict], roster_id: int = roster.pk) -> list[dict]:
            return [e for e in entries if shift_roster.get(e["shift"]) == roster_id]

        changes = mine(result.get("changes", []))
        summaries[roster.pk] = {
            "mode": AutofillRun.Mode.REBUILD if rebuild else AutofillRun.Mode.FILL,
            "strategy": result.get("metrics", {}).get("mode"),
            "solver": result.get("metrics", {}).get("solver", "greedy" if greedy else "cp-sat"),
            "proposed": sum(1 for a in mine(result["assignments"]) if not a.get("fixed")),
            "created": applied[roster.pk]["created"],
            "cancelled": applied[roster.pk]["cancelled"],
            "refused": applied[roster.pk]["refused"],
            "unfilled": mine(result.get("unfilled", [])),
            "coverage": coverage_summary(roster_coverage(roster)),
            "metrics": metrics,
            "changes": changes,
            "diff": by_volunteer(changes),
            "group": [r.pk for r in rosters] if len(rosters) > 1 else [],
            "scope": scope,
            "staged": roster.is_published,
        }
    return summaries


def roster_options(
    *,
    roster: Roster,
    time_limit: float = DEFAULT_TIME_LIMIT,
    seed: int = 0,
    spread_tolerance: float | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
    scope: dict | None = None,
) -> dict:
    """Up to three rebuilds of the roster to choose from, none of them saved.

    Each option (``fewest_changes``, ``balanced``, ``fairest``; or the single
    ``no_change``) has its `summary` (seats filled, changes, people moved, spreads), its
    `diff` (per volunteer, the shifts added and removed, each with its reason), its
    `assignments` (what `option_apply` saves) and its `unfilled` seats with reasons.
    `notes` say why an option is missing. The `fingerprint` of the roster they were
    computed for guards `option_apply`.
    """
    _check_tolerance(spread_tolerance)
    report = _reporter(progress)
    report(1, "instance")
    scope = scope_check(scope)
    fingerprint = roster_fingerprint([roster])
    instance = rosters_instance([roster], rebuild=True, now=now, scope=scope)
    report(5, "coverage")
    out = solve_options(
        instance,
        spread_tolerance=default_spread_tolerance()
        if spread_tolerance is None
        else spread_tolerance,
        time_limit=time_limit,
        seed=seed,
        progress=lambda stage, fraction: (
            report(5 + int(90 * fraction), stage) if stage != "done" else None
        ),
    )
    report(100, "done")
    options = []
    for option in out["options"]:
        options.append(
            {
                "key": option["key"],
                "summary": option["summary"],
                "metrics": _metrics(option["metrics"]),
                # A roster with nothing on it yet has no earlier version to change: its
                # one option (fairest) comes without a list of changes.
                "diff": by_volunteer(option.get("changes") or []),
                "changes": option.get("changes") or [],
                "unfilled": option["unfilled"],
                "assignments": [
                    [a["shift"], a["volunteer"], a["role"]] for a in option["assignments"]
                ],
            }
        )
    first = options[0]
    return {
        "mode": AutofillRun.Mode.REBUILD,
        "strategy": "options",
        "solver": "cp-sat",
        "options": options,
        "notes": out["notes"],
        "fingerprint": fingerprint,
        "scope": scope,
        # As a build's summary, for the board's line about the last run: nothing is
        # saved until an option is chosen.
        "proposed": 0,
        "created": 0,
        "cancelled": 0,
        "refused": [],
        "unfilled": first["unfilled"],
        "coverage": coverage_summary(roster_coverage(roster)),
        "metrics": first["metrics"],
    }


def option_apply(*, run: AutofillRun, key: str, by=None) -> dict:
    """Save the option `key` of an options run through the rule layer (a rebuild).

    Refused with OptionStale when the roster changed since the options were computed (its
    fingerprint), and with BuildRefused for an unknown key or a run without options.
    On a published roster the option becomes the roster's staged changes, previewed on the
    board and published (or discarded) by the coordinator.
    """
    result = run.result or {}
    options = {o["key"]: o for o in result.get("options", [])}
    if run.status != AutofillRun.Status.DONE or not options:
        raise BuildRefused(gettext("This auto-fill run has no options to choose from."))
    if key not in options:
        raise BuildRefused(gettext("No option “%(key)s” in this run.") % {"key": key})
    roster = run.roster
    if roster_fingerprint([roster]) != result.get("fingerprint"):
        raise OptionStale(
            gettext("The roster changed since these options were computed; compute them again.")
        )
    option = options[key]
    solved = {
        "assignments": [
            {"shift": s, "volunteer": v, "role": r} for s, v, r in option["assignments"]
        ],
        "changes": option["changes"],
    }
    applied = roster_apply(
        roster=roster, result=solved, rebuild=True, by=by, scope=result.get("scope")
    )
    return {
        **applied,
        "staged": roster.is_published,
        "option": key,
        "coverage": coverage_summary(roster_coverage(roster)),
    }


def unfilled_reasons(entries: Iterable[dict]) -> list[str]:
    """The solver's unfilled-seat entries as sentences in the active language."""
    return [render_reason(e, gettext=gettext, ngettext=ngettext) for e in entries]


def change_reason(entry: dict) -> str:
    """A change's reason (a solver change entry, or `Assignment.change_reason`) in the
    active language; empty when there is none."""
    if not entry or "reason_code" not in entry:
        return ""
    return render_change(entry, gettext=gettext, ngettext=ngettext)


def option_notes(notes: Iterable[dict]) -> list[str]:
    """Why options are missing, as sentences in the active language."""
    return [render_note(n, gettext=gettext) for n in notes]


# --- auto-fill runs ---------------------------------------------------------------------


def _expire_stale(roster: Roster, now: dt.datetime) -> None:
    live = AutofillRun.objects.filter(roster=roster, status__in=AutofillRun.LIVE)
    for run in live:
        if run.status == AutofillRun.Status.QUEUED:
            stale = run.created_at < now - QUEUED_STALE_AFTER
        else:
            budget = dt.timedelta(seconds=run.time_limit + TASK_MARGIN_SECONDS)
            stale = (run.started_at or run.created_at) < now - budget - RUNNING_STALE_MARGIN
        if stale:
            AutofillRun.objects.filter(pk=run.pk, status=run.status).update(
                status=AutofillRun.Status.FAILED,
                finished_at=now,
                message="stale: no task worker finished it",
            )


def run_request(run: AutofillRun) -> dict:
    """What was asked of a run beyond its fields: strategy, spread tolerance, options,
    and the other runs of a group build. Kept in its result until the result replaces it."""
    return (run.result or {}).get("request", {})


def autofill_start(
    *,
    roster: Roster,
    mode: str = AutofillRun.Mode.FILL,
    time_limit: float = DEFAULT_TIME_LIMIT,
    greedy: bool = False,
    seed: int = 0,
    strategy: str | None = None,
    spread_tolerance: float | None = None,
    options: bool = False,
    scope: dict | None = None,
    by=None,
    enqueue: bool = True,
) -> AutofillRun:
    """Record a queued auto-fill of `roster` and hand it to a task worker after commit.

    Raises `AutofillBusy` when the roster already has a queued or running one, and
    `BuildRefused` for options on anything but a rebuild. With `enqueue=False` the caller
    runs it itself with `autofill_execute` (the command does).
    """
    return autofill_start_group(
        rosters=[roster],
        mode=mode,
        time_limit=time_limit,
        greedy=greedy,
        seed=seed,
        strategy=strategy,
        spread_tolerance=spread_tolerance,
        options=options,
        scope=scope,
        by=by,
        enqueue=enqueue,
    )[0]


def autofill_start_group(
    *,
    rosters: Sequence[Roster],
    mode: str = AutofillRun.Mode.FILL,
    time_limit: float = DEFAULT_TIME_LIMIT,
    greedy: bool = False,
    seed: int = 0,
    strategy: str | None = None,
    spread_tolerance: float | None = None,
    options: bool = False,
    scope: dict | None = None,
    by=None,
    enqueue: bool = True,
) -> list[AutofillRun]:
    """`autofill_start` for several rosters of one period built together: one run per
    roster, all queued or none (AutofillBusy names the first busy roster's run). The first
    run leads: its task builds them all and records each roster's result on its run."""
    if mode not in AutofillRun.Mode.values:
        raise ValueError(f"unknown auto-fill mode {mode!r}")
    check_group(rosters)
    _check_strategy(strategy)
    _check_tolerance(spread_tolerance)
    if options and (mode != AutofillRun.Mode.REBUILD or greedy or len(rosters) > 1):
        raise BuildRefused(
            gettext("Options compare rebuilds of one roster: use the rebuild mode, not greedy.")
        )
    time_limit = min(max(float(time_limit), MIN_TIME_LIMIT), MAX_TIME_LIMIT)
    now = timezone.now()
    for roster in rosters:
        _expire_stale(roster, now)
    request = {
        "strategy": strategy,
        "spread_tolerance": spread_tolerance,
        "options": bool(options),
        "scope": scope_check(scope),
    }
    runs = []
    try:
        with transaction.atomic():
            for roster in rosters:
                runs.append(
                    AutofillRun.objects.create(
                        roster=roster,
                        mode=mode,
                        time_limit=time_limit,
                        greedy=greedy,
                        seed=seed,
                        message="queued",
                        requested_by=by if getattr(by, "is_authenticated", False) else None,
                        result={"request": request},
                    )
                )
            if len(runs) > 1:
                group = [run.pk for run in runs]
                for run in runs:
                    run.result = {"request": {**request, "group": group}}
                    run.save(update_fields=["result"])
    except IntegrityError:
        busy = AutofillRun.objects.filter(
            roster__in=[r.pk for r in rosters], status__in=AutofillRun.LIVE
        ).first()
        raise AutofillBusy(busy) from None
    if enqueue:
        leader = runs[0]
        transaction.on_commit(lambda: _enqueue(leader.pk, time_limit))
    return runs


def _enqueue(run_id: int, time_limit: float) -> None:
    from django_q.tasks import async_task

    try:
        task_id = async_task(
            "scheduling.tasks.autofill_run",
            run_id,
            task_name=f"autofill-{run_id}",
            timeout=int(time_limit) + TASK_MARGIN_SECONDS,
        )
    except Exception as exc:
        log.exception("could not enqueue auto-fill run %s", run_id)
        run = AutofillRun.objects.filter(pk=run_id).first()
        group = (run_request(run).get("group") or [run_id]) if run else [run_id]
        AutofillRun.objects.filter(pk__in=group, status=AutofillRun.Status.QUEUED).update(
            status=AutofillRun.Status.FAILED,
            finished_at=timezone.now(),
            message=f"could not enqueue: {exc}"[:300],
        )
        return
    AutofillRun.objects.filter(pk=run_id).update(task_id=str(task_id or "")[:64])


def autofill_execute(*, run_id: int, progress: Progress | None = None) -> AutofillRun:
    """Run a queued auto-fill to the end; its state, progress and result go to the database.

    Claims the run first (queued → running), so a task delivered twice, or a run already
    given up on, does nothing. A group's leader claims every run of the group (all or
    none). Never raises for a failed build: the run says `failed`.
    """
    now = timezone.now()
    run = AutofillRun.objects.select_related("roster__hotline", "requested_by").get(pk=run_id)
    request = run_request(run)
    group = request.get("group") or [run_id]
    with transaction.atomic():
        claimed = AutofillRun.objects.filter(pk__in=group, status=AutofillRun.Status.QUEUED).update(
            status=AutofillRun.Status.RUNNING, started_at=now, progress=0, message="instance"
        )
        if claimed != len(group):
            # Another delivery got there first, or part of the group was given up on.
            transaction.set_rollback(True)
            claimed = 0
    if not claimed:
        run.refresh_from_db()
        return run
    runs = list(
        AutofillRun.objects.select_related("roster__hotline").filter(pk__in=group).order_by("pk")
    )

    def report(percent: int, stage: str) -> None:
        AutofillRun.objects.filter(pk__in=group, status=AutofillRun.Status.RUNNING).update(
            progress=percent, message=stage
        )
        if progress is not None:
            progress(percent, stage)

    try:
        if request.get("options"):
            summaries = {
                run.roster_id: roster_options(
                    roster=run.roster,
                    time_limit=run.time_limit,
                    seed=run.seed,
                    spread_tolerance=request.get("spread_tolerance"),
                    progress=report,
                    scope=request.get("scope"),
                )
            }
        else:
            summaries = rosters_build(
                rosters=[r.roster for r in runs],
                rebuild=run.mode == AutofillRun.Mode.REBUILD,
                time_limit=run.time_limit,
                greedy=run.greedy,
                seed=run.seed,
                strategy=request.get("strategy"),
                spread_tolerance=request.get("spread_tolerance"),
                by=run.requested_by,
                progress=report,
                run_ids=group,
                scope=request.get("scope"),
            )
    except AutofillAbandoned:
        log.warning("auto-fill run %s was given up on while it ran; nothing saved", run_id)
    except Exception as exc:
        log.exception("auto-fill run %s failed", run_id)
        AutofillRun.objects.filter(pk__in=group).update(
            status=AutofillRun.Status.FAILED,
            finished_at=timezone.now(),
            message=f"{type(exc).__name__}: {exc}"[:300],
        )
    else:
        finished = timezone.now()
        for member in runs:
            AutofillRun.objects.filter(pk=member.pk).update(
                status=AutofillRun.Status.DONE,
                finished_at=finished,
                progress=100,
                message="done",
                result={**summaries[member.roster_id], "request": request},
            )
    run.refresh_from_db()
    return run


def autofill_latest(roster: Roster) -> AutofillRun | None:
    return AutofillRun.objects.filter(roster=roster).order_by("-created_at", "-id").first()
