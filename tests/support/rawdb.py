"""The database as stored: every value of every table, read with raw SQL, so no model field
(and no decryption) stands in between. For tests that look for what must not be there."""

from __future__ import annotations

from django.db import connection


def raw_database_text() -> str:
    qn = connection.ops.quote_name
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {qn(table)}")  # noqa: S608 - names from the db
            for row in cursor.fetchall():
                parts.extend(
                    bytes(v).decode("utf-8", "replace")
                    if isinstance(v, bytes | memoryview)
                    else str(v)
                    for v in row
                )
    return "\n".join(parts)
