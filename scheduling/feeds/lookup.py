"""The one query behind every feed request: the token, its login, the volunteer, and the
feed's change stamps (hotline/stamps.py), on unique indexes only.

Hand-written SQL, built once per database and run on the DB-API cursor itself: the ORM
spent longer composing this statement (joins, two subqueries) than the database spent
answering it, and Django's cursor wrapper (its placeholder rewriting on SQLite alone) as long
again; a 304 should cost little more than the lookup (bench/feed.py). It is still logged as
Django logs queries when it does (DEBUG, the tests' query counts), and database errors are
still Django's.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.dateparse import parse_datetime

from hotline import stamps
from hotline.models import ChangeStamp, Volunteer
from scheduling.models import CalendarToken


def _loaded(model, wanted: set[str]) -> list[str]:
    # Model.from_db takes the loaded values in the model's own field order.
    return [f.attname for f in model._meta.concrete_fields if f.attname in wanted]


USER_FIELDS = _loaded(get_user_model(), {"id", "is_active", "is_staff", "is_superuser"})
VOLUNTEER_FIELDS = _loaded(Volunteer, {"id", "user_id", "language", "display_name", "updated_at"})


@dataclass
class FeedKey:
    token_hash: str
    user: object  # the login, with USER_FIELDS loaded (the rest loads on first use)
    volunteer: Volunteer | None  # with VOLUNTEER_FIELDS loaded
    stamp_version: int
    stamp_changed: dt.datetime | None


def _stamps_where(kind: str) -> str:
    key = connection.ops.quote_name("key")
    shared = f"(s.scope = '{stamps.ALL}' AND s.{key} = 0)"
    if kind == CalendarToken.Kind.OPEN:
        return f"(s.scope = '{stamps.OPEN}' OR {shared})"
    return f"((s.scope = '{stamps.VOLUNTEER}' AND s.{key} = v.id) OR {shared})"


@cache
def _statement(vendor: str, kind: str) -> str:
    """The statement for this database, with its driver's own placeholders."""
    q = connection.ops.quote_name
    where = _stamps_where(kind)
    stamp_table = q(ChangeStamp._meta.db_table)
    # Table names and constants of ours; the values are bound.
    user_columns = ", ".join(f"u.{q(name)}" for name in USER_FIELDS)
    volunteer_columns = ", ".join(f"v.{q(name)}" for name in VOLUNTEER_FIELDS)
    sql = f"""SELECT t.token_hash, {user_columns}, {volunteer_columns},
        (SELECT SUM(s.version) FROM {stamp_table} s WHERE {where}),
        (SELECT MAX(s.changed_at) FROM {stamp_table} s WHERE {where})
        FROM {q(CalendarToken._meta.db_table)} t
        JOIN {q(get_user_model()._meta.db_table)} u ON u.id = t.user_id
        LEFT JOIN {q(Volunteer._meta.db_table)} v ON v.user_id = u.id
        WHERE t.token_hash = %s AND t.kind = %s AND u.is_active = %s"""  # noqa: S608
    return sql.replace("%s", "?") if vendor == "sqlite" else sql


def _aware(value) -> dt.datetime | None:
    # PostgreSQL gives aware datetimes; SQLite gives the UTC text Django stored.
    if value is None or isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value
    parsed = value if isinstance(value, dt.datetime) else parse_datetime(value)
    return parsed.replace(tzinfo=dt.UTC)


def _fetchone(sql: str, params: list):
    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        finally:
            cursor.close()
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {params!r}", "time": f"{time.monotonic() - started:.3f}"}
        )
    return row


def feed_key(*, token_hash: str, kind: str) -> FeedKey | None:
    """The active login holding this token of this kind, with what its feed's version needs."""
    row = _fetchone(_statement(connection.vendor, kind), [token_hash, kind, True])
    if row is None:
        return None
    n_user, n_volunteer = len(USER_FIELDS), len(VOLUNTEER_FIELDS)
    # SQLite gives booleans as 0/1 and datetimes as text: convert as Django would.
    user_values = [
        v if k == "id" else bool(v) for k, v in zip(USER_FIELDS, row[1 : 1 + n_user], strict=True)
    ]
    user = get_user_model().from_db(connection.alias, USER_FIELDS, user_values)
    volunteer = None
    volunteer_values = row[1 + n_user : 1 + n_user + n_volunteer]
    if volunteer_values[0] is not None:
        volunteer_values = [
            _aware(v) if k == "updated_at" else v
            for k, v in zip(VOLUNTEER_FIELDS, volunteer_values, strict=True)
        ]
        volunteer = Volunteer.from_db(connection.alias, VOLUNTEER_FIELDS, volunteer_values)
        volunteer.user = user
    version, changed = row[1 + n_user + n_volunteer :]
    return FeedKey(
        token_hash=row[0],
        user=user,
        volunteer=volunteer,
        stamp_version=int(version or 0),
        stamp_changed=_aware(changed),
    )
