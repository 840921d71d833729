"""What the HTTP benchmarks share: a throwaway environment, gunicorn on loopback (bounded in
time, always stopped), and the latency summary."""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HARD_LIMIT = 300  # seconds: the server is killed after this whatever happens


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env(*, database_url: str, **extra: str) -> dict[str, str]:
    """Production-like settings for a server that only ever listens on loopback."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "CALLER_HASH_SECRET": "bench-" + uuid.uuid4().hex,
        "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "BENCH_BARE_VIEW": "1",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
        **extra,
    }


@contextlib.contextmanager
def gunicorn(*, env: dict[str, str], port: int, workers: int, ready_path: str | None = None):
    """gunicorn serving config.wsgi on 127.0.0.1:port until the block ends (or HARD_LIMIT).

    The master opens the socket before its workers have loaded the app: with `ready_path`,
    the block starts only once a GET of that path has answered 200 (so a warm-up on a busy
    machine does not run against workers still importing Django)."""
    server = subprocess.Popen(
        [
            "timeout",
            "--signal=KILL",
            str(HARD_LIMIT),
            str(Path(PY).parent / "gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("gunicorn did not start")
        if ready_path:
            url = f"http://127.0.0.1:{port}{ready_path}"
            for _ in range(300):
                try:
                    with urllib.request.urlopen(url, timeout=5) as response:
                        if response.status == 200:
                            break
                except (OSError, urllib.error.URLError):
                    pass
                time.sleep(0.1)
            else:
                raise SystemExit(f"gunicorn's workers did not answer {ready_path}")
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def server_cpu(server: subprocess.Popen) -> float:
    """CPU seconds (user + system) used so far by `server` and every process under it, from
    /proc (Linux); finished children that were reaped count too. NaN where /proc is absent."""
    if not Path("/proc").is_dir():
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [server.pid]
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:  # the process ended meanwhile
            continue
        # utime, stime, cutime, cstime: the process and its reaped children
        total += sum(int(x) for x in fields[11:15]) / ticks
        pending.extend(int(c) for c in children)
    return total


def summarise(latencies: list[float], elapsed: float) -> dict:
    latencies = sorted(latencies)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }
