"""The scheduling app's background entry points: the only functions that schedules
(config/schedules.py), queued tasks (`async_task`) and the SMS reply handlers name by path.

Each is a thin call into a service, so the services can move between modules without
breaking a task already queued or a schedule stored in the database: keep these names.
"""

from __future__ import annotations

import datetime as dt

from scheduling import builder, notify, reminders, swaps


def autofill_run(run_id: int) -> str:
    """Run one queued auto-fill (state and progress are kept on its AutofillRun row)."""
    return builder.autofill_execute(run_id=run_id).status


def reminders_send_due() -> int:
    """Every 5 minutes: SMS reminders of shifts coming up."""
    return reminders.reminders_send_due()


def drops_ask_due() -> int:
    """Every 5 minutes: ask the next volunteers to take shifts offered for dropping."""
    return swaps.drops_ask_due()


def roster_changes_notify() -> int:
    """Every 5 minutes: tell volunteers what changed in published rosters."""
    return notify.roster_changes_notify()


def sms_reply_take(*, from_number: str, body: str, now: dt.datetime) -> str | None:
    """SMS reply handler: `TAKE 17` takes a dropped shift."""
    return swaps.sms_take_reply(from_number=from_number, body=body, now=now)
