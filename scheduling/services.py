"""Writes to rosters, shifts and assignments. Every assignment change passes the rule layer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline import stamps
from hotline.access import can_override_rules
from hotline.models import Hotline, Volunteer
from scheduling import holidays, rules
from scheduling.models import (
    PENDING_REQUIREMENT_FIELDS,
    Assignment,
    Roster,
    Shift,
    ShiftPattern,
    SwapRequest,
)
from scheduling.rules import PLANNED, RuleViolation, Violation
from scheduling.selectors import shift_edit_problems

# How a change to an assignment takes effect (docs/roster-changes.md).
DIRECT = "direct"  # a draft roster: nobody sees it yet
STAGED = "staged"  # a published roster: pending until a coordinator publishes the changes
URGENT = "urgent"  # a published shift starting within ROSTER_FREEZE_HOURS: at once, told now
IMMEDIATE = "immediate"  # a volunteer's own swap or drop approved automatically: at once


def _refuse_unless_allowed(violations: list[Violation], *, by, override_reason: str) -> list[str]:
    """Raise unless every violation may be overridden here; return the overridden codes."""
    if not violations:
        return []
    hard = [v for v in violations if not v.overridable]
    if hard:
        raise RuleViolation(hard)
    if not override_reason.strip() or not can_override_rules(by):
        raise RuleViolation(violations)
    return [v.code for v in violations]


def freeze_hours() -> int:
    return max(0, int(getattr(settings, "ROSTER_FREEZE_HOURS", 48)))


def is_frozen(shift: Shift, *, now: dt.datetime | None = None) -> bool:
    """The shift starts within the freeze window (or is under way): a change to it cannot
    wait for a publish."""
    now = now or timezone.now()
    return shift.starts_at < now + dt.timedelta(hours=freeze_hours())


def change_mode(*, shift: Shift, now: dt.datetime | None = None) -> str:
    """How a coordinator's change to an assignment on `shift` takes effect: DIRECT on a draft
    roster, URGENT on a published shift within the freeze window, STAGED otherwise."""
    if not shift.roster.is_published:
        return DIRECT
    return URGENT if is_frozen(shift, now=now) else STAGED


def _mode(shift: Shift, *, now, immediate: bool, stage: bool) -> str:
    mode = change_mode(shift=shift, now=now)
    if mode == DIRECT:
        return mode
    if stage:
        return STAGED
    return IMMEDIATE if immediate else mode


def assignment_validate(
    *,
    shift: Shift,
    volunteer: Volunteer,
    role: str,
    by=None,
    override_reason: str = "",
    ignore: Assignment | None = None,
    at_once: bool | None = None,
) -> list[str]:
    """Check without writing (forms call it; so do the writes below): raise RuleViolation,
    or return the codes a coordinator's `override_reason` sets aside.

    A staged change is checked against the planned roster; one that takes effect at once
    (`at_once`; by default, when the change would be urgent) against the live one too."""
    if at_once is None:
        at_once = change_mode(shift=shift) == URGENT
    if at_once and shift.roster.is_published:
        violations = rules.check_assignment_now(
            shift=shift, volunteer=volunteer, role=role, ignore=ignore
        )
    else:
        violations = rules.check_assignment(
            shift=shift, volunteer=volunteer, role=role, ignore=ignore, view=PLANNED
        )
    return _refuse_unless_allowed(violations, by=by, override_reason=override_reason)


def _tell_now(shift: Shift, volunteer_ids: Iterable[int], *, now: dt.datetime | None) -> None:
    """An urgent change: the volunteers hear at once, through the outbox."""
    from scheduling.notify import roster_changes_notify

    roster_changes_notify(roster=shift.roster, volunteers=list(volunteer_ids), now=now)


def shift_hard_violations(shift: Shift) -> list[Violation]:
    """The rules no one may override that the active assignments on `shift` would break with
    the shift as it stands (possibly changed and not yet saved)."""
    problems: list[Violation] = []
    active = shift.assignments.filter(status=Assignment.Status.ACTIVE).select_related("volunteer")
    for assignment in active:
        violations = rules.check_assignment(
            shift=shift, volunteer=assignment.volunteer, role=assignment.role, ignore=assignment
        )
        problems += [v for v in violations if not v.overridable]
    return problems


def _lock_shift(shift_id: int) -> Shift:
    # Locking the shift row serialises writers on one shift (the last-seat race); locking the
    # volunteer row serialises one volunteer's overlapping assignments across shifts. Always
    # shift first, then volunteer, so two writers never wait on each other in a cycle.
    # `of=("self",)`: the roster and hotline are read, not locked — call routing locks the
    # hotline row to plan ring batches, and must never wait for a roster write (auto-fill).
    return (
        Shift.objects.select_for_update(of=("self",))
        .select_related("roster__hotline")
        .get(pk=shift_id)
    )


def _lock_volunteer(volunteer_id: int) -> Volunteer:
    return Volunteer.objects.select_for_update().get(pk=volunteer_id)


# Calendar feeds answer from change stamps (hotline/stamps.py): every write below that alters
# what a feed shows raises the stamps of the feeds it alters, last, in its own transaction.


def _shift_feeds_changed(shift: Shift, *volunteer_ids: int) -> None:
    """The feeds of everyone on `shift` (their feeds name each other, and show cancelled
    assignments too) and its hotline's unfilled slots."""
    on_shift = Assignment.objects.filter(shift_id=shift.pk).values_list("volunteer_id", flat=True)
    stamps.volunteers_changed({*volunteer_ids, *on_shift}, hotline_ids=[shift.roster.hotline_id])


