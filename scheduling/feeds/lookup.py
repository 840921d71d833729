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
from functools import cache, cached_property

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connection, connections

from hotline import stamps
from hotline.access import COORDINATORS_GROUP
from hotline.models import ChangeStamp, Volunteer
from scheduling.models import CalendarToken


def _loaded(model, wanted: set[str]) -> list[str]:
    # Model.from_db takes the loaded values in the model's own field order.
    return [f.attname for f in model._meta.concrete_fields if f.attname in wanted]


USER_FIELDS = _loaded(get_user_model(), {"id", "is_active", "is_staff", "is_superuser"})
VOLUNTEER_FIELDS = _loaded(Volunteer, {"id", "user_id", "language", "display_name", "updated_at"})


@dataclass
class FeedKey:
    """What the lookup found, as plain values: a 304 needs no model instance, so `user` and
    `volunteer` (with only these fields loaded; the rest loads on first use) are made when
    first asked for."""

    token_hash: str
    user_values: list
    volunteer_values: dict | None  # VOLUNTEER_FIELDS by name, or None (no volunteer)
    stamp_version: int
    stamp_changed: dt.datetime | None
    # The unfilled-slots feed's lookup also reads whether the login is in the coordinators
    # group, which hotline.access.is_coordinator would otherwise ask in a query of its own.
    in_coordinators_group: bool | None = None

    @cached_property
    def user(self):
        user = get_user_model().from_db(connection.alias, USER_FIELDS, self.user_values)
        if self.in_coordinators_group is not None:
            user._is_coordinator = self.in_coordinators_group  # is_coordinator's own cache
        return user

    @cached_property
    def volunteer(self) -> Volunteer | None:
        if self.volunteer_values is None:
            return None
        values = [self.volunteer_values[name] for name in VOLUNTEER_FIELDS]
        volunteer = Volunteer.from_db(connection.alias, VOLUNTEER_FIELDS, values)
        volunteer.user = self.user
        return volunteer


@cache
def _statement(vendor: str, kind: str) -> str:
    """The statement for this database, with its driver's own placeholders. The volunteer's
    two stamps are joined by their unique (scope, key); the unfilled-slots feed sums the
    stamps of every hotline (a few rows, on the same index) and reads whether the login is
    in the coordinators group (on the user-groups unique index), so that its 304 is this
    one statement for every coordinator."""
    q = connection.ops.quote_name
    key = q("key")
    stamp_table = q(ChangeStamp._meta.db_table)
    user_columns = ", ".join(f"u.{q(name)}" for name in USER_FIELDS)
    volunteer_columns = ", ".join(f"v.{q(name)}" for name in VOLUNTEER_FIELDS)
    shared = f"LEFT JOIN {stamp_table} sa ON sa.scope = '{stamps.ALL}' AND sa.{key} = 0"
    if kind == CalendarToken.Kind.OPEN:
        every_hotline = f"FROM {stamp_table} s WHERE s.scope = '{stamps.OPEN}'"
        own = f"(SELECT SUM(s.version) {every_hotline}), (SELECT MAX(s.changed_at) {every_hotline})"
        user_model = get_user_model()
        through = user_model._meta.get_field("groups").remote_field.through._meta.db_table
        group_table = user_model._meta.get_field("groups").related_model._meta.db_table
        own += (
            f", EXISTS (SELECT 1 FROM {q(through)} ug JOIN {q(group_table)} g"  # noqa: S608
            " ON g.id = ug.group_id WHERE ug.user_id = u.id AND g.name = %s)"
        )
        own_join = ""
    else:
        own = "sv.version, sv.changed_at"
        own_join = (
            f"LEFT JOIN {stamp_table} sv ON sv.scope = '{stamps.VOLUNTEER}' AND sv.{key} = v.id"
        )
    # Table names and constants of ours; the values are bound.
    sql = f"""SELECT t.token_hash, {user_columns}, {volunteer_columns},
        {own}, sa.version, sa.changed_at
        FROM {q(CalendarToken._meta.db_table)} t
        JOIN {q(get_user_model()._meta.db_table)} u ON u.id = t.user_id
        LEFT JOIN {q(Volunteer._meta.db_table)} v ON v.user_id = u.id
        {own_join}
        {shared}
        WHERE t.token_hash = %s AND t.kind = %s AND u.is_active = %s"""  # noqa: S608
    return sql.replace("%s", "?") if vendor == "sqlite" else sql


def _aware(value) -> dt.datetime | None:
    # PostgreSQL gives aware datetimes; SQLite gives the UTC text Django stored.
    if value is None or isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return parsed.replace(tzinfo=dt.UTC)


def _fetchone(sql: str, params: list):
    db = connections[DEFAULT_DB_ALIAS]
    # As Django's own cursor() does: a kept connection that failed its health check
    # (CONN_HEALTH_CHECKS, PostgreSQL) is replaced before the query, never used broken.
    db.close_if_health_check_failed()
    db.ensure_connection()
    started = time.monotonic()
    with db.wrap_database_errors:
        # On PostgreSQL a prepared statement (config/postgresql/base.py): planning this join
        # cost the server more than running it, on every request.
        prepared = getattr(db, "dbapi_prepared_cursor", None)
        cursor = prepared() if prepared else db.connection.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        finally:
            cursor.close()
    if db.queries_logged:
        db.queries_log.append(
            {"sql": f"{sql} -- {params!r}", "time": f"{time.monotonic() - started:.3f}"}
        )
    return row


def feed_key(*, token_hash: str, kind: str) -> FeedKey | None:
    """The active login holding this token of this kind, with what its feed's version needs."""
    is_open = kind == CalendarToken.Kind.OPEN
    params = [COORDINATORS_GROUP] if is_open else []
    row = _fetchone(_statement(connection.vendor, kind), [*params, token_hash, kind, True])
    if row is None:
        return None
    in_group = None
    if is_open:
        in_group, row = bool(row[-3]), row[:-3] + row[-2:]
    n_user, n_volunteer = len(USER_FIELDS), len(VOLUNTEER_FIELDS)
    # SQLite gives booleans as 0/1 and datetimes as text: convert as Django would.
    user_values = [
        v if k == "id" else bool(v) for k, v in zip(USER_FIELDS, row[1 : 1 + n_user], strict=True)
    ]
    volunteer_values = dict(
        zip(VOLUNTEER_FIELDS, row[1 + n_user : 1 + n_user + n_volunteer], strict=True)
    )
    if volunteer_values["id"] is None:
        volunteer_values = None
    else:
        volunteer_values["updated_at"] = _aware(volunteer_values["updated_at"])
    own_version, own_changed, shared_version, shared_changed = row[1 + n_user + n_volunteer :]
    changed = [t for t in (_aware(own_changed), _aware(shared_changed)) if t is not None]
    return FeedKey(
        token_hash=row[0],
        user_values=user_values,
        volunteer_values=volunteer_values,
        # Versions only grow: their sum grows whenever either does.
        stamp_version=int(own_version or 0) + int(shared_version or 0),
        stamp_changed=max(changed, default=None),
        in_coordinators_group=in_group,
    )
