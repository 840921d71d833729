"""config/postgresql: a kept connection the server has dropped is replaced before a request
uses it, without a round trip while the connection is in use; idle ones are still pinged;
the hot hand-written statements are prepared (docs/deployment.md, "Database connections")."""

from __future__ import annotations

import select
import time

import psycopg
import pytest
from django.db import OperationalError, connection, connections

from scheduling.feeds.lookup import feed_key

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def terminate_backend() -> int:
    """Kill this connection's server process from another connection, as a restart or a
    fail-over of the database does, and wait until the goodbye has reached the socket."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    poller = select.poll()
    poller.register(connection.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(5000), "the server never closed the connection"
    return pid


def next_request(idle: float = 0) -> None:
    """What Django does between two requests: request_finished, `idle` seconds of nothing,
    request_started."""
    connection.close_if_unusable_or_obsolete()
    time.sleep(idle)
    connection.close_if_unusable_or_obsolete()


@pytest.fixture
def pings(monkeypatch):
    """Counts the round-trip checks (SELECT 1)."""
    calls = []
    real = type(connections["default"]).is_usable

    def counted(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(type(connections["default"]), "is_usable", counted)
    return calls


@pytest.fixture
def no_idle_ping(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "PING_AFTER_IDLE", 3600)


def test_a_connection_the_server_dropped_is_replaced_without_a_ping(no_idle_ping, pings):
    old_pid = terminate_backend()
    next_request()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != old_pid
    assert pings == []  # the socket said so: no SELECT 1


def test_the_feed_lookup_after_a_restart_gets_a_fresh_connection(no_idle_ping):
    terminate_backend()
    next_request()
    assert feed_key(token_hash="no-such-token", kind="shifts") is None  # no error


def test_without_the_check_the_same_request_would_fail(monkeypatch):
    """What the check is for: the dropped connection, used as it is, fails the request."""
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", False)
    connection.close()
    connection.ensure_connection()
    terminate_backend()
    next_request()
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.close()


def test_a_connection_in_use_is_not_pinged_an_idle_one_is(pings, monkeypatch):
    connection.ensure_connection()
    for _ in range(3):
        next_request()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    assert pings == []  # used a moment ago: the socket check only
    monkeypatch.setitem(connection.settings_dict, "PING_AFTER_IDLE", 0.05)
    next_request(idle=0.1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert pings == [1]  # idle longer than PING_AFTER_IDLE: SELECT 1 first


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_feed_lookup_is_prepared_once_per_connection():
    connection.close()
    feed_key(token_hash="no-such-token", kind="shifts")
    feed_key(token_hash="another", kind="shifts")
    assert sum("token_hash" in s for s in prepared_statements()) == 1


def test_prepared_statements_can_be_turned_off(monkeypatch):
    """For a PgBouncer older than 1.21 in transaction mode (DATABASE_PREPARED_STATEMENTS=0)."""
    monkeypatch.setitem(connection.settings_dict, "PREPARED_STATEMENTS", False)
    connection.close()
    assert feed_key(token_hash="no-such-token", kind="shifts") is None
    assert prepared_statements() == []
    connection.close()