def _roster_feeds_changed(roster: Roster) -> None:
    on_roster = (
        Assignment.objects.filter(shift__roster_id=roster.pk)
        .values_list("volunteer_id", flat=True)
        .distinct()
    )
    stamps.volunteers_changed(set(on_roster), hotline_ids=[roster.hotline_id])


@transaction.atomic
def assignment_create(
    *,
    shift: Shift,
    volunteer: Volunteer,
    role: str,
    by=None,
    source: str = Assignment.Source.MANUAL,
    locked: bool = False,
    override_reason: str = "",
    change_reason: dict | None = None,
    immediate: bool = False,
    stage: bool = False,
    now: dt.datetime | None = None,
) -> Assignment:
    """Put a volunteer on a shift, or raise RuleViolation with the rule that refused it.

    A coordinator (`by`) may set aside `unavailable` and `time_off` with an override reason.
    `change_reason` is the automatic builder's reason for the change (see
    `scheduling.solver.diff`), told to the volunteer with the change.

    On a published roster the assignment is staged (status "pending", seen by coordinators
    only) until `roster_publish`, unless the shift is within the freeze window (an urgent
    change: active at once, and the volunteer is told now) or `immediate` (a volunteer's
    own swap approved automatically). `stage` stages it even in the freeze window (the
    automatic builder: its result is always previewed before it is published). The
    returned assignment's `change_mode` says which.
    """
    shift = _lock_shift(shift.pk)
    volunteer = _lock_volunteer(volunteer.pk)
    mode = _mode(shift, now=now, immediate=immediate, stage=stage)
    if mode == STAGED:
        undone = _undo_staged_removal(shift=shift, volunteer=volunteer, role=role)
        if undone is not None:
            return undone
    overridden = assignment_validate(
        shift=shift,
        volunteer=volunteer,
        role=role,
        by=by,
        override_reason=override_reason,
        at_once=mode in (URGENT, IMMEDIATE),
    )
    try:
        with transaction.atomic():
            assignment = Assignment.objects.create(
                shift=shift,
                volunteer=volunteer,
                role=role,
                status=Assignment.Status.PENDING if mode == STAGED else Assignment.Status.ACTIVE,
                source=source,
                locked=locked,
                created_by=by if getattr(by, "is_authenticated", False) else None,
                override_reason=override_reason.strip() if overridden else "",
                overridden_rules=overridden,
                change_reason=change_reason or {},
            )
    except IntegrityError as exc:
        # The partial unique index backs the overlap rule if a writer slipped past the lock.
        raise RuleViolation(
            [
                Violation(
                    rules.OVERLAP,
                    _("%(name)s is already on this shift.") % {"name": volunteer.display_name},
                )
            ]
        ) from exc
    _shift_feeds_changed(shift, volunteer.pk)
    assignment.change_mode = mode
    if mode == URGENT:
        _tell_now(shift, [volunteer.pk], now=now)
    return assignment


