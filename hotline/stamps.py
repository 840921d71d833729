"""Change stamps (`hotline.models.ChangeStamp`): raise them in the same transaction as a
change, read them in one indexed lookup.

A cached view (the calendar feeds) answers a conditional request from its stamps alone and
keeps its full body under a key made from them, so whatever changes what it shows must raise
its stamp in the transaction that makes the change: every scheduling service that changes an
assignment, shift or roster, the hotline and volunteer writes that change names, and the
notice sweep when it raises sequences. If the transaction rolls back, so does the raise.

Lock order: a service raises its stamps last, in one statement with the scopes in order,
so two writers never wait on each other's stamps in a cycle; nothing else locks stamp rows
(call routing never touches them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from hotline.models import ChangeStamp

VOLUNTEER = "volunteer"
OPEN = "open"
ALL = "all"

_CHUNK = 400


def stamps_raise(*, scopes: Iterable[tuple[str, int]], now: dt.datetime | None = None) -> None:
    """Raise each (scope, key) by one (creating it at 1), in (scope, key) order: one
    `INSERT … ON CONFLICT DO UPDATE` per 400 scopes, on SQLite and PostgreSQL alike."""
    wanted = sorted({(scope, int(key)) for scope, key in scopes})
    if not wanted:
        return
    now = now or timezone.now()
    ops = connection.ops
    table = ops.quote_name(ChangeStamp._meta.db_table)
    stamp = ops.adapt_datetimefield_value(now)
    scope, key, version, changed = (
        ops.quote_name(c) for c in ("scope", "key", "version", "changed_at")
    )
    cols = f"{scope}, {key}, {version}, {changed}"
    with transaction.atomic():
        with connection.cursor() as cursor:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                rows = ", ".join(["(%s, %s, 1, %s)"] * len(chunk))
                params = [x for row in chunk for x in (*row, stamp)]
                cursor.execute(
                    f"INSERT INTO {table} ({cols}) VALUES {rows} "  # noqa: S608 - our table name, values bound
                    f"ON CONFLICT ({scope}, {key}) DO UPDATE SET {version} = {table}.{version} + 1, "
                    f"{changed} = excluded.{changed}",
                    params,
                )


def volunteers_changed(volunteer_ids: Iterable[int], *, hotline_ids: Iterable[int] = ()) -> None:
    """The feeds of these volunteers (and the unfilled slots of these hotlines) changed."""
    stamps_raise(scopes=[(VOLUNTEER, v) for v in volunteer_ids] + [(OPEN, h) for h in hotline_ids])


def everything_changed() -> None:
    """Something every feed may show changed (a hotline's name, a volunteer's name)."""
    stamps_raise(scopes=[(ALL, 0)])
