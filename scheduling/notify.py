"""Telling volunteers about changes to published rosters, by SMS.

`AssignmentNotice` holds what each volunteer was last told about an assignment (its sequence
and a fingerprint of time, hotline, role and status). A change the automatic builder made
carries its reason (`Assignment.change_reason`), told with it: "Cancelled: Thu … — moved
to cover Thu 03-06 20:00 after Wang Fang's time off". `roster_changes_notify` compares it
with the assignments: only volunteers whose assignments differ get a message (one per
volunteer per run), so the first publish tells everyone on the roster and a republish, or a
change to a published roster, tells only those affected. It runs inside `roster_publish` and
from a schedule every few minutes (which batches a coordinator's run of edits into one SMS).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hotline import stamps
from hotline.access import hotline_coordinators_q
from hotline.links import site_url
from hotline.models import Role, Volunteer
from hotline.sms.outbox import sms_send
from scheduling.models import Assignment, AssignmentNotice, Roster
from scheduling.rules import shift_when
from scheduling.solver import render_change

MAX_LINES = 3


def fingerprint(assignment: Assignment) -> str:
    shift = assignment.shift
    return "|".join(
        [
            assignment.status,
            assignment.role,
            str(shift.roster.hotline_id),
            shift.starts_at.astimezone(dt.UTC).isoformat(),
            shift.ends_at.astimezone(dt.UTC).isoformat(),
        ]
    )


def shift_words(assignment: Assignment) -> str:
    """'Mon 2026-03-02 20:00–08:00 Hotline 1 (counsellor)' in the active language."""
    shift = assignment.shift
    hotline = shift.roster.hotline
    when = shift_when(shift.starts_at, shift.ends_at, hotline.tz)
    return f"{when} {hotline.name} ({Role(assignment.role).label})"


def reason_words(assignment: Assignment) -> str:
    """The builder's reason for this change, in the active language ('' if none)."""
    entry = assignment.change_reason or {}
    if "reason_code" not in entry:
        return ""
    # The entry is the reason for the change that left the assignment as it is now: an
    # addition's for an active one, a removal's for a cancelled one.
    if entry.get("kind") != ("added" if assignment.is_active else "removed"):
        return ""
    return render_change(entry, gettext=_)


def notices_record(assignments, *, now: dt.datetime) -> None:
    """Mark the assignments as told (e.g. a swap told both volunteers itself)."""
    rows = [
        AssignmentNotice(
            assignment_id=a.pk, sequence=a.sequence, fingerprint=fingerprint(a), notified_at=now
        )
        for a in assignments
    ]
    if rows:
        AssignmentNotice.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["assignment"],
            update_fields=["sequence", "fingerprint", "notified_at"],
        )


@transaction.atomic
def roster_changes_notify(
    *,
    roster: Roster | None = None,
    now: dt.datetime | None = None,
    volunteers: list[int] | None = None,
) -> int:
    """SMS each volunteer whose assignments in published rosters changed since they were last
    told (one roster, or all; only `volunteers`, by id, when given: an urgent change).
    Staged changes are not looked at: nobody hears of them before they are published.
    Returns the number of volunteers messaged.

    Idempotent: the dedupe key is derived from the changes themselves, so a crash between
    sending and recording never sends the same news twice.
    """
    now = now or timezone.now()
    qs = (
        Assignment.objects.filter(shift__roster__status=Roster.Status.PUBLISHED)
        .exclude(status=Assignment.Status.PENDING)
        .select_related("shift__roster__hotline", "volunteer", "notice")
    )
    if volunteers is not None:
        qs = qs.filter(volunteer_id__in=volunteers)
    if roster is not None:
        qs = qs.filter(shift__roster=roster)
    else:
        # The sweep looks at what still matters: shifts not yet over.
        qs = qs.filter(shift__ends_at__gt=now)
    changed: dict[int, list[Assignment]] = defaultdict(list)
    record: list[Assignment] = []
    raised: set[int] = set()  # volunteers whose feeds change with a raised sequence
    for a in qs.order_by("volunteer_id", "shift__starts_at", "id"):
        notice = getattr(a, "notice", None)
        fp = fingerprint(a)
        if notice is not None and notice.sequence == a.sequence and notice.fingerprint == fp:
            continue
        if notice is not None and notice.sequence == a.sequence:
            # Changed outside the services (e.g. the roster moved to another hotline): raise
            # the sequence so calendar apps take the new version.
            Assignment.objects.filter(pk=a.pk).update(sequence=F("sequence") + 1, updated_at=now)
            a.refresh_from_db(fields=["sequence", "updated_at"])
            raised.add(a.volunteer_id)
        record.append(a)
        never_told = notice is None
        if never_told and not a.is_active:
            continue  # made and cancelled before the volunteer ever heard of it
        if a.shift.ends_at <= now:
            continue
        changed[a.volunteer_id].append(a)
    sent = 0
    for items in changed.values():
        volunteer = items[0].volunteer
        if not volunteer.is_active:
            continue
        key_src = ",".join(f"{a.pk}:{a.sequence}:{a.status}" for a in items)
        key = f"roster-change:{volunteer.pk}:{hashlib.sha256(key_src.encode()).hexdigest()[:20]}"
        with translation.override(volunteer.language):
            lines = []
            for a in items[:MAX_LINES]:
                if a.is_active:
                    line = _("New or changed: %(shift)s") % {"shift": shift_words(a)}
                else:
                    line = _("Cancelled: %(shift)s") % {"shift": shift_words(a)}
                reason = reason_words(a)
                if reason:
                    line = _("%(change)s — %(reason)s") % {"change": line, "reason": reason}
                lines.append(line)
            if len(items) > MAX_LINES:
                lines.append(_("…and %(count)d more.") % {"count": len(items) - MAX_LINES})
            body = "\n".join(
                [
                    _("Your hotline shifts changed:"),
                    *lines,
                    _("Details: %(link)s") % {"link": site_url(reverse("scheduling:my-shifts"))},
                ]
            )
        sms_send(
            to=volunteer.phone_number,
            body=body,
            dedupe_key=key,
            purpose="roster_change",
            recipient=volunteer,
        )
        sent += 1
    notices_record(record, now=now)
    stamps.volunteers_changed(raised)
    return sent