def _undo_staged_removal(*, shift: Shift, volunteer: Volunteer, role: str) -> Assignment | None:
    """Putting back someone whose removal from this seat is staged takes the removal back."""
    staged = (
        Assignment.objects.select_for_update(of=("self",))
        .filter(
            shift=shift,
            volunteer=volunteer,
            role=role,
            status=Assignment.Status.ACTIVE,
            pending_cancel=True,
        )
        .first()
    )
    if staged is None:
        return None
    staged.pending_cancel = False
    staged.pending_reason = {}
    staged.save(update_fields=["pending_cancel", "pending_reason", "updated_at"])
    staged.change_mode = STAGED
    return staged


@transaction.atomic
def assignment_update(
    *,
    assignment: Assignment,
    by=None,
    role: str | None = None,
    locked: bool | None = None,
    override_reason: str | None = None,
) -> Assignment:
    """Change role or lock of an active (or staged) assignment; a role change is checked
    again. On a published roster outside the freeze window a role change is staged: the
    assignment's removal and a pending one in the new role (returned)."""
    shift = _lock_shift(assignment.shift_id)
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.status == Assignment.Status.CANCELLED:
        raise ValidationError(_("A cancelled assignment cannot be changed."))
    changed = False
    mode = change_mode(shift=shift)
    if assignment.status == Assignment.Status.PENDING:
        mode = DIRECT  # nobody has seen it yet
    if role is not None and role != assignment.role:
        volunteer = _lock_volunteer(assignment.volunteer_id)
        overridden = assignment_validate(
            shift=shift,
            volunteer=volunteer,
            role=role,
            by=by,
            override_reason=override_reason or "",
            ignore=assignment,
            at_once=mode == URGENT,
        )
        if mode == STAGED:
            assignment.pending_cancel = True
            assignment.save(update_fields=["pending_cancel", "updated_at"])
            staged = Assignment.objects.create(
                shift=shift,
                volunteer=volunteer,
                role=role,
                status=Assignment.Status.PENDING,
                source=assignment.source,
                locked=assignment.locked if locked is None else locked,
                created_by=by if getattr(by, "is_authenticated", False) else None,
                override_reason=(override_reason or "").strip() if overridden else "",
                overridden_rules=overridden,
            )
            staged.change_mode = STAGED
            return staged
        assignment.role = role
        assignment.overridden_rules = overridden
        assignment.override_reason = (override_reason or "").strip() if overridden else ""
        changed = True
    if locked is not None and locked != assignment.locked:
        assignment.locked = locked
        changed = True
    if changed:
        assignment.sequence = F("sequence") + 1
        assignment.change_reason = {}  # a builder's reason no longer explains it
        assignment.save()
        assignment.refresh_from_db()
        _shift_feeds_changed(shift, assignment.volunteer_id)
        if mode == URGENT:
            _tell_now(shift, [assignment.volunteer_id], now=None)
    assignment.change_mode = mode
    return assignment


