"""Benchmark: the incoming-call webhook while calendar imports of the largest allowed file run,
against the same webhook on the idle server, in the same run.

    .venv/bin/python bench/import_load.py [--seconds 5] [--rounds 3] [--clients 4]
                              [--importers 1] [--workers N] [--port 18400] [--database-url URL]

Builds a throwaway SQLite database (or uses --database-url), puts 200 counsellors on a shift
covering now and gives one volunteer an API token; starts gunicorn on 127.0.0.1:--port (the
first free port from there; stopped at the end by its pid, and killed by a hard time limit
whatever happens). Then, for --seconds each:

1. idle: --clients concurrent signed `POST /twilio/voice/incoming` (each a new call);
2. importing: the same, while --importers clients post the largest file the import accepts
   (1 MB: ≈2,200 events with titles, notes and alarms, ≈1,400 busy times in the year) to
   `POST /api/v1/me/calendar/import/` back to back, two versions in turn so that every
   import rewrites all its rows — far beyond the hourly limit, which the bench lifts
   (CALENDAR_IMPORTS_PER_HOUR) to keep an import always running.

The pair is repeated --rounds times (the machine may be shared: interleaving keeps a burst
of someone else's load from landing on one phase only). Prints p50/p99 latency and
requests/s of the webhook per phase and round, the ratio idle p50 / importing p50 per round
and pooled over the rounds (target ≥ 0.5: an import at most doubles a caller's wait), the
imports done and their time, and the server processes' peak memory (RSS, from /proc).
Loopback only; the clients share the server's cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import webhook  # bench/ is on sys.path: its signed requests and seed
from _server import PY, ROOT, bench_env, gunicorn, summarise

sys.path.insert(0, str(ROOT))

IMPORTER = """
import django
django.setup()
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from hotline.models import Volunteer
user = User.objects.create(username="importer", password="!")
Volunteer.objects.create(user=user, display_name="Importer", phone_number="+8613999999999")
print(Token.objects.create(user=user).key)
"""
PORTS = range(18400, 18500)  # this bench's loopback ports


def _tomorrow():
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)


def port_from(first: int) -> int:
    for port in range(first, PORTS.stop):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {first}–{PORTS.stop - 1}")


def multipart(data: bytes, boundary: str) -> bytes:
    return (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="calendar.ics"\r\n'
            "Content-Type: text/calendar\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )


def import_loop(args) -> list[tuple[int, float]]:
    """One importer: the largest file, back to back, until the deadline; two versions of it
    in turn (every busy time a day apart), so that each import rewrites all its rows."""
    port, token, bodies, content_type, deadline = args
    done = []
    while time.monotonic() < deadline:
        body = bodies[len(done) % 2]
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request(
            "POST",
            "/api/v1/me/calendar/import/",
            body,
            {"Content-Type": content_type, "Authorization": f"Token {token}"},
        )
        response = conn.getresponse()
        response.read()
        conn.close()
        done.append((response.status, time.monotonic() - started))
    return done


def rss_mb(server) -> tuple[float, float]:
    """Resident memory (MB) of `server` and every process under it, from /proc: (the
    largest single process, all of them)."""
    sizes, pending = [], [server.pid]
    while pending:
        pid = pending.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
        pending.extend(int(c) for c in children)
    return (max(sizes, default=0.0), sum(sizes))


def webhook_load(port: int, seconds: float, clients: int, *, importers=None, server=None):
    """Webhook latencies (s) for `seconds`, with `importers` = (count, token, bodies, type)
    running beside them; returns (latencies, elapsed, imports done, peak RSS (largest
    process, all))."""
    path = "/twilio/voice/incoming"
    webhook.PREPARED[:] = [
        webhook.prepare(port, path, int(seconds * 300), True) for _ in range(clients)
    ]
    started = time.monotonic()
    deadline = started + seconds
    jobs = [(i, port, path, deadline, True) for i in range(clients)]
    peak = (0.0, 0.0)
    with multiprocessing.Pool(clients + (importers[0] if importers else 0)) as pool:
        hooks = pool.map_async(webhook.client_loop, jobs)
        imports = None
        if importers:
            count, token, bodies, content_type = importers
            imports = pool.map_async(
                import_loop, [(port, token, bodies, content_type, deadline)] * count
            )
        while not hooks.ready():
            if server is not None:
                now = rss_mb(server)
                peak = (max(peak[0], now[0]), max(peak[1], now[1]))
            time.sleep(0.2)
        latencies = [x for r in hooks.get() for x in r]
        done = [x for r in imports.get() for x in r] if imports else []
    return latencies, time.monotonic() - started, done, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=3, help="idle then loaded, this often")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--importers", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--port", type=int, default=PORTS.start)
    parser.add_argument("--database-url", default="", help="default: a throwaway SQLite file")
    args = parser.parse_args()

    from tests.support.calendars import largest_calendar  # the file the tests check

    calendar = largest_calendar(first=_tomorrow())
    boundary = "bench-" + uuid.uuid4().hex
    content_type = f"multipart/form-data; boundary={boundary}"
    bodies = (
        multipart(calendar, boundary),
        multipart(largest_calendar(first=_tomorrow() + dt.timedelta(days=1)), boundary),
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    port = port_from(args.port)
    env = bench_env(
        database_url=args.database_url or f"sqlite:///{tmp}/bench.sqlite3",
        TWILIO_ACCOUNT_SID="",
        TWILIO_AUTH_TOKEN=webhook.TOKEN,
        TWILIO_VOICE_BACKEND="console",
        CALENDAR_IMPORTS_PER_HOUR="1000000",
        WEBHOOK_INBOX_DIR=str(tmp / "inbox"),
    )
    rounds = []
    try:
        subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [PY, "-c", webhook.SEED.replace("{n}", "200")], cwd=ROOT, env=env, check=True
        )
        token = subprocess.run(
            [PY, "-c", IMPORTER], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        with gunicorn(env=env, port=port, workers=args.workers) as server:
            # Warm both paths (imports, connections) before measuring.
            webhook_load(port, 1, 2)
            import_loop((port, token, bodies, content_type, time.monotonic() + 1))
            warm = rss_mb(server)
            for _ in range(args.rounds):
                idle = webhook_load(port, args.seconds, args.clients, server=server)
                loaded = webhook_load(
                    port,
                    args.seconds,
                    args.clients,
                    importers=(args.importers, token, bodies, content_type),
                    server=server,
                )
                rounds.append((idle, loaded))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\nincoming-call webhook, {args.clients} clients, {args.workers} gunicorn workers, "
        f"{args.rounds} rounds of {args.seconds:g} s idle + {args.seconds:g} s with "
        f"{args.importers} importer(s), database "
        f"{'DATABASE_URL' if args.database_url else 'SQLite (WAL)'}; import file "
        f"{len(calendar):,} bytes"
    )
    print(f"{'':26}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'p50 ratio':>11}")
    ratios, imports = [], []
    for n, (idle, loaded) in enumerate(rounds, 1):
        a, b = summarise(idle[0], idle[1]), summarise(loaded[0], loaded[1])
        ratios.append(a["p50"] / b["p50"])
        imports += loaded[2]
        for label, r, extra in [
            (f"round {n} idle", a, ""),
            (f"round {n} importing", b, f"{ratios[-1]:>11.2f}"),
        ]:
            print(
                f"{label:26}{r['requests']:>10}{r['rps']:>10.1f}{r['p50']:>10.1f}"
                f"{r['p99']:>10.1f}{extra}"
            )
    idle_all = summarise([x for r in rounds for x in r[0][0]], sum(r[0][1] for r in rounds))
    loaded_all = summarise([x for r in rounds for x in r[1][0]], sum(r[1][1] for r in rounds))
    for label, r in [("all rounds idle", idle_all), ("all rounds importing", loaded_all)]:
        print(f"{label:26}{r['requests']:>10}{r['rps']:>10.1f}{r['p50']:>10.1f}{r['p99']:>10.1f}")
    ok = sorted(t for status, t in imports if status == 201)
    statuses = sorted({status for status, _t in imports})
    print(
        f"imports while loaded: {len(imports)} (statuses {statuses}), "
        + (f"median {ok[len(ok) // 2] * 1000:.0f} ms each" if ok else "none succeeded")
    )
    peak_one = max(max(r[0][3][0], r[1][3][0]) for r in rounds)
    peak_all = max(max(r[0][3][1], r[1][3][1]) for r in rounds)
    print(
        f"server RSS: largest process {warm[0]:.0f} MB after warm-up, peak {peak_one:.0f} MB; "
        f"all {args.workers + 1} processes {warm[1]:.0f} MB, peak {peak_all:.0f} MB"
    )
    pooled = idle_all["p50"] / loaded_all["p50"]
    print(
        f"latency ratio idle p50 / importing p50, all rounds pooled: {pooled:.2f} "
        f"(per round {', '.join(f'{r:.2f}' for r in ratios)}; target ≥ 0.5) "
        f"{'OK' if pooled >= 0.5 else 'BELOW TARGET'}; p99 "
        f"{idle_all['p99'] / loaded_all['p99']:.2f}; throughput "
        f"{loaded_all['rps'] / idle_all['rps']:.2f}"
    )
    return 0 if pooled >= 0.5 and ok and statuses == [201] else 1


if __name__ == "__main__":
    sys.exit(main())
