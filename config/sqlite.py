"""SQLite's write-ahead log, checkpointed off the callers' path.

A checkpoint copies the WAL back into the database file and syncs both to disk. By default
SQLite runs one inside whichever commit pushes the WAL past 1,000 pages, so every few
hundred incoming calls one caller's webhook paid for it (about 7 % of the incoming-call
webhook's throughput in bench/webhook.py). Instead the worker checkpoints every minute
(schedule `sqlite-checkpoint`) and a connection only checkpoints itself past
WAL_AUTOCHECKPOINT_PAGES, a backstop for when no worker runs. Durability is unchanged:
commits are durable against a crash of the process either way, and with
`synchronous=NORMAL` the WAL is synced at checkpoints, so the minute schedule keeps the
window a power cut can lose shorter than the 1,000-page default would at a hotline's
traffic.
"""

from __future__ import annotations

WAL_AUTOCHECKPOINT_PAGES = 10_000  # ≈ 40 MB of WAL with 4 KiB pages

INIT_COMMAND = (
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    f" PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES};"
)


def wal_checkpoint(connection) -> dict[str, int]:
    """A PASSIVE checkpoint on a DB-API SQLite connection (never waits for readers or
    writers; copies what it can). Returns SQLite's counts: `busy` (1 if it could not
    finish), `wal_pages` (frames in the WAL) and `checkpointed` (frames copied)."""
    busy, wal_pages, checkpointed = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return {"busy": busy, "wal_pages": wal_pages, "checkpointed": checkpointed}


def wal_checkpoint_task() -> dict[str, int] | None:
    """The `sqlite-checkpoint` schedule: checkpoint the default database when it is SQLite
    (None on PostgreSQL, which needs nothing of the kind)."""
    from django.db import connection

    if connection.vendor != "sqlite":
        return None
    connection.ensure_connection()
    return wal_checkpoint(connection.connection)
