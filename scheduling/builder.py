"""The automatic builder: roster → solver instance → assignments saved through the rule layer.

The solver (`scheduling.solver`) works on plain data; this module is the only place that
turns the database into an instance and the solver's answer back into assignments. Every
proposed assignment is saved with `services.assignment_create`, so the rule layer has the
last word; a proposal it refuses (the data changed while the solver ran) is reported as a
refusal, never forced.

Entry points (the web board, the API, the django-q2 task and `build_roster` all use these):

    autofill_start(roster=, mode=, time_limit=, greedy=, seed=, by=, enqueue=True) -> AutofillRun
    autofill_execute(run_id=, progress=None) -> AutofillRun
    roster_build(roster=, rebuild=, time_limit=, greedy=, seed=, by=, progress=) -> dict
    unfilled_reasons(entries) -> list[str]        (in the active language)

One roster has at most one live (queued or running) `AutofillRun`, enforced by a partial
unique constraint; a second start raises `AutofillBusy`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from hotline.conflicts import DomainConflict
from hotline.links import site_url
from hotline.models import ROLE_FLAG, Volunteer
from scheduling import services
from scheduling.models import Assignment, AutofillRun, Availability, Roster, Shift, TimeOff
from scheduling.rules import FACTS_MARGIN, RuleViolation, Violation, availability_of
from scheduling.selectors import coverage_summary, roster_coverage
from scheduling.solver import render_reason, solve, solve_greedy

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

STAGE_LABELS = {
    "queued": _("Waiting for a task worker"),
    "instance": _("Reading the roster"),
    "coverage": _("Filling seats"),
    "fairness_hours": _("Balancing hours"),
    "fairness_nights_weekends": _("Balancing nights and weekends"),
    "preferences": _("Honouring preferences"),
    "stability": _("Keeping earlier assignments"),
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


def stage_label(stage: str) -> str:
    label = STAGE_LABELS.get(stage)
    return str(label) if label is not None else stage


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


# --- roster → instance ------------------------------------------------------------------


def roster_instance(
    roster: Roster, *, rebuild: bool = False, now: dt.datetime | None = None
) -> dict:
    """The solver instance for a roster.

    Fill-gaps mode keeps every active assignment (`fixed`). Rebuild mode keeps locked ones
    and those on shifts that have already started; the rest may change, with the current
    assignments given as `previous` so the solver changes as few as it can.

    Six queries whatever the roster size.
    """
    now = now or timezone.now()
    hotline = roster.hotline
    tz = hotline.tz
    shifts = list(Shift.objects.filter(roster=roster).order_by("starts_at", "id"))
    base = {
        "time_zone": hotline.time_zone,
        "min_rest_hours": hotline.min_rest_hours,
        "allow_back_to_back": hotline.allow_back_to_back,
    }
    if not shifts:
        return {**base, "shifts": [], "volunteers": []}
    # Wide enough for the rule layer's look-around: the local week of the first and last
    # shift, and the rest time either side.
    margin = FACTS_MARGIN + dt.timedelta(hours=hotline.min_rest_hours)
    lo = min(s.starts_at for s in shifts) - margin
    hi = max(s.ends_at for s in shifts) + margin

    current = list(
        Assignment.objects.filter(shift__roster=roster, status=Assignment.Status.ACTIVE)
        .select_related("shift")
        .order_by("shift__starts_at", "id")
    )
    kept = [a for a in current if not rebuild or a.locked or a.shift.starts_at <= now]
    kept_ids = {a.volunteer_id for a in kept}
    volunteers = list(
        Volunteer.objects.filter(pk__in=kept_ids) | Volunteer.objects.filter(is_active=True)
    )
    volunteers.sort(key=lambda v: v.pk)
    # Who the solver may put on new seats: active and holding a role.
    eligible = {v.pk for v in volunteers if v.is_active and v.roles}
    listed = [v for v in volunteers if v.pk in eligible or v.pk in kept_ids]
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
    # An unlocked assignment of someone no longer active is simply not kept.
    kept_pks = {a.pk for a in kept}
    previous = [entry(a) for a in current if a.pk not in kept_pks and a.volunteer_id in eligible]
    busy = [
        {
            "volunteer": volunteer_id,
            "starts_at": _iso(start),
            "ends_at": _iso(end),
            # The back-to-back exception holds only between shifts of one hotline.
            "same_hotline": hotline_id == hotline.pk,
        }
        for volunteer_id, start, end, hotline_id in Assignment.objects.filter(
            volunteer__in=listed_ids,
            status=Assignment.Status.ACTIVE,
            shift__ends_at__gt=lo,
            shift__starts_at__lt=hi,
        )
        .exclude(shift__roster=roster)
        .values_list(
            "volunteer_id", "shift__starts_at", "shift__ends_at", "shift__roster__hotline_id"
        )
    ]

    fixed_pairs = {(e["shift"], e["volunteer"]) for e in fixed}
    volunteer_rows = []
    for v in listed:
        available, preferred = [], []
        for s in shifts:
            if (s.pk, v.pk) in fixed_pairs:
                # A kept assignment stays possible even if availability changed since (it
                # may have been an override); the solver must be able to keep it.
                available.append(s.pk)
                continue
            if v.pk not in eligible:
                continue
            blocked = any(start < s.ends_at and end > s.starts_at for start, end in time_off[v.pk])
            kind = None if blocked else availability_of(windows[v.pk], s.starts_at, s.ends_at, tz)
            if kind is None:
                continue
            available.append(s.pk)
            if kind == Availability.Kind.PREFERRED:
                preferred.append(s.pk)
        volunteer_rows.append(
            {
                "id": v.pk,
                "name": v.display_name,
                "roles": [str(r) for r in v.roles if r in ROLE_FLAG],
                "crisis_trained": v.crisis_trained,
                "max_shifts_per_week": v.max_shifts_per_week,
                "available": available,
                "preferred": preferred,
                "undesired": [],
            }
        )
    return {
        **base,
        "shifts": [
            {
                "id": s.pk,
                "starts_at": _iso(s.starts_at),
                "ends_at": _iso(s.ends_at),
                "requirements": s.requirements,
                "crisis_trained_required": s.crisis_trained_required,
            }
            for s in shifts
        ],
        "volunteers": volunteer_rows,
        "fixed": fixed,
        "previous": previous,
        "busy": busy,
    }


# --- solution → database ----------------------------------------------------------------


def roster_apply(
    *,
    roster: Roster,
    result: dict,
    rebuild: bool,
    by=None,
    progress: Progress | None = None,
    run_id: int | None = None,
) -> dict:
    """Save the solver's assignments through the rule layer, in one transaction.

    In rebuild mode unlocked assignments the solution drops are cancelled first. Returns
    counts and the proposals the rule layer refused (with its code and message). With
    `run_id`, the run must still be running once the roster is locked (a run marked stale
    meanwhile writes nothing).
    """
    wanted = {(a["shift"], a["volunteer"], a["role"]) for a in result["assignments"]}
    created = cancelled = 0
    refused = []
    with transaction.atomic():
        # Serialises builders of one roster, even a run that was given up on as stale.
        Roster.objects.select_for_update().get(pk=roster.pk)
        if (
            run_id is not None
            and not AutofillRun.objects.filter(
                pk=run_id, status=AutofillRun.Status.RUNNING
            ).exists()
        ):
            raise AutofillAbandoned(run_id)
        current = list(
            Assignment.objects.filter(shift__roster=roster, status=Assignment.Status.ACTIVE)
        )
        have = {(a.shift_id, a.volunteer_id, a.role) for a in current}
        if rebuild:
            for a in current:
                if (a.shift_id, a.volunteer_id, a.role) not in wanted and not a.locked:
                    services.assignment_cancel(assignment=a, by=by)
                    have.discard((a.shift_id, a.volunteer_id, a.role))
                    cancelled += 1
        todo = sorted(wanted - have)
        shifts = Shift.objects.select_related("roster__hotline").in_bulk({s for s, _v, _r in todo})
        people = Volunteer.objects.in_bulk({v for _s, v, _r in todo})
        for i, (shift_id, volunteer_id, role) in enumerate(todo, start=1):
            shift = shifts.get(shift_id)
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
                    )
                created += 1
            except RuleViolation as exc:
                refused.append(
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
    return {"created": created, "cancelled": cancelled, "refused": refused}


# --- the whole build --------------------------------------------------------------------


def roster_build(
    *,
    roster: Roster,
    rebuild: bool = False,
    time_limit: float = DEFAULT_TIME_LIMIT,
    greedy: bool = False,
    seed: int = 0,
    by=None,
    progress: Progress | None = None,
    run_id: int | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """Read the roster, solve, save through the rule layer; returns a JSON-able summary.

    `progress(percent, stage)` is called along the way; `stage` is a key of STAGE_LABELS.
    """

    def report(percent: int, stage: str) -> None:
        if progress is not None:
            progress(max(0, min(100, percent)), stage)

    report(1, "instance")
    instance = roster_instance(roster, rebuild=rebuild, now=now)
    report(5, "coverage")
    if greedy:
        result = solve_greedy(instance)
    else:
        result = solve(
            instance,
            time_limit=time_limit,
            seed=seed,
            # The solver's own "done" is not ours: saving comes next.
            progress=lambda stage, fraction: (
                report(5 + int(85 * fraction), stage) if stage != "done" else None
            ),
        )
    report(90, "saving")
    applied = roster_apply(
        roster=roster, result=result, rebuild=rebuild, by=by, progress=report, run_id=run_id
    )
    summary = coverage_summary(roster_coverage(roster))
    report(100, "done")
    metrics = result.get("metrics", {})
    return {
        "mode": AutofillRun.Mode.REBUILD if rebuild else AutofillRun.Mode.FILL,
        "solver": metrics.get("solver", "greedy" if greedy else "cp-sat"),
        "proposed": sum(1 for a in result["assignments"] if not a.get("fixed")),
        "created": applied["created"],
        "cancelled": applied["cancelled"],
        "refused": applied["refused"],
        "unfilled": result.get("unfilled", []),
        "coverage": summary,
        "metrics": {
            key: metrics.get(key)
            for key in (
                "unfilled_seats",
                "spread_hours",
                "spread_floor_hours",
                "spread_hours_by_role",
                "night_spread",
                "weekend_spread",
                "preferred",
                "undesired",
                "changes",
                "coverage_proven_optimal",
                "seconds",
            )
            if key in metrics
        },
    }


def unfilled_reasons(entries: Iterable[dict]) -> list[str]:
    """The solver's unfilled-seat entries as sentences in the active language."""
    return [render_reason(e, gettext=gettext, ngettext=ngettext) for e in entries]


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


