"""Settings, read from the environment through small typed helpers.

Every variable read here is documented in the README ("Configuration").
"""

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


def database_from_url(url: str) -> dict:
    """Turn `postgres://user:pass@host:port/name` or `sqlite:///path` into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
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
# Twilio signs the URL it requested; behind a TLS-terminating proxy we must rebuild it.
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
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
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
# Region used to read phone numbers written without a country code.
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "CN")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
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
        "EscalationOutcomeEnum": "hotline.crisis_models.ESCALATION_OUTCOMES",
        # An availability window's kind and a swap request's kind.
        "AvailabilityKindEnum": "scheduling.models.AVAILABILITY_KINDS",
        "SwapKindEnum": "scheduling.models.SWAP_KINDS",
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
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# SMS outbox: console (default without Twilio credentials), locmem (tests) or twilio.
SMS_BACKEND = env_str("SMS_BACKEND")
SMS_MAX_ATTEMPTS = env_int("SMS_MAX_ATTEMPTS", 6)
# Sender for outbound SMS (a Twilio number or Messaging Service SID).
TWILIO_SMS_FROM = env_str("TWILIO_SMS_FROM")

# Calls. Caller numbers are stored only as HMAC-SHA256 under this secret (+ last 4 digits).
CALLER_HASH_SECRET = env_str("CALLER_HASH_SECRET")
if not CALLER_HASH_SECRET:
    if not DEBUG:
        raise ImproperlyConfigured("CALLER_HASH_SECRET is not set (required unless DEBUG).")
    CALLER_HASH_SECRET = "caller-hash:" + SECRET_KEY  # DEBUG only
# Outbound call legs: `twilio` (REST API) or `console` (logged, for simulate_call and demos).
TWILIO_VOICE_BACKEND = env_str(
    "TWILIO_VOICE_BACKEND", "twilio" if TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN else "console"
)
# Public base URL Twilio reaches us at, for the callback URLs we hand to the REST API when
# no request is at hand (the safety task). Empty: taken from the webhook request.
TWILIO_WEBHOOK_BASE_URL = env_str("TWILIO_WEBHOOK_BASE_URL")
# bench/webhook.py only: mount a bare view to compare the webhook's throughput against.
BENCH_BARE_VIEW = env_bool("BENCH_BARE_VIEW", False)

# Crisis work (docs/readme-crisis.md). Escalation SMS link to SITE_URL (below; empty:
# http://127.0.0.1:8000). Retention, in days: callback numbers, recording references,
# report and escalation notes (`purge_expired`, daily). A report is editable this many hours.
RETENTION_DAYS_CALLBACK = env_int("RETENTION_DAYS_CALLBACK", 30)
RETENTION_DAYS_RECORDING = env_int("RETENTION_DAYS_RECORDING", 90)
RETENTION_DAYS_NOTES = env_int("RETENTION_DAYS_NOTES", 365)
REPORT_EDIT_HOURS = env_int("REPORT_EDIT_HOURS", 24)

# Volunteers on their own (calendar feeds, reminders, swaps; docs/readme-volunteers.md).
# Host part of calendar UIDs (assignment-<id>@<host>): set it once and never change it, or
# calendar apps see every shift as new. Empty: the first ALLOWED_HOSTS entry.
CALENDAR_UID_HOST = env_str("CALENDAR_UID_HOST")
# Public base URL of the site, for links in SMS (swap offers, drops). Empty: paths only.
SITE_URL = env_str("SITE_URL")
# Hours before a published shift that a reminder SMS goes out.
SHIFT_REMINDER_HOURS = [int(h) for h in env_list("SHIFT_REMINDER_HOURS", "24,2")]
# Who volunteers contact about their shifts, shown on My shifts and in the feed.
COORDINATOR_CONTACT = env_str("COORDINATOR_CONTACT")
# Drops: volunteers asked by SMS per wave, and minutes between waves.
DROP_WAVE_SIZE = env_int("DROP_WAVE_SIZE", 3)
DROP_WAVE_MINUTES = env_int("DROP_WAVE_MINUTES", 30)
# A message left in `sending` this long had its worker die; the outbox asks the provider.
SMS_SENDING_STALE_SECONDS = env_int("SMS_SENDING_STALE_SECONDS", 300)

# The automatic builder's repair mode: hours the load spread may stay above its floor so
# that a rebuild moves few people (0: as fair as possible, whatever it moves).
ROSTER_SPREAD_TOLERANCE_HOURS = env_int("ROSTER_SPREAD_TOLERANCE_HOURS", 12)
if ROSTER_SPREAD_TOLERANCE_HOURS < 0:
    raise ImproperlyConfigured("ROSTER_SPREAD_TOLERANCE_HOURS must be 0 or more")
