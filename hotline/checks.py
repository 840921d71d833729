"""System checks (`manage.py check`, run by migrate and runserver too).

config/settings.py already refuses to start without FIELD_ENCRYPTION_KEYS when DEBUG is off,
and with a malformed key; these checks hold the same for any other settings module."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from hotline import crypto


@register(Tags.security)
def encryption_keys_check(app_configs, **kwargs):
    keys = getattr(settings, "FIELD_ENCRYPTION_KEYS", None)
    if not keys:
        return [
            Error(
                "FIELD_ENCRYPTION_KEYS is not set: call notes and callers' numbers cannot be "
                "stored encrypted.",
                hint="Set FIELD_ENCRYPTION_KEYS to a Fernet key (docs/security-encryption.md).",
                id="hotline.E001",
            )
        ]
    try:
        crypto.check_keys(keys)
    except crypto.EncryptionKeyError as exc:
        return [
            Error(
                str(exc),
                hint="Each key is 32 bytes in url-safe base64, as Fernet.generate_key() makes.",
                id="hotline.E002",
            )
        ]
    return []