def autofill_start(
    *,
    roster: Roster,
    mode: str = AutofillRun.Mode.FILL,
    time_limit: float = DEFAULT_TIME_LIMIT,
    greedy: bool = False,
    seed: int = 0,
    by=None,
    enqueue: bool = True,
) -> AutofillRun:
    """Record a queued auto-fill of `roster` and hand it to a task worker after commit.

    Raises `AutofillBusy` when the roster already has a queued or running one. With
    `enqueue=False` the caller runs it itself with `autofill_execute` (the command does).
    """
    if mode not in AutofillRun.Mode.values:
        raise ValueError(f"unknown auto-fill mode {mode!r}")
    time_limit = min(max(float(time_limit), MIN_TIME_LIMIT), MAX_TIME_LIMIT)
    now = timezone.now()
    _expire_stale(roster, now)
    try:
        with transaction.atomic():
            run = AutofillRun.objects.create(
                roster=roster,
                mode=mode,
                time_limit=time_limit,
                greedy=greedy,
                seed=seed,
                message="queued",
                requested_by=by if getattr(by, "is_authenticated", False) else None,
            )
    except IntegrityError:
        raise AutofillBusy(
            AutofillRun.objects.filter(roster=roster, status__in=AutofillRun.LIVE).first()
        ) from None
    if enqueue:
        transaction.on_commit(lambda: _enqueue(run.pk, time_limit))
    return run


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
        AutofillRun.objects.filter(pk=run_id, status=AutofillRun.Status.QUEUED).update(
            status=AutofillRun.Status.FAILED,
            finished_at=timezone.now(),
            message=f"could not enqueue: {exc}"[:300],
        )
        return
    AutofillRun.objects.filter(pk=run_id).update(task_id=str(task_id or "")[:64])


