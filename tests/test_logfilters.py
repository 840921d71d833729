"""Calendar-feed tokens never reach a log line: Django's request and server logs (settings
LOGGING) and gunicorn's access and error logs (config/gunicorn.conf.py)."""

from __future__ import annotations

import datetime as dt
import logging
import runpy
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from config import logfilters
from config.settings import BASE_DIR

TOKEN = "Zm9vYmFyLXNlY3JldC10b2tlbi1mb3ItdGVzdHMtb25seQ"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f'"GET /calendar/{TOKEN}.ics HTTP/1.1" 200 512',
            '"GET /calendar/[token].ics HTTP/1.1" 200 512',
        ),
        (f"Not Found: /calendar/open/{TOKEN}.ics", "Not Found: /calendar/open/[token].ics"),
        (f"/calendar/{TOKEN}.ics?x=1", "/calendar/[token].ics?x=1"),
        ("GET /calls/12/recording/ 200", "GET /calls/12/recording/ 200"),
    ],
)
def test_redact(line, expected):
    assert logfilters.redact(line) == expected


def test_django_request_log_holds_no_token(client, caplog, db):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(f"/calendar/{TOKEN}.ics").status_code == 404
        assert client.get("/no-such-page/").status_code == 404
    assert TOKEN not in caplog.text
    assert "Not Found: /calendar/[token].ics" in caplog.text
    assert "Not Found: /no-such-page/" in caplog.text  # other paths as they are


def test_django_server_log_holds_no_token(caplog):
    # runserver's access line, as django.core.servers.basehttp writes it
    with caplog.at_level(logging.INFO, logger="django.server"):
        logging.getLogger("django.server").info(
            '"%s" %s %s', f"GET /calendar/{TOKEN}.ics HTTP/1.1", "200", "512"
        )
    assert TOKEN not in caplog.text and "/calendar/[token].ics" in caplog.text


def test_gunicorn_access_and_error_logs_hold_no_token(tmp_path):
    settings = runpy.run_path(str(BASE_DIR / "config" / "gunicorn.conf.py"))
    cfg = Config()
    for name in ("access_log_format", "logger_class"):
        cfg.set(name, settings[name])
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    cfg.set("accesslog", str(access))
    cfg.set("errorlog", str(errors))
    logger = cfg.logger_class(cfg)
    assert isinstance(logger, logfilters.GunicornLogger)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/calendar/{TOKEN}.ics",
        "PATH_INFO": f"/calendar/{TOKEN}.ics",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"https://roster.example.org/calendar/{TOKEN}.ics",
    }
    resp = SimpleNamespace(status="200 OK", sent=512, headers=[])
    req = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    logger.access(resp, req, environ, dt.timedelta(seconds=0, microseconds=2500))
    logger.error("Error handling request %s", f"/calendar/{TOKEN}.ics")
    for handler in logger.access_log.handlers + logger.error_log.handlers:
        handler.flush()
    line = access.read_text()
    assert '"GET /calendar/[token].ics HTTP/1.1" 200 512 0.002500s' in line
    assert TOKEN not in line
    assert TOKEN not in errors.read_text() and "/calendar/[token].ics" in errors.read_text()
