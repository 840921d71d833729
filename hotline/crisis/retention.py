"""Retention: erase what identifies a caller or holds a conversation once it is old enough,
keep what counts (dates, durations, categories, risk levels, outcomes).

- callback numbers (CallbackRequest.number, FollowUp.number), RETENTION_DAYS_CALLBACK days
  after their follow-up closed (never while one is open); a request without a follow-up
  counts from the request;
- SMS sent to callers from a follow-up (the outbox Message's number and text), after
  RETENTION_DAYS_CALLBACK, once delivered or given up;
- recording references (Call.recording_sid), after RETENTION_DAYS_RECORDING;
- report notes (CallReport.summary and referral, addenda texts, escalation reasons and
  resolution notes, closed follow-ups' outcome notes and best time to call), after
  RETENTION_DAYS_NOTES (1,095 days by default: the national guideline keeps handling
  records at least three years).

The age is counted from when the thing was made (requested, recorded = call arrival, report
filed, escalation opened). Idempotent: a second run finds nothing. Work goes in batches so a
large backlog never holds one long transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hotline.crisis.audit import audit_record
from hotline.models import (
    Call,
    CallbackRequest,
    CallReport,
    CallReportAddendum,
    Escalation,
    FollowUp,
    Message,
)

log = logging.getLogger(__name__)

BATCH = 500
ERASED_ADDENDUM = ""


@dataclass
class PurgeResult:
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def retention_days() -> dict[str, int]:
    return {
        "callback": settings.RETENTION_DAYS_CALLBACK,
        "recording": settings.RETENTION_DAYS_RECORDING,
        "notes": settings.RETENTION_DAYS_NOTES,
    }


def _in_batches(qs: QuerySet, update: dict, label: str, progress) -> int:
    """Update `qs` (which must stop matching once updated) BATCH rows at a time."""
    done = 0
    while True:
        with transaction.atomic():
            ids = list(qs.order_by("pk").values_list("pk", flat=True)[:BATCH])
            if not ids:
                return done
            done += qs.model.objects.filter(pk__in=ids).update(**update)
        if progress:
            progress(label, done)


def purge_expired(
    *, now: dt.datetime | None = None, progress: Callable[[str, int], None] | None = None
) -> PurgeResult:
    """Erase everything past its retention period. `progress(label, done_so_far)` is called
    after each batch."""
    now = now or timezone.now()
    days = retention_days()
    cut = {name: now - dt.timedelta(days=n) for name, n in days.items()}
    result = PurgeResult()

    # A number is needed until its follow-up closes, then kept RETENTION_DAYS_CALLBACK more.
    result.counts["callback_numbers"] = _in_batches(
        CallbackRequest.objects.filter(requested_at__lt=cut["callback"])
        .exclude(number="")
        .exclude(follow_ups__status=FollowUp.Status.OPEN)
        .exclude(follow_ups__closed_at__gte=cut["callback"]),
        {"number": ""},
        "callback_numbers",
        progress,
    )
    result.counts["follow_up_numbers"] = _in_batches(
        FollowUp.objects.filter(closed_at__lt=cut["callback"]).exclude(number=""),
        {"number": ""},
        "follow_up_numbers",
        progress,
    )
    # An SMS to a caller (hotline/followups/messages.py) carries their number and our words
    # on the outbox row: erased like the callback numbers, once it is no longer in flight.
    result.counts["follow_up_sms"] = _in_batches(
        Message.objects.filter(purpose="followup_sms", created_at__lt=cut["callback"])
        .exclude(status__in=[Message.Status.QUEUED, Message.Status.SENDING])
        .exclude(to=""),
        {"to": "", "body": ""},
        "follow_up_sms",
        progress,
    )
    result.counts["recordings"] = _in_batches(
        Call.objects.filter(arrived_at__lt=cut["recording"]).exclude(recording_sid=""),
        {"recording_sid": ""},
        "recordings",
        progress,
    )
    result.counts["report_notes"] = _in_batches(
        CallReport.objects.filter(created_at__lt=cut["notes"], notes_purged_at__isnull=True),
        {"summary": "", "referral": "", "notes_purged_at": now},
        "report_notes",
        progress,
    )
    result.counts["addenda"] = _in_batches(
        CallReportAddendum.objects.filter(created_at__lt=cut["notes"]).exclude(text=""),
        {"text": ERASED_ADDENDUM},
        "addenda",
        progress,
    )
    # Only finished chains: an open escalation's reason is still needed, however old.
    result.counts["escalation_notes"] = _in_batches(
        Escalation.objects.filter(
            opened_at__lt=cut["notes"],
            status=Escalation.Status.RESOLVED,
            notes_purged_at__isnull=True,
        ),
        {"reason": "", "resolution_notes": "", "notes_purged_at": now},
        "escalation_notes",
        progress,
    )
    # Closed follow-ups only: an open one's notes are still being written.
    result.counts["follow_up_notes"] = _in_batches(
        FollowUp.objects.filter(
            created_at__lt=cut["notes"], closed_at__isnull=False, notes_purged_at__isnull=True
        ),
        {"notes": "", "best_time": "", "notes_purged_at": now},
        "follow_up_notes",
        progress,
    )
    if result.total:
        audit_record(
            actor=None, action="retention.purge", at=now, detail={**result.counts, "days": days}
        )
    log.info("purge_expired: %s", result.counts)
    return result
