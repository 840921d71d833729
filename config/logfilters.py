"""Keep secrets in URLs out of the logs.

A calendar feed's URL is its only key (`/calendar/<token>.ics`, `/calendar/open/<token>.ics`),
and calendar apps fetch it every few minutes, so every access-log line of a feed would hold a
working credential. `RedactSecretPaths` rewrites such paths to `/calendar/[token].ics` in any
record it sees: Django's `django.request` / `django.server` loggers (settings.LOGGING) and
gunicorn's access and error logs (`GunicornLogger`, named by config/gunicorn.conf.py).

It works on the formatted message, so it holds whatever the log format: the request line,
the path, a Referer header.
"""

from __future__ import annotations

import logging
import re

from gunicorn import glogging

FEED_TOKEN = re.compile(r"(/calendar/(?:open/)?)[^/\s\"'?#]+?(\.ics)")
REDACTED = r"\1[token]\2"


def redact(text: str) -> str:
    return FEED_TOKEN.sub(REDACTED, text)


class RedactSecretPaths(logging.Filter):
    """Replace feed tokens in a record's message. Attached to a logger, it rewrites the
    record where it is made, before any handler (or caplog) sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is the handler's to report
            return True
        if "/calendar/" in message:
            redacted = redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


class GunicornLogger(glogging.Logger):
    """gunicorn's logger with the redaction on its access and error logs (gunicorn sets up
    its own logging, before and apart from Django's)."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactSecretPaths) for f in log.filters):
                log.addFilter(RedactSecretPaths())
