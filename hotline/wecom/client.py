"""WeCom (企业微信) app messages behind one small module: the access token (cached, refreshed
when WeCom says it expired) and `card_send` (a text card to one member).

A small client over `requests` rather than wechatpy: wechatpy's last release (1.8.18) is from
2021 and its WeCom client has no seam for a fake transport; we need two endpoints. Tests
replace only the transport (`transport`), never the logic above it, as with Twilio.

Settings: WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, WECOM_API_BASE (default WeCom's own
endpoint; tests and black-box checks point it at a local fake).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

TIMEOUT = (5, 10)
# WeCom's error codes that say the token is bad or expired: fetch a new one, try once more.
TOKEN_ERRORS = {40014, 42001, 40082}
# Codes that will never succeed as asked (credentials, permissions, the member): fall back.
PERMANENT_ERRORS = {40001, 40013, 40056, 48002, 60011, 60020, 81013, 301002, 82001}
# Rate limits: retry later (or the next channel).
RATE_ERRORS = {45009, 45033, 45047}


class WeComError(Exception):
    """WeCom did not take the message; `permanent` means the same request never will;
    `invalid_user` means the member's user id does not exist (the coordinator must fix it)."""

    def __init__(self, message: str, *, permanent: bool = False, invalid_user: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.invalid_user = invalid_user


def _requests_transport(method: str, url: str, *, params=None, json=None, timeout=TIMEOUT):
    import requests  # twilio's own dependency

    response = requests.request(method, url, params=params, json=json, timeout=timeout)
    try:
        body = response.json()
    except ValueError:
        body = {}
    return response.status_code, body


# `transport(method, url, *, params, json, timeout) -> (status, json_body)`. Tests set it to
# a fake; None means the real one (requests).
transport: Callable | None = None


def configured() -> bool:
    return bool(settings.WECOM_CORP_ID and settings.WECOM_AGENT_ID and settings.WECOM_SECRET)


def _call(method: str, path: str, *, params=None, json=None) -> dict:
    send = transport or _requests_transport
    url = settings.WECOM_API_BASE.rstrip("/") + path
    try:
        status, body = send(method, url, params=params, json=json, timeout=TIMEOUT)
    except OSError as exc:  # requests' errors are OSErrors
        raise WeComError(f"WeCom unreachable: {exc}") from exc
    if status >= 500 or not isinstance(body, dict):
        raise WeComError(f"WeCom answered HTTP {status}")
    return body


def _token_key() -> str:
    return f"wecom-token:{settings.WECOM_CORP_ID}:{settings.WECOM_AGENT_ID}"


def access_token(*, refresh: bool = False) -> str:
    """The app's access token, from the cache unless `refresh` (WeCom said it expired).
    Cached for its lifetime less five minutes, shared by every process with REDIS_URL."""
    if not refresh:
        token = cache.get(_token_key())
        if token:
            return token
    body = _call(
        "GET",
        "/cgi-bin/gettoken",
        params={"corpid": settings.WECOM_CORP_ID, "corpsecret": settings.WECOM_SECRET},
    )
    errcode = body.get("errcode", 0)
    if errcode or not body.get("access_token"):
        raise WeComError(
            f"WeCom token refused: {errcode} {body.get('errmsg', '')}",
            permanent=errcode in PERMANENT_ERRORS,
        )
    lifetime = int(body.get("expires_in") or 7200)
    cache.set(_token_key(), body["access_token"], max(lifetime - 300, 60))
    return body["access_token"]


def card_send(
    *, user_id: str, title: str, description: str, url: str, button: str, dedupe_seconds=1800
) -> str:
    """Send a text card (title, description, a button opening `url`) to one member. Returns
    WeCom's msgid. WeCom itself drops a repeat of the same card within `dedupe_seconds`."""
    if not configured():
        raise WeComError("WeCom is not configured", permanent=True)
    payload = {
        "touser": user_id,
        "msgtype": "textcard",
        "agentid": int(settings.WECOM_AGENT_ID),
        "textcard": {
            "title": title[:128],
            "description": description[:512],
            "url": url,
            "btntxt": button,
        },
        "enable_duplicate_check": 1,
        "duplicate_check_interval": dedupe_seconds,
    }
    body = {}
    for attempt in range(2):
        token = access_token(refresh=attempt > 0)
        body = _call("POST", "/cgi-bin/message/send", params={"access_token": token}, json=payload)
        if body.get("errcode", 0) not in TOKEN_ERRORS:
            break
        log.info("WeCom token expired; fetching a new one")
    errcode = body.get("errcode", 0)
    invalid = [u for u in str(body.get("invaliduser", "")).split("|") if u]
    if errcode == 81013 or user_id in invalid:
        raise WeComError(
            f"WeCom has no member with the user id {user_id!r}", permanent=True, invalid_user=True
        )
    if errcode:
        raise WeComError(
            f"WeCom {errcode}: {body.get('errmsg', '')}",
            permanent=errcode in PERMANENT_ERRORS or errcode in TOKEN_ERRORS,
        )
    return str(body.get("msgid") or "")
