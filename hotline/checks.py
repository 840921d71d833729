"""System checks (`manage.py check`, run by migrate and runserver too).

config/settings.py already refuses to start without FIELD_ENCRYPTION_KEYS when DEBUG is off,
and with a malformed key; these checks hold the same for any other settings module.
`manage.py check --deploy` also refuses a production without SITE_URL (links in SMS and
alerts would point at 127.0.0.1) and without a Content-Security-Policy."""

from urllib.parse import urlparse

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


@register(Tags.security, deploy=True)
def site_url_check(app_configs, **kwargs):
    """Escalation SMS, swap offers and calendar links are built from SITE_URL: unset in
    production they would silently point at 127.0.0.1."""
    site_url = (getattr(settings, "SITE_URL", "") or "").strip()
    if not site_url:
        return [
            Error(
                "SITE_URL is not set: links in SMS, alerts and calendar feeds would point at "
                "127.0.0.1.",
                hint="Set SITE_URL to the site's public address, e.g. https://hotline.example.org "
                "(docs/configuration.md).",
                id="hotline.E003",
            )
        ]
    parsed = urlparse(site_url)
    host = (parsed.hostname or "").lower()
    if parsed.scheme != "https" or not host or host in ("localhost", "127.0.0.1", "::1"):
        return [
            Error(
                f"SITE_URL ({site_url}) is not a public https address.",
                hint="Set SITE_URL to the address people reach the site at, with https.",
                id="hotline.E004",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def content_security_policy_check(app_configs, **kwargs):
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
    directives = policy.get("DIRECTIVES", {})
    # Ours (hotline/middleware.py) is django-csp's, minus calendar files and 304s.
    sent = {"csp.middleware.CSPMiddleware", "hotline.middleware.CSPMiddleware"}
    if not sent & set(settings.MIDDLEWARE) or not directives:
        return [
            Error(
                "No Content-Security-Policy is sent.",
                hint="Keep hotline.middleware.CSPMiddleware and CONTENT_SECURITY_POLICY "
                "(config/settings.py).",
                id="hotline.E005",
            )
        ]
    unsafe = [
        name
        for name in ("script-src", "default-src")
        if "'unsafe-inline'" in directives.get(name, ())
        or "'unsafe-eval'" in directives.get(name, ())
    ]
    if unsafe:
        return [
            Error(
                f"The Content-Security-Policy allows inline or eval'd scripts ({', '.join(unsafe)}).",
                id="hotline.E006",
            )
        ]
    return []
