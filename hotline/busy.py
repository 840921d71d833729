"""When the database is busy: bounded lock waits per request, and recognising their end.

SQLite lets one connection write at a time; PostgreSQL has row and table locks. A request
that meets a held lock waits — SQLite's busy timeout, PostgreSQL's lock_timeout — and by
default for long (SQLite 20 s, PostgreSQL forever): longer than Twilio's 15 s webhook budget,
so a caller heard Twilio's error and an `ACK` was lost. Here every web request gets a
*deadline* for lock waits (DB_LOCK_WAIT_MS, Twilio webhooks WEBHOOK_DB_LOCK_WAIT_MS); each
statement may wait only for what is left of it. When it runs out the database raises an
OperationalError that `is_busy` recognises, and the edges answer for it: the API and pages
503 with Retry-After (api/exceptions.py, `DatabaseBusyMiddleware`), the webhooks with their
own words (hotline/telephony/webhooks.py).

Reads never wait on SQLite's write lock (WAL) nor on PostgreSQL's row locks, so a request
past its deadline can still read what it needs to answer well.
"""

from __future__ import annotations

import contextlib
import logging
import time

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs that mean "wait and try again": lock_not_available (lock_timeout,
# NOWAIT), query_canceled (statement_timeout), deadlock_detected, serialization_failure.
BUSY_SQLSTATES = {"55P03", "57014", "40P01", "40001"}
SQLITE_BUSY_WORDS = ("database is locked", "database table is locked", "database schema is locked")


def is_busy(exc: BaseException) -> bool:
    """True for a database error that means another connection held a lock too long."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__ or exc
    if getattr(cause, "sqlstate", None) in BUSY_SQLSTATES:
        return True
    text = str(cause).lower()
    return any(words in text for words in SQLITE_BUSY_WORDS)


def busy_message() -> str:
    return _("The system is busy. Please try again in a few seconds.")


class _Committed:
    """An on-commit callback that only remembers the commit happened."""

    committed = False

    def __call__(self) -> None:
        self.committed = True


class LockWaits:
    """A deadline for the lock waits of one connection, applied to each statement as it
    runs (installed with `connection.execute_wrapper`).

    SQLite: `PRAGMA busy_timeout` on the DB-API connection (a few microseconds, no round
    trip). PostgreSQL: `lock_timeout` (the wait left, at least 1 ms: 0 would mean "forever"),
    and for a webhook a `statement_timeout` too, set only before a statement that can take a
    lock — plain SELECTs never wait on row locks, so a read-only request costs nothing —
    and set again when the value in force is no longer known (a rolled-back transaction or
    savepoint undoes a SET made inside it). On Django's own (client-side) cursors the SET
    travels in the same query string as the statement (`_around`): no round trip of its own,
    and nothing left on the connection (outside a transaction the SET is local to the query
    string's own transaction; inside one a RESET follows the statement). Otherwise it is a
    statement of its own, and `restore` puts the defaults back at the end.
    """

    STEP = 0.25  # seconds: the wait in force is lowered when it overshoots the deadline by more

    def __init__(self, connection, seconds: float):
        self.connection = connection
        self.deadline = time.monotonic() + seconds
        # A webhook also bounds each statement (PostgreSQL): Twilio will not wait for it.
        self.statement_ms: int | None = None
        self.applied: float | None = None  # seconds of lock wait in force, when known
        self.changed = False  # whether the connection's own values need putting back
        self.applied_in: _Committed | None = None  # set inside a transaction: its commit

    def tighten(self, seconds: float) -> None:
        self.deadline = min(self.deadline, time.monotonic() + seconds)
        self.statement_ms = int(seconds * 1000) + 2000
        self.applied = None  # set again before the next statement that can wait

    def __call__(self, execute, sql, params, many, context):
        try:
            around = self._around(sql, many, context)
        except Exception:
            log.debug("could not bound the lock wait", exc_info=True)
            around = None
        if around is None:
            try:
                self._apply(sql)
            except Exception:
                log.debug("could not set the lock wait", exc_info=True)
            return execute(sql, params, many, context)
        before, after = around
        result = execute(f"{before}{sql.rstrip().rstrip(';')}{after}", params, many, context)
        context["cursor"].cursor.nextset()  # past set_config's row, to the statement's result
        return result

    # Statements that may wait on a lock and can share a round trip with their bounds.
    SHARED = ("INSERT", "UPDATE", "DELETE", "SELECT", "WITH", "MERGE", "LOCK")

    def _around(self, sql: str, many: bool, context) -> tuple[str, str] | None:
        """PostgreSQL, one statement on a client-side cursor (Django's own): the bounds set
        in the same round trip as the statement and reset right after it, in one query
        string, so a webhook's write costs no extra round trips and nothing outlives it. (A
        query string runs as one transaction: if the statement fails, the SET is undone
        too.) None where that cannot be done (another database, executemany, server-side
        binding, a statement that takes no row locks): then `_apply`. Outside a transaction the
        bounds are local to the query string's own transaction and need no RESET."""
        if self.connection.vendor != "postgresql" or many or self.connection.needs_rollback:
            return None
        head = sql.lstrip()[:6].upper()
        if not head.startswith(self.SHARED):
            return None
        if head == "SELECT" and " FOR " not in sql.upper():
            return None  # plain SELECTs never wait on row locks (`_apply` skips them)
        cursor = getattr(context["cursor"], "cursor", None)
        if not isinstance(cursor, psycopg.ClientCursor) or cursor.connection._pipeline:
            return None
        left = max(self.deadline - time.monotonic(), 0.0)
        wait = max(int(left * 1000), 1)
        # Outside a transaction the query string is a transaction of its own: a setting
        # local to it ends with the statement, with no RESET to parse and run. Inside one, a
        # local setting would outlive the statement, so it is reset right after it.
        local = self.connection.get_autocommit() and not self.connection.in_atomic_block
        scope = "true" if local else "false"
        if self.statement_ms:
            before = (
                f"SELECT set_config('lock_timeout', '{wait}ms', {scope}),"
                f" set_config('statement_timeout', '{self.statement_ms}ms', {scope});\n"
            )
            after = "" if local else "\n; RESET lock_timeout; RESET statement_timeout"
        else:
            before = f"SELECT set_config('lock_timeout', '{wait}ms', {scope});\n"
            after = "" if local else "\n; RESET lock_timeout"
        # What an earlier `_apply` set is reset by this statement: set it again when needed.
        self.applied = None
        return before, after

    def _known(self) -> bool:
        if self.applied is None:
            return False
        marker = self.applied_in
        if marker is None or marker.committed:
            return True
        # Set inside a transaction: still in force while that transaction (or savepoint)
        # is, which is exactly while Django keeps its on-commit callback.
        return any(entry[1] is marker for entry in self.connection.run_on_commit)

    def _apply(self, sql: str) -> None:
        vendor = self.connection.vendor
        if vendor == "postgresql":
            head = sql.lstrip()[:6].upper()
            if head == "SELECT" and " FOR " not in sql.upper():  # FOR UPDATE / SHARE locks
                return
        elif vendor != "sqlite":
            return
        left = max(self.deadline - time.monotonic(), 0.0)
        if self._known() and self.applied <= left + self.STEP:
            return
        raw = self.connection.connection
        if vendor == "sqlite":
            raw.execute(f"PRAGMA busy_timeout = {int(left * 1000)}")
        else:
            if self.connection.needs_rollback:
                return
            wait = f"{max(int(left * 1000), 1)}ms"
            if self.statement_ms:
                raw.execute(
                    "SELECT set_config('lock_timeout', %s, false),"
                    " set_config('statement_timeout', %s, false)",
                    [wait, f"{self.statement_ms}ms"],
                )
            else:
                raw.execute("SELECT set_config('lock_timeout', %s, false)", [wait])
        self.applied = left
        self.changed = True
        self.applied_in = None
        if vendor == "postgresql" and self.connection.in_atomic_block:
            # A SET inside a transaction is undone by its rollback: know when it commits.
            self.applied_in = _Committed()
            self.connection.on_commit(self.applied_in)

    def restore(self) -> None:
        """Put the connection's own defaults back (it outlives the request)."""
        if not self.changed or self.connection.connection is None:
            return
        raw = self.connection.connection
        try:
            if self.connection.vendor == "sqlite":
                timeout = self.connection.settings_dict.get("OPTIONS", {}).get("timeout", 5)
                raw.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            elif not self.connection.needs_rollback:
                raw.execute("RESET lock_timeout; RESET statement_timeout")
        except Exception:
            log.debug("could not restore the lock wait", exc_info=True)
        self.applied, self.changed = None, False


@contextlib.contextmanager
def lock_waits(seconds: float, *, using: str = DEFAULT_DB_ALIAS):
    """Statements inside wait at most `seconds` in all for locks. Yields the LockWaits, whose
    `tighten()` shortens the deadline (a webhook inside a request)."""
    connection = connections[using]
    waits = LockWaits(connection, seconds)
    with connection.execute_wrapper(waits):
        try:
            yield waits
        finally:
            waits.restore()


class DatabaseBusyMiddleware:
    """Every request: lock waits bounded (DB_LOCK_WAIT_MS; a Twilio webhook view, marked by
    its decorator, WEBHOOK_DB_LOCK_WAIT_MS), and a page whose database stayed busy answers
    503 with Retry-After instead of a 500. (DRF views answer their own 503 through
    api/exceptions.py; Twilio webhooks answer with TwiML.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with lock_waits(settings.DB_LOCK_WAIT_MS / 1000) as waits:
            request._lock_waits = waits
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "twilio_webhook", False):
            request._lock_waits.tighten(settings.WEBHOOK_DB_LOCK_WAIT_MS / 1000)

    def process_exception(self, request, exception):
        if not is_busy(exception):
            return None
        log.warning("database busy: %s answered 503", request.path)
        return busy_response(request)


def busy_response(request) -> HttpResponse:
    """503 with Retry-After: JSON under /api/, else a short page."""
    retry = str(settings.BUSY_RETRY_AFTER_SECONDS)
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "busy", "detail": busy_message()}, status=503)
    else:
        response = HttpResponse(
            render_to_string("busy.html", {"message": busy_message()}, request=request),
            status=503,
        )
    response["Retry-After"] = retry
    return response
