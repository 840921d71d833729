"""Encryption at rest and keyed hashes, in one small module (used by models, migrations and
the `rotate_encryption_key` command — keep it importable without the app registry).

Keys: `settings.FIELD_ENCRYPTION_KEYS`, a list of Fernet keys (AES-128-CBC + HMAC-SHA256,
from the `cryptography` package). The first key encrypts; every key decrypts (MultiFernet),
so a key is rotated by putting a new one first, running `manage.py rotate_encryption_key`,
then dropping the old one (docs/security-encryption.md).

Keyed hashes (HMAC-SHA256 under CALLER_HASH_SECRET, one label per purpose) let us find a
row by a secret without storing the secret: caller numbers, calendar-feed tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

# Every Fernet token starts with the version byte 0x80 and a 64-bit big-endian timestamp
# whose top bytes are zero until 2106: base64 "gAAAAA".
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 - a format marker, not a secret


class EncryptionKeyError(Exception):
    """FIELD_ENCRYPTION_KEYS is empty or holds something that is not a Fernet key."""


@lru_cache(maxsize=8)
def _fernets(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    if not keys:
        raise EncryptionKeyError("FIELD_ENCRYPTION_KEYS is empty")
    try:
        fernets = [Fernet(key.encode() if isinstance(key, str) else key) for key in keys]
    except (ValueError, TypeError) as exc:
        raise EncryptionKeyError(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 bytes, url-safe base64)"
        ) from exc
    return MultiFernet(fernets), fernets[0]


def configured_keys() -> tuple[str, ...]:
    return tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", ()) or ())


def check_keys(keys) -> None:
    """Raise EncryptionKeyError unless `keys` is a non-empty list of valid Fernet keys."""
    _fernets(tuple(keys))


def _multi() -> MultiFernet:
    return _fernets(configured_keys())[0]


def _primary() -> Fernet:
    return _fernets(configured_keys())[1]


def looks_encrypted(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def encrypt(text: str) -> str:
    """Encrypt with the first key. Each call gives a different token (random IV)."""
    return _multi().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt with whichever configured key made `token`. Raises InvalidToken."""
    return _multi().decrypt(token.encode("ascii")).decode("utf-8")


def is_current(token: str) -> bool:
    """Whether `token` was made with the first (current) key."""
    try:
        _primary().decrypt(token.encode("ascii"))
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """Re-encrypt `token` with the first key. Raises InvalidToken if no key reads it."""
    return _multi().rotate(token.encode("ascii")).decode("ascii")


def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 hex of `value` under CALLER_HASH_SECRET, separated per purpose."""
    key = hmac.new(settings.CALLER_HASH_SECRET.encode(), purpose.encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


# --- rewriting a column in place (migrations, key rotation) ----------------------------------


@dataclass
class ColumnResult:
    rewritten: int = 0
    unchanged: int = 0
    failed: list[int] = field(default_factory=list)  # primary keys that `transform` refused


def rewrite_column(
    *,
    connection,
    table: str,
    column: str,
    transform: Callable[[str], str | None],
    batch: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> ColumnResult:
    """Pass every non-empty value of `table`.`column` through `transform` (None: leave the
    row as it is; an exception: leave it and record its id), in batches by primary key, each
    batch in its own short transaction.

    Raw SQL: the values are read and written as stored, without the model field's
    decryption. Each UPDATE is conditional on the value read, so a row the application
    changed meanwhile (already encrypted with the current key) is left alone, never
    overwritten with the older text."""
    qn = connection.ops.quote_name
    t, c = qn(table), qn(column)
    # Table and column names come from model metadata; values are parameters.
    select = (
        f"SELECT id, {c} FROM {t} WHERE id > %s AND {c} IS NOT NULL AND {c} <> ''"  # noqa: S608
        " ORDER BY id LIMIT %s"
    )
    update = f"UPDATE {t} SET {c} = %s WHERE id = %s AND {c} = %s"  # noqa: S608
    result = ColumnResult()
    last = 0
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(select, [last, batch])
            rows = cursor.fetchall()
            for pk, value in rows:
                try:
                    new = transform(value)
                except Exception:  # noqa: BLE001 - reported by id; the rest go on
                    result.failed.append(pk)
                    continue
                if new is None or new == value:
                    result.unchanged += 1
                    continue
                cursor.execute(update, [new, pk, value])
                result.rewritten += cursor.rowcount
        if not rows:
            return result
        last = rows[-1][0]
        if progress:
            progress(result.rewritten, result.unchanged + result.rewritten + len(result.failed))


def encrypt_plaintext(value: str) -> str | None:
    """For migrations: encrypt a stored plain value; None if it is already encrypted."""
    if looks_encrypted(value):
        try:
            decrypt(value)
        except InvalidToken:
            pass
        else:
            return None
    return encrypt(value)


def decrypt_to_plaintext(value: str) -> str | None:
    """For reverse migrations: the plain text of a stored token; None if it is plain."""
    if not looks_encrypted(value):
        return None
    return decrypt(value)


def rotate_if_needed(value: str) -> str | None:
    """For key rotation: the value re-encrypted with the first key; None if it already is.
    A value stored before encryption (plain) is encrypted too. InvalidToken if no key
    reads it."""
    if not looks_encrypted(value):
        return encrypt(value)
    if is_current(value):
        return None
    return rotate(value)


# --- key rotation -------------------------------------------------------------------------------


def encrypted_columns() -> list[tuple[type, object]]:
    """(model, field) of every encrypted field of every installed model."""
    from django.apps import apps

    from hotline.fields import EncryptedTextField

    return [
        (model, f)
        for model in apps.get_models()
        for f in model._meta.concrete_fields
        if isinstance(f, EncryptedTextField)
    ]


def rotate_all(
    *, batch: int = 500, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, ColumnResult]:
    """Re-encrypt every stored value that is not under the first key with it (values written
    before encryption are encrypted too), column by column, in batches. `progress(label,
    rewritten, seen)` after each batch. Values no configured key reads are left as they are
    and listed in each result's `failed`: drop no key while any are left. The rotation is
    recorded in the audit log (counts only)."""
    from django.db import connections, router
    from django.utils import timezone

    from hotline.crisis.audit import audit_record

    check_keys(configured_keys())
    results: dict[str, ColumnResult] = {}
    for model, f in encrypted_columns():
        label = f"{model._meta.label}.{f.name}"
        connection = connections[router.db_for_write(model)]
        results[label] = rewrite_column(
            connection=connection,
            table=model._meta.db_table,
            column=f.column,
            transform=rotate_if_needed,
            batch=batch,
            progress=(lambda done, seen, label=label: progress(label, done, seen))
            if progress
            else None,
        )
    audit_record(
        actor=None,
        action="encryption.rotate",
        at=timezone.now(),
        detail={
            "keys": len(configured_keys()),
            "rewritten": sum(r.rewritten for r in results.values()),
            "unreadable": sum(len(r.failed) for r in results.values()),
        },
    )
    return results
