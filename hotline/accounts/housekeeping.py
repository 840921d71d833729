"""Keeping sign-in records small: the daily purge (config/schedules.py)."""

from __future__ import annotations

import datetime as dt

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.utils import timezone

from hotline.accounts.lockout import cool_off
from hotline.accounts.tokens import api_tokens_purge_expired


def login_records_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Dead API tokens; failure counts whose cool-off passed; who-signed-in-when records
    older than `LOGIN_LOG_RETENTION_DAYS` (they name people and their addresses)."""
    now = now or timezone.now()
    kept_since = now - dt.timedelta(days=settings.LOGIN_LOG_RETENTION_DAYS)
    return {
        "api_tokens": api_tokens_purge_expired(now=now),
        "failure_counts": AccessAttempt.objects.filter(attempt_time__lt=now - cool_off()).delete()[
            0
        ],
        "sign_in_log": AccessLog.objects.filter(attempt_time__lt=kept_since).delete()[0],
        "failure_log": AccessFailureLog.objects.filter(attempt_time__lt=kept_since).delete()[0],
    }
