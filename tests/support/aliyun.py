"""A fake Alibaba Cloud SMS endpoint: a local HTTP server (ports 18600-18699) that answers
SendSms as Alibaba Cloud does, so the official SDK runs unchanged (setting
ALIYUN_SMS_ENDPOINT=http://127.0.0.1:<port>)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PORTS = range(18600, 18700)


class FakeAliyun:
    def __init__(self):
        self.requests: list[dict] = []
        self.answer: dict | None = None  # replaces the OK body, e.g. a template error
        self.status = 200
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                query = parse_qs(urlparse(self.path).query)
                fields = {k: v[-1] for k, v in {**query, **form}.items()}
                # The SDK names the action and signs in headers (x-acs-action, Authorization).
                fields["Action"] = self.headers.get("x-acs-action", fields.get("Action", ""))
                fields["Authorization"] = self.headers.get("Authorization", "")
                fake.requests.append(fields)
                body = fake.answer or {
                    "Code": "OK",
                    "Message": "OK",
                    "BizId": f"9{len(fake.requests):05d}^0",
                    "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
                }
                data = json.dumps(body).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        for port in PORTS:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free port in 18600-18699")
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
