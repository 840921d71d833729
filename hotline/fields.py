"""Model fields stored encrypted (hotline/crypto.py). Referenced by migrations: do not move.

What the database holds is a Fernet token (base64 text); the model, forms, serializers and
templates see the plain text. Two things follow:

- The empty string is stored as it is, so "has a note" stays a plain SQL test and
  erasing a note is `update(field="")` (retention). Nothing else about a note is visible.
- No SQL lookup can match a value (each encryption has a random IV): the fields accept only
  `isnull` and `exact` with the empty string, and refuse every other lookup with a
  FieldError, so no code can filter on ciphertext by mistake. Search in Python, after
  reading, or keep a keyed hash beside the field (as CalendarToken.token_hash does).

A stored value that no configured key decrypts (a key dropped too early) is read as an
`Unreadable` placeholder and logged, instead of failing the request: the escalation chain
and the pages keep working; writing the object back keeps the original token.
"""

from __future__ import annotations

import logging

from cryptography.fernet import InvalidToken
from django import forms
from django.core import validators
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.lookups import Exact, IsNull
from django.utils.translation import gettext

from hotline import crypto

log = logging.getLogger(__name__)


class Unreadable(str):
    """What an undecryptable value reads as. Holds the stored token, written back unchanged."""

    token: str

    def __new__(cls, token: str):
        obj = super().__new__(
            cls, gettext("[unreadable: the encryption key for this note is missing]")
        )
        obj.token = token
        return obj


class EncryptedExact(Exact):
    """`field=""` only: any other value would be compared with ciphertext."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise self.lhs.output_field._refuse(f"= {type(self.rhs).__name__}")
        return super().get_prep_lookup()


class EncryptedTextField(models.TextField):
    """A TextField stored encrypted. `max_length` counts the plain text."""

    description = "Text (stored encrypted)"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(validators.MaxLengthValidator(self.max_length))

    def _refuse(self, lookup_name: str) -> FieldError:
        model = getattr(self, "model", None)
        where = f"{model.__name__}.{self.name}" if model is not None else "this field"
        return FieldError(f"{where} is encrypted: `{lookup_name}` cannot be used in a query")

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return EncryptedExact
        if lookup_name == "isnull":
            return IsNull
        raise self._refuse(lookup_name)

    def get_transform(self, lookup_name):
        raise self._refuse(lookup_name)

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        if not crypto.looks_encrypted(value):
            # Written before encryption and not migrated yet (the data migration encrypts
            # every row; `rotate_encryption_key` catches any it missed).
            return value
        try:
            return crypto.decrypt(value)
        except InvalidToken:
            log.error(
                "%s.%s: a stored value cannot be decrypted with FIELD_ENCRYPTION_KEYS "
                "(was a key removed before `rotate_encryption_key` ran?)",
                self.model.__name__,
                self.name,
            )
            return Unreadable(value)

    def get_prep_value(self, value):
        if isinstance(value, Unreadable):
            return value.token
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)

    def value_to_string(self, obj):
        # Serialisation (dumpdata) writes the plain text: a fixture is read back through
        # get_prep_value and encrypted again with the current key.
        return self.value_from_object(obj)


class EncryptedCharField(EncryptedTextField):
    """A one-line encrypted value: a text input in forms, stored as text (the token is
    longer than the plain value)."""

    def formfield(self, **kwargs):
        defaults = {"max_length": self.max_length, "form_class": forms.CharField}
        defaults.update(kwargs)
        # Skip TextField.formfield (a Textarea): a plain CharField as CharField gives it.
        return models.Field.formfield(self, **defaults)
