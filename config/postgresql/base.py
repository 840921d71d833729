"""Django's PostgreSQL backend with a connection health check that costs no round trip while
the connection is in use (docs/deployment.md, "Database connections").

Django's `CONN_HEALTH_CHECKS` sends `SELECT 1` before the first query of every request on a
kept connection, so that a restarted or failed-over database never costs a request (a
caller's incoming call) an error. On a busy line that round trip is most of what a feed's
304 costs (bench/feed.py). Here the check is, in order:

1. the driver's own state: a connection psycopg knows is broken, or left inside a
   transaction or in an unknown state, is replaced;
2. the socket: an idle connection has nothing to read unless the server has spoken
   unasked, and the server only does that to say goodbye (a restart, a fast shutdown,
   `pg_terminate_backend`, a crashed backend, `idle_session_timeout`: an error message and
   then end of file). Anything readable, or a hang-up, and the connection is replaced. One
   `poll()` with a zero timeout: a few microseconds, no round trip;
3. `SELECT 1`, as before, when the connection has not been used for longer than
   `PING_AFTER_IDLE` seconds (DATABASE_PING_AFTER_IDLE_MS, 1,000 by default): a host that
   vanished without closing its connections (a fail-over that moves the address, a host
   that lost power) sends nothing, and only a round trip finds that out. Fail-overs and
   reboots take longer than a second, so a connection that was in use a moment ago was
   in use after them.

With `CONN_HEALTH_CHECKS` off nothing is checked, as in Django; with the psycopg pool
(`OPTIONS["pool"]`) the pool's own check runs instead.

It also gives the few hand-written statements that every incoming call and feed request
runs a cursor whose statements are prepared (`prepared_cursor`): PostgreSQL plans each
once per connection instead of once per request. Planning the feed's five-table lookup cost
the server several times what executing it did. Django's own cursors stay as they are
(client-side binding, never prepared). `PREPARED_STATEMENTS` (DATABASE_PREPARED_STATEMENTS)
off turns this off, for a PgBouncer older than 1.21 in transaction mode.
"""

from __future__ import annotations

import select
import time

from django.db.backends.postgresql import base
from psycopg import pq

POLL_EVENTS = select.POLLIN | select.POLLPRI  # POLLERR and POLLHUP are always reported


class PreparedCursor(base.ServerBindingCursor):
    """Server-side binding, and every statement prepared on first use (psycopg keeps the
    names, per connection, and forgets them when the connection changes its schema)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=prepare is not False, binary=binary)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.used_at = 0.0  # time.monotonic() when the connection was last known in use

    @property
    def ping_after_idle(self) -> float:
        return float(self.settings_dict.get("PING_AFTER_IDLE", 1.0))

    @property
    def prepared_statements(self) -> bool:
        return bool(self.settings_dict.get("PREPARED_STATEMENTS", True)) and not self.settings_dict[
            "OPTIONS"
        ].get("server_side_binding")

    def get_connection_params(self):
        params = super().get_connection_params()
        # Django turns psycopg's prepared statements off (for connection poolers); only
        # PreparedCursor asks for them (Django's cursors bind client-side and never prepare).
        if self.prepared_statements and params.get("prepare_threshold") is None:
            params["prepare_threshold"] = 5
        return params

    def prepared_cursor(self):
        """A Django cursor (health check, query logging, execute wrappers, Django's errors)
        whose statements are prepared; a plain cursor when PREPARED_STATEMENTS is off."""
        if not self.prepared_statements:
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(self.dbapi_prepared_cursor())

    def dbapi_prepared_cursor(self):
        """The DB-API cursor behind `prepared_cursor`, for callers that check the
        connection's health and wrap its errors themselves (scheduling/feeds/lookup.py)."""
        if not self.prepared_statements:
            return self.connection.cursor()
        return PreparedCursor(self.connection)

    def connect(self):
        super().connect()
        self.used_at = time.monotonic()

    def close_if_unusable_or_obsolete(self):
        # Run when a request starts and when it finishes: at the finish, a connection whose
        # health was checked in this request was used by it.
        if self.connection is not None and self.health_check_done:
            self.used_at = time.monotonic()
        super().close_if_unusable_or_obsolete()

    def close_if_health_check_failed(self):
        if (
            self.connection is None
            or not self.health_check_enabled
            or self.health_check_done
            or self.pool
        ):
            return super().close_if_health_check_failed()
        now = time.monotonic()
        if not self.looks_alive():
            self.close()
        elif now - self.used_at > self.ping_after_idle:
            if not self.is_usable():  # SELECT 1
                self.close()
        self.used_at = now
        self.health_check_done = True

    def looks_alive(self) -> bool:
        """The driver's state and the socket say nothing against the connection (no round
        trip; see the module's docstring)."""
        conn = self.connection
        if conn is None or conn.closed:
            return False
        pgconn = conn.pgconn
        if pgconn.transaction_status not in (
            pq.TransactionStatus.IDLE,
            pq.TransactionStatus.INTRANS,
        ):
            return False
        try:
            poller = select.poll()
            poller.register(pgconn.socket, POLL_EVENTS)
            return not poller.poll(0)
        except (OSError, ValueError, base.Database.Error):
            return False
