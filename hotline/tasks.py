"""The hotline app's background entry points: the only functions that schedules
(config/schedules.py), queued tasks (`async_task`) and the SMS reply handlers name by path.

Each is a thin call into a service, so the services can move between modules without
breaking a task already queued or a schedule stored in the database: keep these names.
"""

from __future__ import annotations

import datetime as dt

from hotline.accounts import housekeeping
from hotline.calls import services as calls
from hotline.crisis import escalations, retention
from hotline.followups import services as followups
from hotline.referrals import services as referrals
from hotline.sms import outbox
from hotline.stats import services as stats


def sms_deliver(message_id: int) -> str:
    """Send one queued SMS (queued by `sms_send` after its transaction commits)."""
    return outbox.message_deliver(message_id)


def sms_outbox_flush() -> int:
    """Every minute: retries, lost enqueues, and messages a dead worker left mid-send."""
    return outbox.outbox_flush()


def calls_sweep() -> int:
    """Every minute: move on calls whose ring batch passed its deadline (lost callbacks)."""
    return calls.calls_sweep()


def escalations_advance() -> int:
    """Every minute: alert the next tier of every escalation nobody acknowledged in time."""
    return escalations.escalations_advance_due()


def webhook_inbox_replay() -> dict[str, int]:
    """Every minute: replay webhooks kept while the database was busy (hotline/telephony/
    inbox.py). Waits for locks as briefly as a webhook does, and stops while still busy."""
    from django.conf import settings

    from hotline.busy import is_busy, lock_waits
    from hotline.telephony import inbox

    with lock_waits(settings.WEBHOOK_DB_LOCK_WAIT_MS / 1000):
        return inbox.inbox_replay(is_busy=is_busy)


def retention_purge() -> dict[str, int]:
    """Daily: erase what has passed its retention period."""
    return retention.purge_expired().counts


def sms_reply_ack(*, from_number: str, body: str, now: dt.datetime) -> str | None:
    """SMS reply handler: `ACK 4821` acknowledges an escalation."""
    return escalations.escalation_ack_sms(from_number=from_number, body=body, now=now)


def login_records_purge() -> dict[str, int]:
    """Daily: expired API tokens, and sign-in records past LOGIN_LOG_RETENTION_DAYS."""
    return housekeeping.login_records_purge()


def activity_reports_monthly() -> dict[str, int]:
    """Daily: last month's activity report per organisation, once (and its e-mail)."""
    return stats.monthly_reports_build()


def voice_key_ack(*, message, digits: str, now: dt.datetime) -> str:
    """A key pressed on an escalation's alert call (VOICE_KEY_HANDLERS)."""
    return escalations.escalation_ack_voice(message=message, digits=digits, now=now)


def follow_ups_overdue() -> int:
    """Every 5 minutes: tell the supervisors (up the chain) of each newly overdue follow-up,
    once."""
    return followups.follow_ups_alert_overdue()


def resources_unverified() -> int:
    """Daily: tell the coordinators, once a month each, which referral resources nobody
    verified lately (the dedupe key carries the month)."""
    return referrals.resources_unverified_notify()
