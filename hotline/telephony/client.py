"""Twilio's REST API behind one module: the client, its transports, and the operations we use
(send an SMS, place, stop, redirect and read calls, fetch a voicemail's audio).

Tests replace only the transport (`http_client`, a `twilio.http.HttpClient`), never the
logic above it. Every transport also answers `stream(method, uri, *, auth, timeout,
headers)` with a `MediaResponse`: twilio's own `request` reads the body as text, which
audio is not.

Voice backends (setting TWILIO_VOICE_BACKEND): `twilio` (the REST API, the default with
credentials) or `console` (no account needed: requests are logged and answered with made-up
SIDs, so `simulate_call` and demos run the real routing code end to end).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from django.conf import settings
from django.urls import reverse
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

log = logging.getLogger(__name__)


# Tests set this to a fake transport; None means "the configured backend".
http_client: HttpClient | None = None

# Twilio's placeholders when the console backend runs without an account.
CONSOLE_ACCOUNT_SID = "AC" + "0" * 32


class DialError(Exception):
    """Twilio refused or could not place an outbound call."""


class RecordingUnavailable(Exception):
    """Twilio could not hand over a recording; `gone` means it no longer exists there."""

    def __init__(self, message: str, *, gone: bool = False):
        super().__init__(message)
        self.gone = gone


class SmsError(Exception):
    """Twilio did not take an SMS; `permanent` means the same request will never succeed."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


# --- REST transport -------------------------------------------------------------------------


@dataclass
class MediaResponse:
    """A binary response being streamed: iterate `chunks`, then `close()` (Django's
    StreamingHttpResponse closes it when the download ends or is cut off)."""

    status: int
    chunks: Iterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)
    close: Callable[[], None] = lambda: None

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)


MEDIA_CHUNK = 64 * 1024
# Connect, then between two reads: a stalled download frees its worker.
MEDIA_TIMEOUT = (5, 30)
MEDIA_HEADERS = ("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges")


class MediaHttpClient(TwilioHttpClient):
    """twilio's own transport (requests), plus `stream` for media downloads."""

    def stream(self, method, uri, *, auth, timeout=MEDIA_TIMEOUT, headers=None) -> MediaResponse:
        import requests  # twilio's own dependency

        session = self.session or requests.Session()
        # Redirects are followed (media may live on a storage host); requests drops the
        # Authorization header when the host changes.
        response = session.request(
            method,
            uri,
            auth=auth,
            timeout=timeout,
            headers=headers or {},
            stream=True,
            allow_redirects=True,
        )
        return MediaResponse(
            status=response.status_code,
            chunks=response.iter_content(MEDIA_CHUNK),
            headers={k: response.headers[k] for k in MEDIA_HEADERS if k in response.headers},
            close=response.close,
        )


