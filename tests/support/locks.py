"""A database another connection holds a write lock on, as in production: for the tests of
what webhooks, the API and pages do when the database is busy.

SQLite: the test's connection moves, for one test, to a WAL file database set up as
config/settings.py sets production's up (a copy of the migrated test database), and a
second connection holds `BEGIN IMMEDIATE` — SQLite's one write lock; reads go on. (The
suite's in-memory database uses a shared cache, where locks behave differently.)

PostgreSQL: the test database with committed data (`transactional_db`), and a second
connection holds EXCLUSIVE locks on every table of our apps: reads go on, writes wait.

Use the `busy_db` fixture in tests marked `django_db(transaction=True)` (no transaction of
the test's own around them): `busy_db.hold()` / `busy_db.release()` or `with busy_db.held():`.
"""

from __future__ import annotations

import contextlib
import sqlite3

import psycopg
import pytest
from django.apps import apps
from django.db import connection

from config import sqlite as sqlite_config


class _SqliteLock:
    def __init__(self, path):
        self.path = path
        self.other = None

    def hold(self) -> None:
        self.other = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        self.other.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.other is not None:
            self.other.execute("ROLLBACK")
            self.other.close()
            self.other = None

    @contextlib.contextmanager
    def held(self):
        self.hold()
        try:
            yield self
        finally:
            self.release()


class _PostgresLock:
    def __init__(self, settings_dict):
        self.settings_dict = settings_dict
        self.other = None

    def _connect(self) -> None:
        s = self.settings_dict
        self.other = psycopg.connect(
            host=s["HOST"] or None,
            port=s["PORT"] or None,
            user=s["USER"] or None,
            password=s["PASSWORD"] or None,
            dbname=s["NAME"],
        )

    def hold_rows(self, sql: str, params) -> None:
        """Row locks instead: `sql` is a SELECT … FOR UPDATE, held in an open transaction."""
        self._connect()
        self.other.execute(sql, params)

    def hold(self, tables: list[str] | None = None) -> None:
        self._connect()
        tables = tables or [
            model._meta.db_table
            for app in ("hotline", "scheduling")
            for model in apps.get_app_config(app).get_models()
        ]
        quoted = ", ".join(f'"{t}"' for t in tables)
        self.other.execute(f"LOCK TABLE {quoted} IN EXCLUSIVE MODE")  # in its transaction

    def release(self) -> None:
        if self.other is not None:
            self.other.rollback()
            self.other.close()
            self.other = None

    @contextlib.contextmanager
    def held(self):
        self.hold()
        try:
            yield self
        finally:
            self.release()


@pytest.fixture
def busy_db(tmp_path, django_db_setup, django_db_blocker):
    """A database (with the usual data access allowed) and a lock to hold on it."""
    if connection.vendor == "postgresql":
        lock = _PostgresLock(connection.settings_dict)
        yield lock
        lock.release()
        return
    with django_db_blocker.unblock():
        connection.ensure_connection()
        memory = connection.connection
        path = tmp_path / "busy.sqlite3"
        copy = sqlite3.connect(path)
        memory.backup(copy)
        copy.close()
        saved = dict(connection.settings_dict)
        saved_mode, saved_init = connection.transaction_mode, connection.init_commands
        connection.connection = None  # detached, not closed: closing destroys it
        connection.settings_dict.update(
            NAME=str(path),
            OPTIONS={
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": sqlite_config.INIT_COMMAND,
            },
        )
        lock = _SqliteLock(path)
        try:
            yield lock
        finally:
            lock.release()
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)
            connection.connection = memory
            connection.transaction_mode, connection.init_commands = saved_mode, saved_init
