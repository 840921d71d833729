"""Settings from the environment: production checks, refusals, DATABASE_URL, SQLite mode."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config.settings import BASE_DIR, database_from_url, sqlite_database

PYTHON = sys.executable


def run(args, **env):
    """Run with only the given environment (plus PATH/HOME), so the test settings never leak."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(BASE_DIR)),
    }
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    clean.update({k: v for k, v in env.items() if v is not None})
    return subprocess.run(
        [PYTHON, *args], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )


def production_env(**overrides):
    env = {
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "hotline.example.org",
        "CALLER_HASH_SECRET": secrets.token_urlsafe(40),
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SITE_URL": "https://hotline.example.org",
    }
    env.update(overrides)
    return env


def test_check_deploy_is_clean_with_production_values():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output


@pytest.mark.parametrize(
    ("site_url", "code"),
    [(None, "hotline.E003"), ("http://127.0.0.1:8000", "hotline.E004"), ("", "hotline.E003")],
)
def test_check_deploy_fails_without_a_public_site_url(site_url, code):
    env = production_env()
    env["SITE_URL"] = site_url
    result = run(["manage.py", "check", "--deploy"], **env)
    assert result.returncode != 0
    assert code in result.stdout + result.stderr


def test_check_deploy_fails_without_a_content_security_policy(settings):
    from hotline.checks import content_security_policy_check

    assert content_security_policy_check(None) == []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "CSPMiddleware" not in m]
    assert [e.id for e in content_security_policy_check(None)] == ["hotline.E005"]
    settings.MIDDLEWARE = ["csp.middleware.CSPMiddleware"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": ["'self'", "'unsafe-inline'"]}}
    assert [e.id for e in content_security_policy_check(None)] == ["hotline.E006"]


def test_sessions_last_hours_not_weeks():
    from django.conf import settings

    assert settings.SESSION_COOKIE_AGE <= 24 * 60 * 60
    assert settings.SESSION_IDLE_MINUTES_PRIVILEGED <= 30


def test_check_deploy_flags_debug_in_production():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production_env(DEBUG="1")
    )
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


def test_refuses_to_start_without_secret_key_when_debug_off():
    result = run(["-c", "import django; django.setup()"], ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_refuses_to_start_without_encryption_keys_when_debug_off():
    result = run(
        ["-c", "import django; django.setup()"], **production_env(FIELD_ENCRYPTION_KEYS="")
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_refuses_a_malformed_encryption_key():
    good = Fernet.generate_key().decode()
    result = run(
        ["-c", "import django; django.setup()"],
        **production_env(FIELD_ENCRYPTION_KEYS=f"{good},not-a-key"),
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS: key 2 is not a Fernet key" in result.stderr


def test_debug_derives_a_development_key_from_secret_key():
    code = "from django.conf import settings as s; print(s.FIELD_ENCRYPTION_KEYS)"
    env = {"DEBUG": "1", "SECRET_KEY": "dev-secret", "DJANGO_SETTINGS_MODULE": "config.settings"}
    first, second = run(["-c", code], **env), run(["-c", code], **env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(eval(first.stdout)) == 1  # noqa: S307


def test_starts_without_secret_key_in_debug():
    result = run(["-c", "import django; django.setup(); print('ok')"], DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_database_url_postgres():
    db = database_from_url(
        "postgres://roster:p%40ss%2Fword@db.internal:6543/hotline?sslmode=require"
    )
    # Django's backend, with a health check that costs no round trip while in use.
    assert db["ENGINE"] == "config.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "hotline",
        "roster",
        "p@ss/word",
        "db.internal",
        "6543",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}
    assert db["CONN_HEALTH_CHECKS"] is True
    assert db["PING_AFTER_IDLE"] == 1.0


def test_database_url_postgresql_scheme_without_password_or_port():
    db = database_from_url("postgresql://postgres@127.0.0.1/foundation")
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "foundation",
        "postgres",
        "",
        "127.0.0.1",
        "",
    )


def test_database_url_sqlite_absolute_and_relative():
    absolute = database_from_url("sqlite:////srv/hotline/db.sqlite3")
    assert absolute["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(absolute["NAME"]) == Path("/srv/hotline/db.sqlite3")
    assert str(absolute["NAME"]) == "/srv/hotline/db.sqlite3"
    assert (
        Path(database_from_url("sqlite:///var/other.sqlite3")["NAME"])
        == BASE_DIR / "var/other.sqlite3"
    )
    assert (
        Path(database_from_url("sqlite://var/other.sqlite3")["NAME"])
        == BASE_DIR / "var/other.sqlite3"
    )
    assert absolute["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_database_url_unknown_scheme_refused():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        database_from_url("mysql://u@h/db")


def test_sqlite_options_wal_immediate_timeout():
    options = sqlite_database(BASE_DIR / "var" / "x.sqlite3")["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    assert "journal_mode=WAL" in options["init_command"]


def test_default_database_is_sqlite_under_var_in_wal_mode(tmp_path):
    """The default (no DATABASE_URL) is var/db.sqlite3; a SQLite URL really opens in WAL."""
    script = (
        "import json, django; django.setup();"
        "from django.conf import settings; from django.db import connection;"
        "d = settings.DATABASES['default'];"
        "print(json.dumps({'name': str(d['NAME']), 'options': d['OPTIONS']}))"
    )
    result = run(["-c", script], DEBUG="1")
    assert result.returncode == 0, result.stderr
    default = json.loads(result.stdout.strip().splitlines()[-1])
    assert default["name"] == str(BASE_DIR / "var" / "db.sqlite3")
    assert default["options"]["transaction_mode"] == "IMMEDIATE"

    db = tmp_path / "probe.sqlite3"
    script = (
        "import django; django.setup(); from django.db import connection;"
        "c = connection.cursor();"
        "print(c.execute('PRAGMA journal_mode').fetchone()[0],"
        " c.execute('PRAGMA busy_timeout').fetchone()[0])"
    )
    result = run(["-c", script], DEBUG="1", DATABASE_URL=f"sqlite:///{db}")
    assert result.returncode == 0, result.stderr
    journal, busy_ms = result.stdout.split()[-2:]
    assert journal == "wal"
    assert int(busy_ms) >= 5000


def _settings_values(*names, **env):
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}))"
    )
    result = run(["-c", code], DEBUG="1", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_backends_default_from_twilio_credentials():
    # The one default of each backend setting lives in config/settings.py (code reads the
    # setting as it is, with no fallback of its own).
    names = ("SMS_BACKEND", "TWILIO_VOICE_BACKEND")
    assert _settings_values(*names) == {"SMS_BACKEND": "console", "TWILIO_VOICE_BACKEND": "console"}
    with_twilio = _settings_values(
        *names, TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="token"
    )
    assert with_twilio == {"SMS_BACKEND": "twilio", "TWILIO_VOICE_BACKEND": "twilio"}
    # Set but empty counts as not set.
    assert _settings_values(*names, SMS_BACKEND="", TWILIO_VOICE_BACKEND="")["SMS_BACKEND"] == (
        "console"
    )


def test_shift_reminder_hours():
    assert _settings_values("SHIFT_REMINDER_HOURS") == {"SHIFT_REMINDER_HOURS": [2, 24]}
    assert _settings_values("SHIFT_REMINDER_HOURS", SHIFT_REMINDER_HOURS="48, 1,48") == {
        "SHIFT_REMINDER_HOURS": [1, 48]
    }
    # No positive hour: the default, as before.
    assert _settings_values("SHIFT_REMINDER_HOURS", SHIFT_REMINDER_HOURS="0") == {
        "SHIFT_REMINDER_HOURS": [2, 24]
    }
    refused = run(["-c", "import django; django.setup()"], DEBUG="1", SHIFT_REMINDER_HOURS="2h")
    assert refused.returncode != 0
    assert "SHIFT_REMINDER_HOURS must be integers" in refused.stderr
