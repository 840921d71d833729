"""Writes to rosters, shifts and assignments. Every assignment change passes the rule layer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline import stamps
from hotline.access import can_override_rules
from hotline.models import Hotline, Volunteer
from scheduling import rules
from scheduling.models import Assignment, Roster, Shift, ShiftPattern
from scheduling.rules import RuleViolation, Violation


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


def assignment_validate(
    *,
    shift: Shift,
    volunteer: Volunteer,
    role: str,
    by=None,
    override_reason: str = "",
    ignore: Assignment | None = None,
) -> list[str]:
    """Check without writing (forms call it; so do the writes below): raise RuleViolation,
    or return the codes a coordinator's `override_reason` sets aside."""
    violations = rules.check_assignment(shift=shift, volunteer=volunteer, role=role, ignore=ignore)
    return _refuse_unless_allowed(violations, by=by, override_reason=override_reason)


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
) -> Assignment:
    """Put a volunteer on a shift, or raise RuleViolation with the rule that refused it.

    A coordinator (`by`) may set aside `unavailable` and `time_off` with an override reason.
    `change_reason` is the automatic builder's reason for the change (see
    `scheduling.solver.diff`), told to the volunteer with the change.
    """
    shift = _lock_shift(shift.pk)
    volunteer = _lock_volunteer(volunteer.pk)
    overridden = assignment_validate(
        shift=shift, volunteer=volunteer, role=role, by=by, override_reason=override_reason
    )
    try:
        with transaction.atomic():
            created = Assignment.objects.create(
                shift=shift,
                volunteer=volunteer,
                role=role,
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
    return created


@transaction.atomic
def assignment_update(
    *,
    assignment: Assignment,
    by=None,
    role: str | None = None,
    locked: bool | None = None,
    override_reason: str | None = None,
) -> Assignment:
    """Change role or lock of an active assignment; a role change is checked again."""
    shift = _lock_shift(assignment.shift_id)
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if not assignment.is_active:
        raise ValidationError(_("A cancelled assignment cannot be changed."))
    changed = False
    if role is not None and role != assignment.role:
        overridden = assignment_validate(
            shift=shift,
            volunteer=_lock_volunteer(assignment.volunteer_id),
            role=role,
            by=by,
            override_reason=override_reason or "",
            ignore=assignment,
        )
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
    return assignment


@transaction.atomic
def assignment_cancel(
    *, assignment: Assignment, by=None, change_reason: dict | None = None
) -> Assignment:
    """Cancel an assignment; it stays as a record (calendar feeds show it as cancelled).

    `change_reason`: the automatic builder's reason, told to the volunteer."""
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.is_active:
        assignment.status = Assignment.Status.CANCELLED
        assignment.sequence = F("sequence") + 1
        assignment.change_reason = change_reason or {}
        assignment.save(update_fields=["status", "sequence", "change_reason", "updated_at"])
        assignment.refresh_from_db()
        _shift_feeds_changed(
            Shift.objects.select_related("roster").get(pk=assignment.shift_id),
            assignment.volunteer_id,
        )
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


@transaction.atomic
def shift_update(*, shift: Shift, by=None, **changes) -> Shift:
    """Change a shift's times or requirements, refusing changes that break a rule for the
    volunteers already on it (their assignments are checked again against the new shift)."""
    roster = changes.pop("roster", None)
    shift = _lock_shift(shift.pk)  # as stored: the caller's copy may carry the change already
    shift_move_check(shift=shift, roster=roster)
    timing_changed = any(
        k in changes and changes[k] != getattr(shift, k) for k in ("starts_at", "ends_at")
    )
    for field, value in changes.items():
        setattr(shift, field, value)
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
    return shift


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
    while day <= last_day:
        for pattern in patterns:
            if pattern.runs_on(day):
                spans.append(
                    (pattern, *rules.local_span(day, pattern.start_time, pattern.end_time, tz))
                )
        day += dt.timedelta(days=1)
    return sorted(spans, key=lambda item: item[1])


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


@transaction.atomic
def roster_publish(*, roster: Roster, by=None, now: dt.datetime | None = None) -> Roster:
    """Make the roster visible to volunteers and their calendar feeds, and SMS the volunteers
    whose assignments are new or changed since they were last told (scheduling.notify)."""
    from scheduling.notify import roster_changes_notify

    roster = Roster.objects.select_for_update().get(pk=roster.pk)
    roster.status = Roster.Status.PUBLISHED
    roster.published_at = now or timezone.now()
    roster.save(update_fields=["status", "published_at", "updated_at"])
    roster_changes_notify(roster=roster, now=roster.published_at)
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
