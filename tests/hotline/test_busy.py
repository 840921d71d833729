"""hotline/busy.py: what counts as a busy database, lock waits bounded by a deadline and put
back afterwards, and oversized requests refused before they are read."""

from __future__ import annotations

import time

import psycopg.errors
import pytest
from django.db import IntegrityError, OperationalError, connection

from hotline.busy import is_busy, lock_waits


def wrapped(cause: Exception) -> OperationalError:
    exc = OperationalError(str(cause))
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "busy"),
    [
        (OperationalError("database is locked"), True),
        (OperationalError("database table is locked: hotline_call"), True),
        (wrapped(psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")), True),
        (
            wrapped(psycopg.errors.QueryCanceled("canceling statement due to statement timeout")),
            True,
        ),
        (wrapped(psycopg.errors.DeadlockDetected("deadlock detected")), True),
        (OperationalError("no such table: hotline_call"), False),
        (IntegrityError("UNIQUE constraint failed"), False),
        (RuntimeError("database is locked"), False),
    ],
)
def test_is_busy(exc, busy):
    assert is_busy(exc) is busy


def current_wait_ms() -> int:
    """The wait in force, read past Django's cursor (whose wrapper would set it first)."""
    connection.ensure_connection()
    raw = connection.connection
    if connection.vendor == "sqlite":
        return int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    value = raw.execute("SHOW lock_timeout").fetchone()[0]
    return 0 if value == "0" else int(value.removesuffix("ms"))


@pytest.mark.django_db
def test_lock_waits_shrink_to_the_deadline_and_are_put_back():
    from django.contrib.auth.models import Group

    default = current_wait_ms()
    with lock_waits(0.6):
        Group.objects.create(name="a")  # a write: the wait is set
        first = current_wait_ms()
        time.sleep(0.7)
        Group.objects.create(name="b")
        after_deadline = current_wait_ms()
    assert 300 < first <= 600
    assert after_deadline <= 1  # past the deadline a lock is not waited for at all
    assert current_wait_ms() == default


@pytest.mark.django_db
def test_oversized_request_refused_before_it_is_read(client, settings):
    settings.REQUEST_MAX_BYTES = 1000
    response = client.post("/accounts/login/", {"username": "x" * 2000, "password": "y"})
    assert response.status_code == 413
    response = client.post(
        "/api/v1/auth/token/", data="{" + '"a": 1,' * 500 + "}", content_type="application/json"
    )
    assert response.status_code == 413 and response.json()["code"] == "too_large"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_lock_wait_set_again_after_a_rolled_back_transaction():
    """A SET inside a transaction that rolls back is undone: the next write sets it again."""
    from django.contrib.auth.models import Group
    from django.db import transaction

    with lock_waits(3):
        with pytest.raises(RuntimeError), transaction.atomic():
            Group.objects.create(name="a")  # sets lock_timeout inside the transaction
            assert 2000 < current_wait_ms() <= 3000
            raise RuntimeError
        assert current_wait_ms() == 0  # PostgreSQL undid it with the rollback
        Group.objects.create(name="b")
        assert 2000 < current_wait_ms() <= 3000