def conflicts_notify(*, volunteer, conflicts, now: dt.datetime | None = None) -> int:
    """Tell the coordinators (those with a volunteer record and a phone) that `volunteer`'s
    assignments clash with their time off, windows or deactivation (`conflicts`, from
    `scheduling.selectors`): each coordinator hears of the clashes on the hotlines they
    manage (hotline/access.py `hotline_coordinators_q`), in one SMS per volunteer per change —
    the dedupe key is made of the clashing assignments and codes, so saving the same change
    again, or a change that adds no clash, tells nobody twice. Returns the number of SMS
    queued."""
    if not conflicts:
        return 0
    conflicts = sorted(conflicts, key=lambda c: (c.assignment.shift.starts_at, c.assignment.pk))
    by_hotline: dict[int, list] = defaultdict(list)
    for c in conflicts:
        by_hotline[c.assignment.shift.roster.hotline_id].append(c)
    # Each coordinator's share: the clashes on the hotlines they coordinate, in time order.
    shares: dict[int, list] = defaultdict(list)
    people: dict[int, Volunteer] = {}
    for group in by_hotline.values():
        hotline = group[0].assignment.shift.roster.hotline
        for coordinator in (
            Volunteer.objects.filter(is_active=True)
            .filter(hotline_coordinators_q(hotline))
            .exclude(pk=volunteer.pk)
            .distinct()
        ):
            people[coordinator.pk] = coordinator
            shares[coordinator.pk] += group
    sent = 0
    for pk in sorted(shares):
        coordinator = people[pk]
        theirs = sorted(shares[pk], key=lambda c: (c.assignment.shift.starts_at, c.assignment.pk))
        src = ",".join(f"{c.assignment.pk}:{'+'.join(sorted(c.codes))}" for c in theirs)
        digest = hashlib.sha256(src.encode()).hexdigest()[:20]
        roster = theirs[0].assignment.shift.roster
        link = site_url(reverse("scheduling:roster-board", args=[roster.pk]))
        with translation.override(coordinator.language):
            lines = [
                _("%(shift)s — %(reason)s")
                % {"shift": shift_words(c.assignment), "reason": c.violations[0].message}
                for c in theirs[:MAX_LINES]
            ]
            if len(theirs) > MAX_LINES:
                lines.append(_("…and %(count)d more.") % {"count": len(theirs) - MAX_LINES})
            body = "\n".join(
                [
                    _("%(name)s can no longer keep these shifts:")
                    % {"name": volunteer.display_name},
                    *lines,
                    _("Board: %(link)s") % {"link": link},
                ]
            )
        sms_send(
            to=coordinator.phone_number,
            body=body,
            dedupe_key=f"conflict:{coordinator.pk}:{volunteer.pk}:{digest}",
            purpose="conflict",
        )
        sent += 1
    return sent