@transaction.atomic
def assignment_cancel(
    *,
    assignment: Assignment,
    by=None,
    change_reason: dict | None = None,
    immediate: bool = False,
    stage: bool = False,
    now: dt.datetime | None = None,
) -> Assignment:
    """Cancel an assignment; it stays as a record (calendar feeds show it as cancelled).

    `change_reason`: the automatic builder's reason, told to the volunteer. On a published
    roster the removal is staged until `roster_publish` (the assignment stays active for
    volunteers, feeds, reminders and call routing), unless urgent or `immediate`, as for
    `assignment_create`. A staged addition is simply taken back. The returned assignment's
    `change_mode` says which happened ("reverted" for a staged addition taken back).
    """
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("shift__roster__hotline")
        .get(pk=assignment.pk)
    )
    if assignment.status == Assignment.Status.PENDING:
        _staged_swaps_reopen([assignment.pk])
        assignment.delete()
        assignment.status = Assignment.Status.CANCELLED
        assignment.change_mode = "reverted"
        return assignment
    mode = _mode(assignment.shift, now=now, immediate=immediate, stage=stage)
    if assignment.is_active and mode == STAGED:
        if not assignment.pending_cancel:
            assignment.pending_cancel = True
            assignment.pending_reason = change_reason or {}
            assignment.save(update_fields=["pending_cancel", "pending_reason", "updated_at"])
    elif assignment.is_active:
        assignment.status = Assignment.Status.CANCELLED
        assignment.sequence = F("sequence") + 1
        assignment.change_reason = change_reason or {}
        assignment.pending_cancel = False
        assignment.pending_reason = {}
        assignment.save(
            update_fields=[
                "status",
                "sequence",
                "change_reason",
                "pending_cancel",
                "pending_reason",
                "updated_at",
            ]
        )
        assignment.refresh_from_db()
        _shift_feeds_changed(
            Shift.objects.select_related("roster").get(pk=assignment.shift_id),
            assignment.volunteer_id,
        )
        if mode == URGENT:
            _tell_now(assignment.shift, [assignment.volunteer_id], now=now)
    assignment.change_mode = mode
    return assignment


@transaction.atomic
def assignment_confirm(*, assignment: Assignment, volunteer: Volunteer) -> Assignment:
    if assignment.volunteer_id != volunteer.pk:
        raise PermissionDenied(_("You can only confirm your own shifts."))
    if assignment.confirmed_at is None:
        Assignment.objects.filter(pk=assignment.pk).update(confirmed_at=timezone.now())
        assignment.refresh_from_db()
    return assignment


# --- shifts and rosters -----------------------------------------------------------------


def shift_move_check(*, shift: Shift, roster: Roster | None) -> None:
    """A shift stays in the roster it was made in (its assignments, notices and calendar
    entries belong there): refuse `roster` if it is another one."""
    if roster is not None and roster.pk != shift.roster_id:
        raise ValidationError({"roster": [_("A shift cannot move to another roster.")]})


SHIFT_TIME_FIELDS = ("starts_at", "ends_at")


def shift_edit_mode(*, shift: Shift, changes: dict, now: dt.datetime | None = None) -> str:
    """How an edit of `shift` (times, seats) takes effect: DIRECT on a draft roster; URGENT
    when the shift starts within the freeze window, or the edit would make it; STAGED
    otherwise (pending until the roster's changes are published)."""
    if not shift.roster.is_published:
        return DIRECT
    now = now or timezone.now()
    new_start = changes.get("starts_at") or shift.starts_at
    if is_frozen(shift, now=now) or new_start < now + dt.timedelta(hours=freeze_hours()):
        return URGENT
    return STAGED


