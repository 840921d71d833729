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
    return as_ms(raw.execute("SHOW lock_timeout").fetchone()[0])


def as_ms(value: str) -> int:
    """PostgreSQL's way of showing a time setting ('0', '2999ms', '3s') in milliseconds."""
    if value.endswith("ms"):
        return int(value[:-2])
    return int(value.removesuffix("s")) * (1000 if value.endswith("s") else 1)


def wait_during_write(name: str) -> int:
    """The lock wait in force while a write runs: on PostgreSQL read by the write itself
    (the bound travels with the statement and is reset right after it), on SQLite after it
    (the busy timeout stays until the block ends)."""
    if connection.vendor == "sqlite":
        from django.contrib.auth.models import Group

        Group.objects.create(name=name)
        return current_wait_ms()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO auth_group (name) VALUES (%s) RETURNING current_setting('lock_timeout')",
            [name],
        )
        return as_ms(cursor.fetchone()[0])


@pytest.mark.django_db
def test_lock_waits_shrink_to_the_deadline_and_are_put_back():
    default = current_wait_ms()
    with lock_waits(0.6):
        first = wait_during_write("a")  # a write: the wait is set
        time.sleep(0.7)
        after_deadline = wait_during_write("b")
    assert 300 < first <= 600
    assert after_deadline <= 1  # past the deadline a lock is not waited for at all
    assert current_wait_ms() == default


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_bound_travels_with_the_statement_and_nothing_stays():
    """No round trip of its own: the write's rows come back as before, and once it has run
    the connection has its own values again, inside the block too."""
    from django.contrib.auth.models import Group

    with lock_waits(3) as waits:
        waits.tighten(2)  # a webhook: a statement timeout as well
        group = Group.objects.create(name="a")
        assert Group.objects.filter(pk=group.pk).exists()  # RETURNING id was read
        assert Group.objects.filter(pk=group.pk).update(name="b") == 1  # the UPDATE's count
        assert current_wait_ms() == 0
        assert connection.connection.execute("SHOW statement_timeout").fetchone()[0] == "0"
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO auth_group (name) VALUES (%s)"
                " RETURNING current_setting('statement_timeout')",
                ["c"],
            )
            assert as_ms(cursor.fetchone()[0]) == 4000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_bound_outside_a_transaction_is_local_to_the_statement():
    """Autocommit (a webhook's INSERT): the bounds hold for the write and are gone after it
    (local to the query string's own transaction), with no RESET sent."""
    with lock_waits(3) as waits:
        waits.tighten(2)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO auth_group (name) VALUES (%s) RETURNING"
                " current_setting('lock_timeout'), current_setting('statement_timeout')",
                ["autocommit"],
            )
            lock_ms, statement_ms = (as_ms(v) for v in cursor.fetchone())
        assert 1000 < lock_ms <= 2000 and statement_ms == 4000
        assert current_wait_ms() == 0
        assert connection.connection.execute("SHOW statement_timeout").fetchone()[0] == "0"
        assert not waits.changed  # nothing for `restore` to put back


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_statement_and_its_bound_fail_together():
    """A statement that fails takes its SET with it (one query string, one transaction)."""
    from django.contrib.auth.models import Group

    Group.objects.create(name="taken")
    with lock_waits(3):
        with pytest.raises(IntegrityError):
            Group.objects.create(name="taken")
        assert current_wait_ms() == 0
        assert 2000 < wait_during_write("next") <= 3000


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_prepared_cursor_gets_its_bound_as_a_statement_of_its_own():
    """Server-side binding cannot share a query string: the SET goes first, and the
    connection's own value is back when the block ends."""
    with lock_waits(3):
        with connection.prepared_cursor() as cursor:
            cursor.execute("INSERT INTO auth_group (name) VALUES (%s)", ["prepared"])
        assert 2000 < current_wait_ms() <= 3000
    assert current_wait_ms() == 0


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
    from django.db import transaction

    with lock_waits(3):
        with pytest.raises(RuntimeError), transaction.atomic():
            with connection.prepared_cursor() as cursor:  # a SET of its own (see above)
                cursor.execute("INSERT INTO auth_group (name) VALUES (%s)", ["a"])
            assert 2000 < current_wait_ms() <= 3000
            raise RuntimeError
        assert current_wait_ms() == 0  # PostgreSQL undid it with the rollback
        assert 2000 < wait_during_write("b") <= 3000
        with connection.prepared_cursor() as cursor:
            cursor.execute("INSERT INTO auth_group (name) VALUES (%s)", ["c"])
        assert 2000 < current_wait_ms() <= 3000
