"""Test settings: fast hasher, in-memory cache, django-q2 runs tasks inline."""

import os
import tempfile

os.environ.setdefault("DEBUG", "1")

from config.settings import *  # noqa: F403
from config.settings import DATABASE_URL, Q_CLUSTER

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
SECURE_SSL_REDIRECT = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
if not DATABASE_URL:
    # In-memory SQLite per test run; the WAL pragma means nothing there.
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
LANGUAGE_CODE = "en"
SMS_BACKEND = "locmem"
TWILIO_ACCOUNT_SID = "AC00000000000000000000000000000000"
TWILIO_AUTH_TOKEN = "test-auth-token"  # noqa: S105
TWILIO_SMS_FROM = "+8637520000000"
TWILIO_VOICE_BACKEND = "console"  # tests swap in a fake http_client where they dial
# Fixed keys, whatever the environment says: tests that rotate replace them.
FIELD_ENCRYPTION_KEYS = ["oXyOumjcwQ3oKV00h7TJ8n39xeVZrlPmHqs2SwZqEvY="]
# Two-factor sign-in is off unless a test turns it on (tests/hotline/accounts/).
OTP_REQUIRED = False
# Tests that look at the webhook inbox point this at their own tmp_path.
WEBHOOK_INBOX_DIR = tempfile.mkdtemp(prefix="hotline-test-inbox-")