@transaction.atomic
def shift_update(*, shift: Shift, by=None, now: dt.datetime | None = None, **changes) -> Shift:
    """Change a shift's times or requirements (seats per role).

    On a draft roster, and for an urgent change (a published shift starting within
    ROSTER_FREEZE_HOURS), the change applies at once, refusing changes that break a rule
    nobody may override for the volunteers already on it; an urgent change tells those
    volunteers straight away (through the outbox). On a published roster otherwise the edit
    is staged (`Shift.pending_*`): volunteers, feeds, reminders and call routing keep the
    published shift until `roster_publish`; the rule problems it would bring show in the
    pending diff (`selectors.roster_shift_edits`) and nobody-may-override ones refuse the
    publish. The returned shift's `change_mode` says which."""
    roster = changes.pop("roster", None)
    shift = _lock_shift(shift.pk)  # as stored: the caller's copy may carry the change already
    shift_move_check(shift=shift, roster=roster)
    unknown = set(changes) - {*SHIFT_TIME_FIELDS, *PENDING_REQUIREMENT_FIELDS}
    if unknown:
        raise TypeError(f"not a shift field: {', '.join(sorted(unknown))}")
    mode = shift_edit_mode(shift=shift, changes=changes, now=now)
    if mode == STAGED:
        return _shift_edit_stage(shift, changes)
    timing_changed = any(
        k in changes and changes[k] != getattr(shift, k) for k in SHIFT_TIME_FIELDS
    )
    for field, value in changes.items():
        setattr(shift, field, value)
    # What is applied now is no longer pending (a staged edit of the other fields stays).
    if "starts_at" in changes:
        shift.pending_starts_at = None
    if "ends_at" in changes:
        shift.pending_ends_at = None
    shift.pending_requirements = {
        k: v for k, v in (shift.pending_requirements or {}).items() if k not in changes
    }
    shift.full_clean()
    shift.save()
    # Only the rules a coordinator cannot override refuse the change: the coordinator is
    # the one moving the shift, and the volunteers on it are told through their feeds.
    hard = shift_hard_violations(shift)
    if hard:
        raise RuleViolation(hard)
    if timing_changed:
        shift.assignments.filter(status=Assignment.Status.ACTIVE).update(
            sequence=F("sequence") + 1, updated_at=timezone.now()
        )
    _shift_feeds_changed(shift)
    if mode == URGENT and timing_changed:
        on_shift = shift.assignments.filter(status=Assignment.Status.ACTIVE).values_list(
            "volunteer_id", flat=True
        )
        _tell_now(shift, list(on_shift), now=now)
    shift.change_mode = mode
    return shift


def _shift_edit_stage(shift: Shift, changes: dict) -> Shift:
    """Record `changes` as the shift's staged edit (merged with one already staged; a value
    back to the published one is no longer a change). Checked as the model checks a shift
    (span, in its roster, seats); rule problems for the volunteers on it are shown, not
    refused, here: the coordinator may move them before publishing."""
    staged = shift.pending_requirements or {}
    planned = Shift(  # the shift as planned so far, unsaved
        pk=shift.pk,
        roster=shift.roster,
        pattern_id=shift.pattern_id,
        starts_at=shift.pending_starts_at or shift.starts_at,
        ends_at=shift.pending_ends_at or shift.ends_at,
        **{name: staged.get(name, getattr(shift, name)) for name in PENDING_REQUIREMENT_FIELDS},
    )
    for field, value in changes.items():
        setattr(planned, field, value)
    planned.full_clean(exclude=["pattern"], validate_unique=False)
    shift.pending_starts_at = planned.starts_at if planned.starts_at != shift.starts_at else None
    shift.pending_ends_at = planned.ends_at if planned.ends_at != shift.ends_at else None
    shift.pending_requirements = {
        name: getattr(planned, name)
        for name in PENDING_REQUIREMENT_FIELDS
        if getattr(planned, name) != getattr(shift, name)
    }
    shift.save(
        update_fields=["pending_starts_at", "pending_ends_at", "pending_requirements", "updated_at"]
    )
    shift.change_mode = STAGED
    return shift


