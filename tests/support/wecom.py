"""A fake WeCom API (the transport of hotline.wecom.client): tokens that expire when told,
members that exist or not, and every request kept for the test to read."""

from __future__ import annotations

import itertools


class FakeWeCom:
    def __init__(self, *, members=("zhao",)):
        self.members = set(members)
        self.requests: list[tuple[str, str, dict, dict]] = []
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.accepted: list[dict] = []
        self.down = False
        self.errcode: int | None = None
        self._ids = itertools.count(1)

    def __call__(self, method, url, *, params=None, json=None, timeout=None):
        params = dict(params or {})
        self.requests.append((method, url, params, json or {}))
        if self.down:
            raise ConnectionError("WeCom unreachable")
        if url.endswith("/cgi-bin/gettoken"):
            if params.get("corpsecret") != "wecom-secret":
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            self.tokens_issued += 1
            token = f"token-{self.tokens_issued}"
            self.valid_tokens.add(token)
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if url.endswith("/cgi-bin/message/send"):
            if params.get("access_token") not in self.valid_tokens:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            if self.errcode:
                return 200, {"errcode": self.errcode, "errmsg": "refused"}
            user = (json or {}).get("touser", "")
            if user not in self.members:
                return 200, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
            self.accepted.append(json)
            return 200, {
                "errcode": 0,
                "errmsg": "ok",
                "invaliduser": "",
                "msgid": f"msg{next(self._ids)}",
            }
        return 404, {}

    def expire_tokens(self):
        self.valid_tokens.clear()

    def cards(self) -> list[dict]:
        return [j for m, u, p, j in self.requests if u.endswith("/message/send") and j]
