"""The WAL is checkpointed by the worker's schedule, not inside a caller's webhook."""

import sqlite3

import pytest
from django.db import connection

from config import sqlite
from config.schedules import SCHEDULES


def _wal_database(path):
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in sqlite.INIT_COMMAND.split(";"):
        if pragma.strip():
            db.execute(pragma)
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    return db


def test_commits_leave_the_checkpoint_to_the_schedule(tmp_path):
    db = _wal_database(tmp_path / "x.sqlite3")
    # 1,200 one-page commits: past SQLite's default 1,000-page automatic checkpoint.
    for i in range(1200):
        db.execute("INSERT INTO t (body) VALUES (?)", ["x" * 3000 + str(i)])
    wal_size = (tmp_path / "x.sqlite3-wal").stat().st_size
    assert wal_size > 1000 * 4096  # nothing was copied back on a commit's time

    result = sqlite.wal_checkpoint(db)
    assert result["busy"] == 0
    assert result["checkpointed"] == result["wal_pages"] > 1000

    # The data is in the database file now: a new connection reads it without the WAL.
    db.close()
    reader = sqlite3.connect(tmp_path / "x.sqlite3")
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (1200,)


def test_a_commit_past_the_backstop_checkpoints_by_itself(tmp_path):
    db = _wal_database(tmp_path / "x.sqlite3")
    db.execute(f"PRAGMA wal_autocheckpoint={100}")  # the same mechanism, a smaller limit
    for i in range(150):
        db.execute("INSERT INTO t (body) VALUES (?)", ["x" * 3000 + str(i)])
    assert sqlite.wal_checkpoint(db)["wal_pages"] < 100


def test_the_schedule_runs_every_minute():
    assert ("sqlite-checkpoint", "config.sqlite.wal_checkpoint_task", 1) in SCHEDULES


@pytest.mark.django_db
def test_the_task_checkpoints_sqlite_and_skips_other_databases():
    result = sqlite.wal_checkpoint_task()
    if connection.vendor == "sqlite":
        assert result["busy"] == 0
    else:
        assert result is None
