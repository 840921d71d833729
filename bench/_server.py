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


def web_cpus(spec: str) -> str:
    """Keep this process and everything it starts (the migrations, gunicorn, the clients) on
    the cores in `spec` ("0", "0,1", "0-1"). The PostgreSQL server on this host is a service
    this script does not start, so it stays free to use every core, the others mostly: a
    stand-in for a database on its own host. Returns how the run was placed, for its
    header. Linux only."""
    if not spec:
        return "the web server, the clients and the database share all the cores"
    cpus: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    os.sched_setaffinity(0, cpus)
    return (
        f"the web server and the clients on core(s) {spec} only; the database free to use"
        f" the others"
    )


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


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores, from /proc/stat:
    how saturated the cores were during a load (a run whose cores sat idle was limited by
    waits, not work). NaN where /proc is absent."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return float("nan"), float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    total = sum(fields[:8]) / ticks  # user nice system idle iowait irq softirq steal
    return total - (fields[3] + fields[4]) / ticks, total


class DatabaseCPU:
    """CPU seconds used so far by the PostgreSQL server processes that serve `database_url`'s
    database (its backends, read from /proc: the server must run on this host), for the
    database's share of a request when it runs on the same cores. NaN for SQLite (its work
    is inside the web server's processes), or when the server is elsewhere."""

    def __init__(self, database_url: str):
        self.url = database_url if database_url.startswith(("postgres:", "postgresql:")) else ""

    def __call__(self) -> float:
        if not self.url:
            return float("nan")
        import psycopg  # only for PostgreSQL runs

        ticks = os.sysconf("SC_CLK_TCK")
        with psycopg.connect(self.url.replace("postgres://", "postgresql://", 1)) as conn:
            pids = conn.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        total = 0.0
        for (pid,) in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return float("nan")
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total


def summarise(latencies: list[float], elapsed: float) -> dict:
    latencies = sorted(latencies)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }
