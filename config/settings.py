"""Settings, read from the environment through small typed helpers.

Every variable read here is documented in docs/configuration.md.
"""

import base64
import datetime as dt
import hashlib
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config import sqlite

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_int_list(name: str) -> list[int]:
    try:
        return [int(item) for item in env_list(name)]
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be integers separated by commas") from exc


def database_from_url(url: str) -> dict:
    """Turn `postgres://user:pass@host:port/name` or `sqlite:///path` into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return {
            # Django's backend with a health check that needs no round trip while the
            # connection is in use (config/postgresql/base.py, docs/deployment.md).
            "ENGINE": "config.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            # A kept connection unused for longer than this is checked with a round trip.
            "PING_AFTER_IDLE": env_int("DATABASE_PING_AFTER_IDLE_MS", 1000) / 1000,
            "OPTIONS": options,
        }
    if parsed.scheme == "sqlite":
        # As in SQLAlchemy and dj-database-url: sqlite:////abs/path is absolute,
        # sqlite:///rel/path (and sqlite://rel/path) is relative to the project directory.
        path = unquote(parsed.netloc + parsed.path)
        if not parsed.netloc:
            path = path[1:]
        return sqlite_database(BASE_DIR / path)  # an absolute path replaces BASE_DIR
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported")


def sqlite_database(path: Path) -> dict:
    # WAL lets the web server read while the worker writes; IMMEDIATE takes the write lock at
    # BEGIN so two writers queue on the busy timeout instead of failing with "database is
    # locked" halfway through a transaction (see STACK-NOTES).
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # Reuse connections: opening one runs the PRAGMAs and closing one checkpoints the
        # WAL, which together cost more than a whole incoming-call webhook (bench/webhook.py).
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            # WAL, and its checkpoints kept off the request path (config/sqlite.py).
            "init_command": sqlite.INIT_COMMAND,
        },
    }


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (or DEBUG=1 for local work)."
        )
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Behind a reverse proxy (docs/security-logins.md): Twilio signs the URL it requested, so
# we must rebuild it; and the client's address is the one our proxy appended to
# X-Forwarded-For (never a client-supplied one, which sign-in lockouts would then trust).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
# Proxies of ours in front of the app: the client address is this many entries from the right.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "hotline",
    "scheduling",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every answer a browser may render (CONTENT_SECURITY_POLICY
    # below): not on calendar files or 304s (hotline/middleware.py).
    "hotline.middleware.CSPMiddleware",
    # Bodies larger than REQUEST_MAX_BYTES refused (413) before anything reads them; lock
    # waits bounded and a busy database answered 503 (docs/security-imports-webhooks.md).
    "hotline.middleware.RequestSizeMiddleware",
    "hotline.busy.DatabaseBusyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages (they say why a user was signed out), before the two-factor gate.
    "hotline.accounts.middleware.IdleTimeoutMiddleware",
    "hotline.accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a lockout flagged during the view into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hotline.context_processors.site",
                "hotline.crisis.context_processors.crisis_banner",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {"default": sqlite_database(BASE_DIR / "var" / "db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
Q_CLUSTER = {
    "name": "hotline",
    "workers": env_int("Q_WORKERS", 2),
    "timeout": 120,
    "retry": 180,  # must exceed timeout, or a slow task runs twice
    "max_attempts": 1,  # our tasks are idempotent and retry through the database, not the broker
    "catch_up": False,
    "label": "Tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    Q_CLUSTER["orm"] = "default"
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "scheduling:home"
LOGOUT_REDIRECT_URL = "login"

# Signing in (docs/security-logins.md). django-axes counts failed sign-ins in the database
# (shared by every worker process and host) per account and, separately, per client address,
# on every path that calls authenticate(): the login page, the admin login and the API token.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out attempts
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one alone locks
AXES_CLIENT_IP_CALLABLE = "hotline.accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "hotline.accounts.lockout.lockout_response"
# A success does not wipe the count: it would also wipe the failures from the same address
# against other accounts, so anyone with one working login could guess at another forever.
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False
# Never copied into the attempt records: passwords always, and our one-time code fields.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token", "code"]
# Two-factor sign-in (TOTP with recovery codes) for coordinators, supervisors and staff.
# On by default in production; DEBUG (make run) and the tests leave it off unless asked.
OTP_REQUIRED = env_bool("OTP_REQUIRED", not DEBUG)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Hotline Roster")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a device's secret or QR code
# Idle sign-out: minutes without a request. Staff, coordinators and supervisors see call
# notes, so theirs is short; volunteers keep a working day on a shared phone.
SESSION_IDLE_MINUTES_PRIVILEGED = env_int("SESSION_IDLE_MINUTES_PRIVILEGED", 30)
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 12 * 60)
SESSION_COOKIE_AGE = 60 * max(SESSION_IDLE_MINUTES, SESSION_IDLE_MINUTES_PRIVILEGED)
# API tokens (POST /api/v1/auth/token/) last this long; a password change revokes them.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24)
# Successful sign-ins (who, when, from which address) are kept this long for audits.
LOGIN_LOG_RETENTION_DAYS = env_int("LOGIN_LOG_RETENTION_DAYS", 90)

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
# Region used to read phone numbers written without a country code.
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "CN")

STATIC_URL = "static/"
# The site's own CSS and JS sit beside templates/, in one tree (docs/frontend.md); apps keep
# no static folders of their own. collectstatic copies them, with the admin's, to STATIC_ROOT.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "static"

# Content-Security-Policy (django-csp; docs/security.md): our pages load scripts, styles and
# images from our own origin only, with no inline script or style (tests/test_templates.py
# keeps templates that way); nothing may frame them. The offline API docs pages, whose
# vendor bundles inject <style> elements, relax style-src alone (api/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Deeply nested JSON is a 400, not a 500 (api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Hotline Roster API",
    "DESCRIPTION": "Rosters, volunteers, calls and escalations of a volunteer support hotline.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from the sidecar package: the stock page loads from a CDN, which we never reach.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Volunteers' roles and an assignment's role share one choice set: one schema name.
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "hotline.models.Role.choices",
        # A call's outcome and an escalation's outcome are different choice sets.
        "EscalationOutcomeEnum": "hotline.models.ESCALATION_OUTCOMES",
        # An availability window's kind and a swap request's kind.
        "AvailabilityKindEnum": "scheduling.models.AVAILABILITY_KINDS",
        "SwapKindEnum": "scheduling.models.SWAP_KINDS",
        # A follow-up's kind, source and status (docs/follow-ups.md).
        "FollowUpKindEnum": "hotline.models.followups.FOLLOW_UP_KINDS",
        "FollowUpSourceEnum": "hotline.models.followups.FOLLOW_UP_SOURCES",
        "FollowUpStatusEnum": "hotline.models.followups.FOLLOW_UP_STATUSES",
    },
}

# Twilio. Without credentials SMS go to the console backend and calls can be simulated.
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")

if not DEBUG:
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a commitment the operator makes for their whole domain (opt in with
        # SECURE_HSTS_PRELOAD=1); HSTS itself is on either way, so the reminder is noise.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Calendar-feed URLs carry their secret token: redacted where request paths are logged
    # (config/logfilters.py; gunicorn: config/gunicorn.conf.py).
    "filters": {"redact_secret_paths": {"()": "config.logfilters.RedactSecretPaths"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "loggers": {
        # Configuring a logger replaces its handlers: django.server keeps Django's own.
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact_secret_paths"],
        },
        "django.request": {"filters": ["redact_secret_paths"]},
        # django-axes logs failed sign-ins and lockouts as warnings; its info lines are noise.
        "axes": {"level": "WARNING"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# SMS outbox: `twilio` (default with Twilio credentials), `console` (default without) or
# `locmem` (tests).
SMS_BACKEND = env_str("SMS_BACKEND") or (
    "twilio" if TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN else "console"
)
SMS_MAX_ATTEMPTS = env_int("SMS_MAX_ATTEMPTS", 6)
# Sender for outbound SMS (a Twilio number or Messaging Service SID).
TWILIO_SMS_FROM = env_str("TWILIO_SMS_FROM")

# Calls. Caller numbers are stored only as HMAC-SHA256 under this secret (+ last 4 digits).
CALLER_HASH_SECRET = env_str("CALLER_HASH_SECRET")
if not CALLER_HASH_SECRET:
    if not DEBUG:
        raise ImproperlyConfigured("CALLER_HASH_SECRET is not set (required unless DEBUG).")
    CALLER_HASH_SECRET = "caller-hash:" + SECRET_KEY  # DEBUG only


def encryption_keys(value: list[str]) -> list[str]:
    """FIELD_ENCRYPTION_KEYS, checked here so a malformed key stops every process at start
    (gunicorn runs no system checks). Each is a Fernet key: 32 bytes, url-safe base64."""
    for n, key in enumerate(value, 1):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (ValueError, TypeError):
            raw = b""
        if len(raw) != 32:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key {n} is not a Fernet key (32 bytes, url-safe "
                "base64; make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)."
            )
    return value


# Call notes, callback numbers and calendar-feed tokens are stored encrypted
# (docs/security-encryption.md). Comma-separated Fernet keys: the first encrypts, every one
# decrypts; rotate with `manage.py rotate_encryption_key`. Required unless DEBUG.
FIELD_ENCRYPTION_KEYS = encryption_keys(env_list("FIELD_ENCRYPTION_KEYS"))
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is not set (required unless DEBUG): call notes and callers' "
            "numbers are stored encrypted with it. See docs/security-encryption.md."
        )
    # DEBUG only: derived from SECRET_KEY, so a development database stays readable.
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"field-encryption:{SECRET_KEY}".encode()).digest()
        ).decode()
    ]
# Outbound call legs: `twilio` (REST API) or `console` (logged, for simulate_call and demos).
TWILIO_VOICE_BACKEND = env_str("TWILIO_VOICE_BACKEND") or (
    "twilio" if TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN else "console"
)
# Public base URL Twilio reaches us at, for the callback URLs we hand to the REST API when
# no request is at hand (the safety task). Empty: taken from the webhook request.
TWILIO_WEBHOOK_BASE_URL = env_str("TWILIO_WEBHOOK_BASE_URL")
# bench/webhook.py only: mount a bare view to compare the webhook's throughput against.
BENCH_BARE_VIEW = env_bool("BENCH_BARE_VIEW", False)

# Crisis work (docs/crisis.md). Escalation SMS link to SITE_URL (below; empty:
# http://127.0.0.1:8000). Retention, in days: callback numbers, recording references,
# report and escalation notes (`purge_expired`, daily). A report is editable this many hours.
RETENTION_DAYS_CALLBACK = env_int("RETENTION_DAYS_CALLBACK", 30)
RETENTION_DAYS_RECORDING = env_int("RETENTION_DAYS_RECORDING", 90)
# Notes: three years by default, the national hotline guideline's minimum (docs/privacy.md).
RETENTION_DAYS_NOTES = env_int("RETENTION_DAYS_NOTES", 1095)
REPORT_EDIT_HOURS = env_int("REPORT_EDIT_HOURS", 24)
# Follow-ups (docs/follow-ups.md): hours until a new follow-up is due, and until a debrief is.
FOLLOW_UP_DUE_HOURS = env_int("FOLLOW_UP_DUE_HOURS", 24)
DEBRIEF_DUE_HOURS = env_int("DEBRIEF_DUE_HOURS", 24)
# The referral directory (docs/referrals.md): a resource not verified for this many days is
# on the coordinators' monthly list.
RESOURCE_VERIFY_DAYS = env_int("RESOURCE_VERIFY_DAYS", 180)

# Volunteers on their own (calendar feeds, reminders, swaps; docs/volunteers.md).
# Host part of calendar UIDs (assignment-<id>@<host>): set it once and never change it, or
# calendar apps see every shift as new. Empty: the first ALLOWED_HOSTS entry.
CALENDAR_UID_HOST = env_str("CALENDAR_UID_HOST")
# Public base URL of the site, for every absolute link (SMS, calendar feed URLs, API status
# URLs; hotline/links.py). Empty: the request's own address, and in SMS sent without a
# request http://127.0.0.1:8000 (what `make run` serves): set it in production.
SITE_URL = env_str("SITE_URL")
# Hours before a published shift that a reminder SMS goes out (whole hours; when none is
# positive, 24 and 2).
SHIFT_REMINDER_HOURS = sorted({h for h in env_int_list("SHIFT_REMINDER_HOURS") if h > 0} or {24, 2})
# Password reset codes sent by SMS (docs/security-logins.md): minutes they work, wrong
# guesses they survive.
PASSWORD_RESET_CODE_MINUTES = env_int("PASSWORD_RESET_CODE_MINUTES", 30)
PASSWORD_RESET_CODE_ATTEMPTS = env_int("PASSWORD_RESET_CODE_ATTEMPTS", 5)
# Who volunteers contact about their shifts, shown on My shifts and in the feed.
COORDINATOR_CONTACT = env_str("COORDINATOR_CONTACT")
# Changes to a published roster wait for "publish changes", except on shifts starting within
# this many hours: those are urgent and take effect (and are told) at once (roster-changes.md).
ROSTER_FREEZE_HOURS = env_int("ROSTER_FREEZE_HOURS", 48)
# Drops: volunteers asked by SMS per wave, and minutes between waves.
DROP_WAVE_SIZE = env_int("DROP_WAVE_SIZE", 3)
DROP_WAVE_MINUTES = env_int("DROP_WAVE_MINUTES", 30)
# A message left in `sending` this long had its worker die; the outbox asks the provider.
SMS_SENDING_STALE_SECONDS = env_int("SMS_SENDING_STALE_SECONDS", 300)

# Imports and webhooks under load (docs/security-imports-webhooks.md).
# Calendar (.ics) imports a volunteer may make per hour. Counted in the cache: with REDIS_URL
# every web process and host shares the count (the embedded default has one web process).
CALENDAR_IMPORTS_PER_HOUR = env_int("CALENDAR_IMPORTS_PER_HOUR", 10)
# Request bodies larger than this are refused with 413 before they are read (uploads too;
# the calendar import itself takes at most 1 MB).
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", 2 * 1024 * 1024)
# The longest a request waits, in all, for database locks (SQLite's busy timeout,
# PostgreSQL's lock_timeout) before pages and the API answer 503 with Retry-After.
DB_LOCK_WAIT_MS = env_int("DB_LOCK_WAIT_MS", 5000)
# The same for Twilio webhooks: well inside Twilio's 15 s, so the answer is always ours.
WEBHOOK_DB_LOCK_WAIT_MS = env_int("WEBHOOK_DB_LOCK_WAIT_MS", 4000)
# How long a caller (or a volunteer pressing 1) is kept on hold, asked again every few
# seconds, while the database stays busy; then the hotline's apology and emergency numbers.
WEBHOOK_BUSY_HOLD_SECONDS = env_int("WEBHOOK_BUSY_HOLD_SECONDS", 30)
# Retry-After (seconds) of a 503 for a busy database.
BUSY_RETRY_AFTER_SECONDS = env_int("BUSY_RETRY_AFTER_SECONDS", 5)
# Where webhooks that met a busy database are kept until the `webhook-inbox` schedule
# replays them. On several web hosts: a directory the worker reads too (shared volume), or
# run `manage.py webhook_inbox_replay` from cron on each host.
WEBHOOK_INBOX_DIR = env_str("WEBHOOK_INBOX_DIR", str(BASE_DIR / "var" / "inbox"))
# The automatic builder's repair mode: hours the load spread may stay above its floor so
# that a rebuild moves few people (0: as fair as possible, whatever it moves).
ROSTER_SPREAD_TOLERANCE_HOURS = env_int("ROSTER_SPREAD_TOLERANCE_HOURS", 12)
if ROSTER_SPREAD_TOLERANCE_HOURS < 0:
    raise ImproperlyConfigured("ROSTER_SPREAD_TOLERANCE_HOURS must be 0 or more")
# Monthly activity reports (docs/reports.md): e-mailed to these addresses when set, through
# an SMTP server at EMAIL_HOST:EMAIL_PORT; always kept for download either way.
ACTIVITY_REPORT_EMAILS = env_list("ACTIVITY_REPORT_EMAILS")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "webmaster@localhost")

# Channels (docs/channels.md). Each kind of message goes to a person over their own channel
# order (Volunteer.channels), else the order here, falling back to the next channel when one
# fails: `sms`, `voice` (an automated call), `wecom` (a WeCom app message).
MESSAGE_CHANNELS = {
    "escalation": env_list("MESSAGE_CHANNELS_ESCALATION", "wecom,voice,sms"),
    "reminder": env_list("MESSAGE_CHANNELS_REMINDER", "wecom,sms"),
    "default": env_list("MESSAGE_CHANNELS_DEFAULT", "wecom,sms"),
}
# At most this many messages of one kind to one person on one channel per hour; past it the
# next channel is used (the carriers' rule: repeated identical texts are refused).
MESSAGE_HOURLY_LIMIT = env_int("MESSAGE_HOURLY_LIMIT", 3)
MESSAGE_HOURLY_LIMITS = {"escalation": env_int("MESSAGE_HOURLY_LIMIT_ESCALATION", 6)}
# Numbers the voice provider cannot call (Twilio: no outbound calls to mainland China since
# November 2023); the voice channel skips them.
VOICE_UNREACHABLE_PREFIXES = env_list("VOICE_UNREACHABLE_PREFIXES", "+86")
# Seconds an alert call rings before it counts as unanswered.
VOICE_ALERT_RING_SECONDS = env_int("VOICE_ALERT_RING_SECONDS", 30)
# SMS texts without links (the backend forbids them: Twilio's China route, Alibaba Cloud);
# `aliyun` never carries links.
SMS_PLAIN_TEXT = env_bool("SMS_PLAIN_TEXT", False)
# Twilio's REST API (a local fake in black-box checks).
TWILIO_API_BASE = env_str("TWILIO_API_BASE", "https://api.twilio.com")
# WeCom (企业微信) app messages: the corp's id, the app's AgentId and Secret, the API base.
WECOM_CORP_ID = env_str("WECOM_CORP_ID")
WECOM_AGENT_ID = env_str("WECOM_AGENT_ID")
WECOM_SECRET = env_str("WECOM_SECRET")
WECOM_API_BASE = env_str("WECOM_API_BASE", "https://qyapi.weixin.qq.com")
# Minutes a link in a message (acknowledge an escalation) stays valid.
ACTION_LINK_MAX_AGE_MINUTES = env_int("ACTION_LINK_MAX_AGE_MINUTES", 60)
# Alibaba Cloud SMS (SMS_BACKEND=aliyun): credentials, endpoint, the registered sign name, and
# the registered template code of each kind of message (see docs/channels.md for each
# template's text and variables).
ALIYUN_ACCESS_KEY_ID = env_str("ALIYUN_ACCESS_KEY_ID")
ALIYUN_ACCESS_KEY_SECRET = env_str("ALIYUN_ACCESS_KEY_SECRET")
ALIYUN_SMS_ENDPOINT = env_str("ALIYUN_SMS_ENDPOINT", "dysmsapi.aliyuncs.com")
ALIYUN_SMS_SIGN_NAME = env_str("ALIYUN_SMS_SIGN_NAME")
ALIYUN_SMS_TEMPLATES = {
    "escalation": env_str("ALIYUN_SMS_TEMPLATE_ESCALATION"),
    "reminder": env_str("ALIYUN_SMS_TEMPLATE_REMINDER"),
    "swap": env_str("ALIYUN_SMS_TEMPLATE_SWAP"),
    "roster_change": env_str("ALIYUN_SMS_TEMPLATE_ROSTER_CHANGE"),
    "voicemail": env_str("ALIYUN_SMS_TEMPLATE_VOICEMAIL"),
    "notice": env_str("ALIYUN_SMS_TEMPLATE_NOTICE"),
}