class ConsoleHttpClient(HttpClient):
    """Answers the REST API locally and logs what would have been sent. No network."""

    def __init__(self):
        super().__init__(logger=log, is_async=False)

    def request(
        self,
        method,
        uri,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        data = data or {}
        what = uri.rsplit("/Accounts/", 1)[-1]
        log.info("[twilio console] %s %s %s", method, what, _redact(data))
        if what.endswith("/Messages.json"):
            return TwilioResponse(
                201, json.dumps({"sid": "SM" + uuid.uuid4().hex, "status": "queued"})
            )
        if what.endswith("/Calls.json"):
            return TwilioResponse(
                201, json.dumps({"sid": "CA" + uuid.uuid4().hex, "status": "queued"})
            )
        sid = what.rsplit("/", 1)[-1].removesuffix(".json")
        return TwilioResponse(200, json.dumps({"sid": sid, "status": data.get("Status", "")}))

    def stream(self, method, uri, *, auth, timeout=None, headers=None) -> MediaResponse:
        # Without an account there are no recordings to fetch.
        log.info("[twilio console] %s %s: no recordings here", method, uri.rsplit("/", 1)[-1])
        return MediaResponse(status=404, chunks=iter(()))


def _redact(data) -> dict:
    if isinstance(data, str | bytes):
        data = {k: v[-1] for k, v in parse_qs(data).items()}
    return {k: v for k, v in dict(data).items() if k not in {"Body"}}


_clients: dict[tuple, Client] = {}


def api_base() -> str:
    """Twilio's REST API base (setting TWILIO_API_BASE; a local fake in black-box checks)."""
    return (settings.TWILIO_API_BASE or "https://api.twilio.com").rstrip("/")


def _based(rest: Client) -> Client:
    rest.api.base_url = api_base()
    return rest


def client() -> Client:
    if http_client is not None:
        return _based(
            Client(
                settings.TWILIO_ACCOUNT_SID or CONSOLE_ACCOUNT_SID,
                settings.TWILIO_AUTH_TOKEN or "console",
                http_client=http_client,
            )
        )
    backend = voice_backend()
    key = (backend, settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, api_base())
    if key not in _clients:
        if backend == "console":
            _clients[key] = Client(
                settings.TWILIO_ACCOUNT_SID or CONSOLE_ACCOUNT_SID,
                settings.TWILIO_AUTH_TOKEN or "console",
                http_client=ConsoleHttpClient(),
            )
        else:
            _clients[key] = Client(
                settings.TWILIO_ACCOUNT_SID,
                settings.TWILIO_AUTH_TOKEN,
                http_client=MediaHttpClient(),
            )
        _based(_clients[key])
    return _clients[key]


def voice_backend() -> str:
    return settings.TWILIO_VOICE_BACKEND


# --- REST operations ------------------------------------------------------------------------


def send_sms(to: str, from_: str, body: str) -> str:
    """Hand one SMS to Twilio; returns its SID. Raises SmsError (`permanent` for a 4xx
    other than 429: the same request will never succeed)."""

    kwargs = {"to": to, "body": body}
    if from_.startswith("MG"):
        kwargs["messaging_service_sid"] = from_
    else:
        kwargs["from_"] = from_
    if settings.TWILIO_WEBHOOK_BASE_URL:
        kwargs["status_callback"] = settings.TWILIO_WEBHOOK_BASE_URL.rstrip("/") + reverse(
            "twilio:sms-status"
        )
    try:
        message = client().messages.create(**kwargs)
    except TwilioRestException as exc:
        permanent = 400 <= (exc.status or 0) < 500 and exc.status != 429
        raise SmsError(f"Twilio {exc.status} {exc.code}: {exc.msg}", permanent=permanent) from exc
    except (TwilioException, OSError) as exc:
        raise SmsError(f"Twilio unreachable: {exc}") from exc
    return message.sid


def find_sms(*, to: str, body: str, since) -> str | None:
    """The SID of a message Twilio already holds for `to` with this exact text, created at
    or after `since` (less a minute of clock skew); None if there is none."""
    floor = since - dt.timedelta(minutes=1) if since else None
    for message in client().messages.list(to=to, limit=50):
        created = getattr(message, "date_created", None)
        if message.body == body and (floor is None or created is None or created >= floor):
            return message.sid
    return None


def call_create(*, to: str, from_: str, url: str, status_callback: str, timeout: int) -> str:
    """Dial one volunteer's phone; `url` answers with the whisper. Returns the leg's SID."""
    try:
        call = client().calls.create(
            to=to,
            from_=from_,
            url=url,
            method="POST",
            status_callback=status_callback,
            status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            timeout=timeout,
        )
    except TwilioRestException as exc:
        raise DialError(f"Twilio {exc.status} {exc.code}: {exc.msg}") from exc
    except (TwilioException, OSError) as exc:
        raise DialError(f"Twilio unreachable: {exc}") from exc
    return call.sid


def alert_call_create(*, to: str, from_: str, url: str, status_callback: str, timeout: int) -> str:
    """Call a person with an automated alert: `url` answers with the spoken text and a
    key press; answering machines are detected (the TwiML hears `AnsweredBy`), and the status
    callback reports how the call ended. Returns the call's SID; raises DialError."""
    try:
        call = client().calls.create(
            to=to,
            from_=from_,
            url=url,
            method="POST",
            status_callback=status_callback,
            status_callback_method="POST",
            status_callback_event=["completed"],
            timeout=timeout,
            machine_detection="Enable",
        )
    except TwilioRestException as exc:
        raise DialError(f"Twilio {exc.status} {exc.code}: {exc.msg}") from exc
    except (TwilioException, OSError) as exc:
        raise DialError(f"Twilio unreachable: {exc}") from exc
    return call.sid


def find_call(*, to: str, since) -> str | None:
    """The SID of a call Twilio already placed to `to` at or after `since` (less a minute of
    clock skew); None if there is none."""
    floor = since - dt.timedelta(minutes=1) if since else None
    kwargs = {"to": to, "limit": 20}
    if floor is not None:
        kwargs["start_time_after"] = floor
    for call in client().calls.list(**kwargs):
        return call.sid
    return None


def call_stop(sid: str, *, answered: bool = False) -> None:
    """Stop a leg: cancel it while ringing, hang it up once answered. Best effort."""
    try:
        client().calls(sid).update(status="completed" if answered else "canceled")
    except (TwilioException, OSError) as exc:
        # A leg that already ended refuses the update; that is the state we wanted.
        log.info("could not stop leg %s: %s", sid, exc)


def call_redirect(sid: str, url: str) -> bool:
    """Send a live call to new TwiML (the caller, from the queue to voicemail). Best effort."""
    try:
        client().calls(sid).update(url=url, method="POST")
    except (TwilioException, OSError) as exc:
        log.info("could not redirect call %s: %s", sid, exc)
        return False
    return True


def call_status(sid: str) -> str | None:
    """The status Twilio holds for a call now (`ringing`, `in-progress`, `completed` …), or
    None when it cannot be read: for a status callback that may have been lost. Best
    effort."""
    try:
        return client().calls(sid).fetch().status or None
    except (TwilioException, OSError) as exc:
        log.info("could not read call %s: %s", sid, exc)
        return None


def conference_sid(name: str) -> str | None:
    """The SID of the conference in progress named `name` (a call's conference: its
    participants are changed through it), or None. Best effort."""
    try:
        for conference in client().conferences.list(
            friendly_name=name, status="in-progress", limit=1
        ):
            return conference.sid
    except (TwilioException, OSError) as exc:
        log.info("could not find conference %s: %s", name, exc)
    return None


def participant_update(conference_sid: str, call_sid: str, **changes) -> bool:
    """Change one participant of a conference (`hold`, `hold_url`, `end_conference_on_exit`,
    `announce_url`, …: Twilio's Participant resource). Best effort; False if refused."""
    try:
        client().conferences(conference_sid).participants(call_sid).update(**changes)
    except (TwilioException, OSError) as exc:
        log.info("could not update participant %s of %s: %s", call_sid, conference_sid, exc)
        return False
    return True


# --- recordings -------------------------------------------------------------------------------

RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")


def recording_open(recording_sid: str, *, range_header: str = "") -> MediaResponse:
    """Start downloading a recording's audio (MP3) with our account's credentials; the
    caller streams `chunks` and closes it. A `Range` header is passed on (phones' audio
    players ask for ranges). Raises RecordingUnavailable."""
    if not RECORDING_SID.match(recording_sid or ""):
        raise RecordingUnavailable("not a recording SID", gone=True)
    rest = client()
    uri = f"{api_base()}/2010-04-01/Accounts/{rest.account_sid}/Recordings/{recording_sid}.mp3"
    headers = {"Range": range_header} if range_header else {}
    try:
        response = rest.http_client.stream(
            "GET", uri, auth=(rest.username, rest.password), timeout=MEDIA_TIMEOUT, headers=headers
        )
    except (TwilioException, OSError) as exc:  # requests' errors are OSErrors
        raise RecordingUnavailable(f"Twilio unreachable: {exc}") from exc
    if response.status in (200, 206, 416):  # 416: a range past the end, for the player
        return response
    response.close()
    if response.status == 404:
        raise RecordingUnavailable("Twilio has no such recording", gone=True)
    raise RecordingUnavailable(f"Twilio answered {response.status}")