def autofill_execute(*, run_id: int, progress: Progress | None = None) -> AutofillRun:
    """Run a queued auto-fill to the end; its state, progress and result go to the database.

    Claims the run first (queued → running), so a task delivered twice, or a run already
    given up on, does nothing. Never raises for a failed build: the run says `failed`.
    """
    now = timezone.now()
    claimed = AutofillRun.objects.filter(pk=run_id, status=AutofillRun.Status.QUEUED).update(
        status=AutofillRun.Status.RUNNING, started_at=now, progress=0, message="instance"
    )
    run = AutofillRun.objects.select_related("roster__hotline", "requested_by").get(pk=run_id)
    if not claimed:
        return run

    def report(percent: int, stage: str) -> None:
        AutofillRun.objects.filter(pk=run_id, status=AutofillRun.Status.RUNNING).update(
            progress=percent, message=stage
        )
        if progress is not None:
            progress(percent, stage)

    try:
        summary = roster_build(
            roster=run.roster,
            rebuild=run.mode == AutofillRun.Mode.REBUILD,
            time_limit=run.time_limit,
            greedy=run.greedy,
            seed=run.seed,
            by=run.requested_by,
            progress=report,
            run_id=run_id,
        )
    except AutofillAbandoned:
        log.warning("auto-fill run %s was given up on while it ran; nothing saved", run_id)
    except Exception as exc:
        log.exception("auto-fill run %s failed", run_id)
        AutofillRun.objects.filter(pk=run_id).update(
            status=AutofillRun.Status.FAILED,
            finished_at=timezone.now(),
            message=f"{type(exc).__name__}: {exc}"[:300],
        )
    else:
        AutofillRun.objects.filter(pk=run_id).update(
            status=AutofillRun.Status.DONE,
            finished_at=timezone.now(),
            progress=100,
            message="done",
            result=summary,
        )
    run.refresh_from_db()
    return run


def autofill_latest(roster: Roster) -> AutofillRun | None:
    return AutofillRun.objects.filter(roster=roster).order_by("-created_at", "-id").first()
