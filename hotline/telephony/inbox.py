"""The webhook inbox: what Twilio told us while the database was too busy to record it.

A status callback, a recording, a callback request or an incoming SMS (`ACK 4821`) that
meets a database lock held past the webhook's budget is written here — one small JSON file
per request, fsynced and renamed into place, so it survives a crash of the web process —
and Twilio gets its answer at once. The `webhook-inbox` schedule (every minute, and
`manage.py webhook_inbox_replay`) hands each entry back to the same view, with the time it
was received as "now", once the database is free. Replays are harmless twice: every
webhook already ignores a repeated request (MessageSid, CallSid, statuses that only move
forward).

Why files and not a table: the database is what is busy (SQLite locks the whole file), and
why not answer 5xx instead: Twilio does not retry status callbacks or messaging webhooks on
an error (docs/security-imports-webhooks.md).

Only the fields the view reads are kept (never a caller's number, except the one a caller
asked to be called back on); the files are readable by the server's user only, and deleted
once replayed. An entry that fails for another reason than a busy database is moved to
`failed/` and logged, never dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.urls import resolve

log = logging.getLogger(__name__)

VERSION = 1
CLAIM_STALE_SECONDS = 300  # a claimed entry whose replayer died is retried after this


def inbox_dir() -> Path:
    return Path(settings.WEBHOOK_INBOX_DIR)


def _write_durably(directory: Path, name: str, payload: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = directory / name
    temporary = directory / f".{name}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, final)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)
    return final


def inbox_put(request: HttpRequest, *, keep: tuple[str, ...]) -> Path:
    """Keep a signature-checked webhook request for replay: its path, query string, the POST
    fields named in `keep`, and when it was received. Raises OSError when it cannot be
    written (the caller then falls back to a non-2xx answer)."""
    received = getattr(request, "twilio_received_at", None) or dt.datetime.now(dt.UTC)
    entry = {
        "v": VERSION,
        "path": request.path,
        "query": request.META.get("QUERY_STRING", ""),
        "post": {k: request.POST[k] for k in keep if k in request.POST},
        "received_at": received.isoformat(),
    }
    # Sorted by name = in the order received (nanoseconds, then a random tie-break).
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}.json"
    path = _write_durably(inbox_dir(), name, json.dumps(entry).encode())
    log.warning("database busy: %s kept in the webhook inbox as %s", request.path, name)
    return path


def inbox_pending() -> list[Path]:
    directory = inbox_dir()
    if not directory.is_dir():
        return []
    now = time.time()
    for claimed in directory.glob("*.claimed"):
        try:
            if now - claimed.stat().st_mtime > CLAIM_STALE_SECONDS:
                os.replace(claimed, claimed.with_suffix(""))
        except OSError:
            continue
    return sorted(directory.glob("*.json"))


def _request_of(entry: dict) -> HttpRequest:
    request = HttpRequest()
    request.method = "POST"
    request.path = request.path_info = entry["path"]
    request.META = {
        "REQUEST_METHOD": "POST",
        "QUERY_STRING": entry.get("query", ""),
        "SERVER_NAME": "inbox.invalid",
        "SERVER_PORT": "443",
    }
    request.GET = QueryDict(entry.get("query", ""))
    post = QueryDict(mutable=True)
    for key, value in entry.get("post", {}).items():
        post[key] = value
    post._mutable = False
    request.POST = post
    request.twilio_received_at = dt.datetime.fromisoformat(entry["received_at"])
    request.twilio_replay = True
    return request


def replay_entry(entry: dict):
    """Hand one entry to its view (without the signature check: it was checked when the
    request came in). Raises what the view raises; a busy database included."""
    match = resolve(entry["path"])
    replay = getattr(match.func, "twilio_replay", None)
    if replay is None:
        raise LookupError(f"{entry['path']} is not a Twilio webhook")
    return replay(_request_of(entry), *match.args, **match.kwargs)


def inbox_replay(*, limit: int = 500, is_busy=None) -> dict[str, int]:
    """Replay pending entries, oldest first. Stops at the first that meets a busy database
    (the rest wait for the next run); an entry failing otherwise moves to `failed/`."""
    counts = {"replayed": 0, "waiting": 0, "failed": 0}
    pending = inbox_pending()
    for index, path in enumerate(pending[:limit]):
        claimed = path.with_name(path.name + ".claimed")
        try:
            os.replace(path, claimed)
        except FileNotFoundError:
            continue  # another replayer took it
        try:
            entry = json.loads(claimed.read_bytes())
            replay_entry(entry)
        except Exception as exc:
            if is_busy is not None and is_busy(exc):
                os.replace(claimed, path)
                counts["waiting"] = len(pending) - index
                log.info("webhook inbox: database still busy, %d waiting", counts["waiting"])
                return counts
            failed = inbox_dir() / "failed"
            failed.mkdir(exist_ok=True, mode=0o700)
            os.replace(claimed, failed / path.name)
            counts["failed"] += 1
            log.exception("webhook inbox: %s failed and was kept in failed/", path.name)
            continue
        claimed.unlink()
        counts["replayed"] += 1
    counts["waiting"] = max(len(pending) - limit, 0)
    return counts