def _shift_edits_apply(shifts: list[Shift], *, now: dt.datetime) -> None:
    """Make the staged edits of `shifts` (locked) the published shifts: the volunteers on a
    shift whose times change get a raised sequence, so `roster_changes_notify` tells them
    (and their calendar apps take the new version); a change of seats alone tells nobody."""
    for shift in shifts:
        planned = shift.planned()
        timing_changed = (planned.starts_at, planned.ends_at) != (shift.starts_at, shift.ends_at)
        shift.starts_at, shift.ends_at = planned.starts_at, planned.ends_at
        for name in PENDING_REQUIREMENT_FIELDS:
            setattr(shift, name, getattr(planned, name))
        shift.pending_starts_at = shift.pending_ends_at = None
        shift.pending_requirements = {}
        shift.save()
        if timing_changed:
            shift.assignments.filter(status=Assignment.Status.ACTIVE).update(
                sequence=F("sequence") + 1, updated_at=now
            )


MAX_PATTERN_DAYS = 400


def pattern_spans(
    patterns: Iterable[ShiftPattern], first_day: dt.date, last_day: dt.date, tz
) -> list[tuple[ShiftPattern, dt.datetime, dt.datetime]]:
    """UTC spans of the patterns for each local day first_day..last_day.

    Local wall times are kept across DST changes: a daily 08:00 shift stays 08:00 local.
    At most MAX_PATTERN_DAYS days (a roster is a period, not an era): the expansion, and
    the one transaction that writes its shifts, stay bounded whatever dates were entered.
    """
    if (last_day - first_day).days + 1 > MAX_PATTERN_DAYS:
        raise ValidationError(
            {
                "last_day": _(
                    "Shifts are made from patterns for at most %(days)d days at a time: "
                    "split the period into shorter rosters."
                )
                % {"days": MAX_PATTERN_DAYS}
            }
        )
    spans = []
    day = first_day
    mainland = holidays.applies_to(str(tz))
    while day <= last_day:
        kind = holidays.day_kind(day) if mainland else None
        for pattern in patterns:
            if _pattern_runs(pattern, day, kind):
                spans.append(
                    (pattern, *rules.local_span(day, pattern.start_time, pattern.end_time, tz))
                )
        day += dt.timedelta(days=1)
    return sorted(spans, key=lambda item: item[1])


def _pattern_runs(pattern: ShiftPattern, day: dt.date, kind) -> bool:
    """Whether `pattern` makes a shift on `day`, a `holidays.DayKind` (or None: an ordinary
    day, or a hotline off the mainland calendar). An unknown year counts as ordinary days."""
    known = kind if kind is not None and kind.kind != holidays.UNKNOWN else None
    if pattern.days == ShiftPattern.Days.HOLIDAYS:
        return known is not None and known.kind == holidays.HOLIDAY
    if pattern.days == ShiftPattern.Days.WORKDAYS and known is not None:
        return known.kind == holidays.MAKEUP_WORKDAY
    return pattern.runs_on(day)


@transaction.atomic
def roster_create(
    *, hotline: Hotline, first_day: dt.date, last_day: dt.date, with_patterns: bool = True
) -> Roster:
    roster = Roster(hotline=hotline, first_day=first_day, last_day=last_day)
    roster.full_clean()
    roster.save()
    if with_patterns:
        roster_generate_shifts(roster=roster)
    return roster


@transaction.atomic
def roster_generate_shifts(
    *, roster: Roster, patterns: Iterable[ShiftPattern] | None = None
) -> list[Shift]:
    """Create the roster's shifts from shift patterns; shifts that already exist are kept."""
    hotline = roster.hotline
    if patterns is None:
        patterns = ShiftPattern.objects.filter(hotline=hotline, is_active=True)
    existing = set(roster.shifts.values_list("starts_at", "ends_at"))
    new = [
        Shift(
            roster=roster,
            pattern=pattern,
            starts_at=start,
            ends_at=end,
            required_counsellors=pattern.required_counsellors,
            required_family_educators=pattern.required_family_educators,
            required_supervisors=pattern.required_supervisors,
            crisis_trained_required=pattern.crisis_trained_required,
        )
        for pattern, start, end in pattern_spans(
            list(patterns), roster.first_day, roster.last_day, hotline.tz
        )
        if (start, end) not in existing
    ]
    made = Shift.objects.bulk_create(new)
    if made:
        stamps.volunteers_changed((), hotline_ids=[hotline.pk])  # new unfilled slots
    return made


