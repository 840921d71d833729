"""Twilio in tests: requests exactly as Twilio sends them (fixtures/twilio, copied from the
team's shared/fixtures/twilio so a clean clone tests without anything beside it), a fake REST
transport (the only thing replaced: `hotline.telephony.client.http_client`), and signing."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from urllib.parse import urlencode

from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from hotline.telephony.client import MediaResponse
from tests.support import factories as f

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "twilio"
TOKEN = "test-auth-token"
HOTLINE_NUMBER = "+8637520000000"
NOW = f.at(2026, 3, 2, 10)  # Monday 10:00 Shanghai


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class FakeTwilioHttp(HttpClient):
    """Answers Twilio REST requests from memory. `fail` maps a To number to an HTTP status
    for calls.create; `sms_status` is the status every Messages.json request gets;
    `sms_fail` maps a To number to a (retryable) HTTP status or "timeout" for Messages.json.
    `accepted` lists the To numbers of the SMS Twilio took. `recordings` maps a recording SID
    to the audio bytes Twilio serves (`stream`, with byte ranges); `media_status` forces
    another status for every download; `media_requests` lists (uri, auth, headers) of each.
    `call_status` maps a call SID to the status a GET of that call reads (default
    `in-progress`); `refuse_update` lists the call SIDs whose update (a redirect, a
    hang-up) Twilio refuses, as it does for a call that is no longer in progress. Safe to
    share between threads."""

    def __init__(self):
        super().__init__(logger=logging.getLogger("fake-twilio"), is_async=False)
        self.requests: list[tuple[str, str, dict]] = []
        self.fail: dict[str, int] = {}
        self.sms_status = 201
        self.sms_fail: dict[str, object] = {}
        self.accepted: list[str] = []
        self.recordings: dict[str, bytes] = {}
        self.media_status: int | None = None
        self.media_requests: list[tuple[str, tuple, dict]] = []
        self.closed_media = 0
        self.call_status: dict[str, str] = {}
        self.refuse_update: set[str] = set()
        self.lock = threading.Lock()
        self.count = 0

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
        data = dict(data or {})
        with self.lock:
            self.requests.append((method, uri, data))
            self.count += 1
            count = self.count
        if uri.endswith("/Messages.json"):
            fault = self.sms_fail.get(data.get("To"))
            if fault == "timeout":
                raise TimeoutError("read timed out")
            if fault:
                return Response(
                    fault, json.dumps({"code": 20500, "message": "down", "status": fault})
                )
            if self.sms_status >= 300:
                return Response(
                    self.sms_status,
                    json.dumps({"code": 21211, "message": "nope", "status": self.sms_status}),
                )
            with self.lock:
                self.accepted.append(data.get("To"))
            return Response(201, json.dumps({"sid": f"SM{count:032d}", "status": "queued"}))
        if uri.endswith("/Calls.json"):
            status = self.fail.get(data.get("To"))
            if status:
                return Response(
                    status, json.dumps({"code": 13223, "message": "refused", "status": status})
                )
            return Response(201, json.dumps({"sid": f"CA{count:032d}", "status": "queued"}))
        if uri.endswith("/Conferences.json"):  # the conference of a call, by its name
            name = dict(params or {}).get("FriendlyName", "")
            return Response(
                200,
                json.dumps(
                    {
                        "conferences": [
                            {
                                "sid": "CF" + name.encode().hex()[:32].ljust(32, "0"),
                                "friendly_name": name,
                                "status": "in-progress",
                            }
                        ],
                        "next_page_uri": None,
                    }
                ),
            )
        call_sid = uri.rsplit("/", 1)[-1].removesuffix(".json")
        if method == "POST" and "/Calls/" in uri and call_sid in self.refuse_update:
            return Response(
                400,
                json.dumps({"code": 21220, "message": "Call is not in-progress.", "status": 400}),
            )
        if method == "GET" and "/Calls/" in uri:  # reading a call's status
            status = self.call_status.get(call_sid, "in-progress")
            return Response(200, json.dumps({"sid": call_sid, "status": status}))
        return Response(
            200,
            json.dumps(
                {
                    "sid": call_sid,
                    "status": data.get("Status", ""),
                }
            ),
        )

    def stream(self, method, uri, *, auth, timeout=None, headers=None) -> MediaResponse:
        headers = dict(headers or {})
        with self.lock:
            self.media_requests.append((uri, auth, headers))

        def closed():
            with self.lock:
                self.closed_media += 1

        if self.media_status is not None:
            return MediaResponse(status=self.media_status, chunks=iter(()), close=closed)
        sid = uri.rsplit("/", 1)[-1].split(".", 1)[0]
        audio = self.recordings.get(sid)
        if audio is None or "/Recordings/" not in uri:
            return MediaResponse(status=404, chunks=iter(()), close=closed)
        status, out = 200, {"Content-Type": "audio/mpeg", "Accept-Ranges": "bytes"}
        body = audio
        wanted = headers.get("Range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted.removeprefix("bytes=").partition("-")
            start = int(first or 0)
            end = min(int(last) if last else len(audio) - 1, len(audio) - 1)
            body = audio[start : end + 1]
            status = 206
            out["Content-Range"] = f"bytes {start}-{end}/{len(audio)}"
        out["Content-Length"] = str(len(body))
        chunks = (body[i : i + 1000] for i in range(0, len(body), 1000))
        return MediaResponse(status=status, chunks=chunks, headers=out, close=closed)

    def dialled(self) -> list[str]:
        return [d["To"] for m, u, d in self.requests if u.endswith("/Calls.json")]

    def stopped(self) -> list[tuple[str, str]]:
        return [
            (u.rsplit("/", 1)[-1].removesuffix(".json"), d.get("Status", ""))
            for m, u, d in self.requests
            if "/Calls/" in u and d.get("Status")
        ]

    def participants(self) -> list[tuple[str, dict]]:
        """(call SID, changes) of each conference participant update."""
        return [
            (u.rsplit("/", 1)[-1].removesuffix(".json"), d)
            for m, u, d in self.requests
            if "/Participants/" in u
        ]

    def read(self) -> list[str]:
        """The SIDs of the calls whose status was read (GET), in order."""
        return [
            u.rsplit("/", 1)[-1].removesuffix(".json")
            for m, u, d in self.requests
            if m == "GET" and "/Calls/" in u
        ]

    def redirected(self) -> list[str]:
        return [
            u.rsplit("/", 1)[-1].removesuffix(".json")
            for m, u, d in self.requests
            if "/Calls/" in u and d.get("Url")
        ]


def signed_post(
    client, path: str, data: dict, *, sign: bool = True, signature: str | None = None, **extra
):
    url = "http://testserver" + path
    headers = {}
    if signature is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    elif sign:
        headers["HTTP_X_TWILIO_SIGNATURE"] = RequestValidator(TOKEN).compute_signature(url, data)
    return client.post(
        path, urlencode(data), content_type="application/x-www-form-urlencoded", **headers, **extra
    )


def call_data(call_sid="CA11111111111111111111111111111111", **kw) -> dict:
    data = fixture("voice-incoming")
    data["CallSid"] = call_sid
    data.update(kw)
    return data


def leg(tw, attempt, path, **kw):
    """Post a volunteer's leg webhook (`voice/<path>`) for `attempt`, signed through `tw`."""
    data = {
        **fixture("voice-screen-answer"),
        "CallSid": attempt.leg_sid,
        "To": attempt.volunteer.phone_number,
    }
    data.update(kw)
    return tw(f"/twilio/voice/{path}?attempt={attempt.pk}", data)