def roster_delete_check(*, roster: Roster) -> None:
    """Refuse (ValidationError) to delete a published roster: volunteers and their calendar
    feeds have seen it."""
    if roster.is_published:
        raise ValidationError(_("A published roster cannot be deleted."))


@transaction.atomic
def roster_delete(*, roster: Roster, by=None) -> None:
    """Delete a draft roster with its shifts and assignments (roster_delete_check)."""
    roster = Roster.objects.select_for_update().get(pk=roster.pk)
    roster_delete_check(roster=roster)
    _roster_feeds_changed(roster)
    roster.delete()


def shift_delete_check(*, shift: Shift) -> None:
    """Refuse (ValidationError) to delete a shift volunteers are on, or one of a published
    roster that ever had an assignment: its cancelled assignments are what volunteers'
    calendars show as cancelled."""
    if shift.assignments.filter(status=Assignment.Status.ACTIVE).exists():
        raise ValidationError(_("Volunteers are on this shift; cancel their assignments first."))
    if shift.roster.is_published and shift.assignments.exists():
        raise ValidationError(
            _("This shift has been published to volunteers; it cannot be deleted.")
        )


@transaction.atomic
def shift_delete(*, shift: Shift, by=None) -> None:
    """Delete a shift (shift_delete_check). Locked as assignment writes lock it, so nobody
    is put on it while it goes."""
    shift = _lock_shift(shift.pk)
    shift_delete_check(shift=shift)
    _shift_feeds_changed(shift)
    shift.delete()


STAGED_Q = Q(status=Assignment.Status.PENDING) | Q(pending_cancel=True)
# Shifts with a staged edit (new times or seats).
EDITED_Q = (
    Q(pending_starts_at__isnull=False)
    | Q(pending_ends_at__isnull=False)
    | ~Q(pending_requirements={})
)


def _staged_swaps_reopen(assignment_ids: list[int]) -> None:
    """Swaps a coordinator approved into staged assignments that are taken back wait for a
    decision again."""
    SwapRequest.objects.filter(
        new_assignment_id__in=assignment_ids, status=SwapRequest.Status.DONE
    ).update(
        status=SwapRequest.Status.CLAIMED, new_assignment=None, decided_by=None, decided_at=None
    )


@transaction.atomic
def roster_publish(*, roster: Roster, by=None, now: dt.datetime | None = None) -> Roster:
    """Make the roster visible to volunteers and their calendar feeds, apply its staged
    changes, and SMS the volunteers whose assignments are new or changed since they were
    last told (scheduling.notify): only those affected.

    One transaction: every staged addition is checked again against the roster as it will
    be (the rules nobody may override); a refusal (RuleViolation) or any failure leaves the
    roster, its staged changes and the outbox as they were. The returned roster's
    `published_changes` counts what was applied ({"added", "removed", "shifts"}: staged shift
    edits, whose new times tell the volunteers on those shifts).
    """
    from scheduling.notify import roster_changes_notify

    # Lock order: Roster, then the shifts with staged changes (id order), then their
    # volunteers (id order) — the shift-then-volunteer order of every assignment write.
    roster = Roster.objects.select_for_update().get(pk=roster.pk)
    staged_shift_ids = sorted(
        set(
            Assignment.objects.filter(STAGED_Q, shift__roster=roster).values_list(
                "shift_id", flat=True
            )
        )
        | set(Shift.objects.filter(EDITED_Q, roster=roster).values_list("pk", flat=True))
    )
    locked_shifts = list(
        Shift.objects.select_for_update(of=("self",))
        .select_related("roster__hotline")
        .filter(pk__in=staged_shift_ids)
        .order_by("pk")
    )
    edited = [s for s in locked_shifts if s.has_pending_edit]
    staged = list(
        Assignment.objects.filter(STAGED_Q, shift__roster=roster)
        .select_related("shift__roster__hotline", "volunteer")
        .order_by("shift__starts_at", "id")
    )
    list(
        Volunteer.objects.select_for_update()
        .filter(pk__in={a.volunteer_id for a in staged})
        .order_by("pk")
    )
    removals = [a for a in staged if a.pending_cancel]
    additions = [a for a in staged if a.status == Assignment.Status.PENDING]
    problems: list[Violation] = []
    for a in additions:
        violations = rules.check_assignment(
            shift=a.shift, volunteer=a.volunteer, role=a.role, ignore=a, view=PLANNED
        )
        problems += [v for v in violations if not v.overridable]
    # A staged shift edit must suit everyone on the shift as planned (its new times and
    # seats; the rules nobody may override). `shift_edit_problems` is the pending diff's.
    for shift in edited:
        for _a, violations in shift_edit_problems(shift, ignore_overridden=False):
            problems += [v for v in violations if not v.overridable]
    if problems:
        raise RuleViolation(problems)
    now = now or timezone.now()
    _shift_edits_apply(edited, now=now)
    for a in removals:
        if a.status == Assignment.Status.ACTIVE:
            a.status = Assignment.Status.CANCELLED
            a.sequence = F("sequence") + 1
            a.change_reason = a.pending_reason or {}
        a.pending_cancel = False
        a.pending_reason = {}
        a.save(
            update_fields=[
                "status",
                "sequence",
                "change_reason",
                "pending_cancel",
                "pending_reason",
                "updated_at",
            ]
        )
    for a in additions:
        a.status = Assignment.Status.ACTIVE
        a.save(update_fields=["status", "updated_at"])
    roster.status = Roster.Status.PUBLISHED
    roster.published_at = now
    roster.save(update_fields=["status", "published_at", "updated_at"])
    roster_changes_notify(roster=roster, now=now)
    roster.published_changes = {
        "added": len(additions),
        "removed": len(removals),
        "shifts": len(edited),
    }
    _roster_feeds_changed(roster)
    return roster


@transaction.atomic
def roster_update(*, roster: Roster, **changes) -> Roster:
    """Change a roster's fields (its hotline, its days); the feeds of everyone on it follow."""
    roster = Roster.objects.select_for_update().get(pk=roster.pk)
    before = roster.hotline_id
    for field, value in changes.items():
        setattr(roster, field, value)
    roster.full_clean()
    roster.save()
    _roster_feeds_changed(roster)
    if before != roster.hotline_id:
        stamps.volunteers_changed((), hotline_ids=[before])
    return roster


@transaction.atomic
def roster_changes_discard(*, roster: Roster, by=None) -> dict[str, int]:
    """Take back every staged change of the roster: staged additions go, staged removals
    are kept, staged shift edits are dropped. Nobody is told (nobody saw them); the calendar
    feeds' stamps are raised (what they show is dated by the rows it touches). Returns
    {"added", "removed", "shifts"} taken back."""
    roster = Roster.objects.select_for_update().get(pk=roster.pk)
    additions = list(
        Assignment.objects.filter(shift__roster=roster, status=Assignment.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _staged_swaps_reopen(additions)
    Assignment.objects.filter(pk__in=additions).delete()
    removed = Assignment.objects.filter(shift__roster=roster, pending_cancel=True).update(
        pending_cancel=False, pending_reason={}, updated_at=timezone.now()
    )
    shifts = Shift.objects.filter(EDITED_Q, roster=roster).update(
        pending_starts_at=None,
        pending_ends_at=None,
        pending_requirements={},
        updated_at=timezone.now(),
    )
    if additions or removed or shifts:
        # Nobody's events change, but the open slots' SEQUENCE counts every assignment (the
        # staged ones too) and each event's DTSTAMP is its row's `updated_at`: the feeds'
        # stamps follow, as they did when the changes were staged.
        _roster_feeds_changed(roster)
    return {"added": len(additions), "removed": removed, "shifts": shifts}
