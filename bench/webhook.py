"""Benchmark: the incoming-call webhook against a bare Django view, same server, same run.

    .venv/bin/python bench/webhook.py [--seconds 8] [--clients 8] [--workers N] [--volunteers 200]

Builds a throwaway SQLite database (or uses --database-url), puts `--volunteers` counsellors
on a published shift covering now, starts gunicorn on loopback (stopped at the end, and
killed by a hard time limit whatever happens), then fires concurrent signed
`POST /twilio/voice/incoming` requests (each a new CallSid, so each writes a Call) and the
same load against a bare view that only returns a constant (mounted only because the bench
sets BENCH_BARE_VIEW=1). Prints requests/s, p50 and p99 of each and their ratio
(target: the webhook reaches at least half the bare view's throughput), the server's
CPU time per request (user + system, all gunicorn processes, read from /proc), with
--database-url on this host the database's own (its backends serving the bench database),
and how busy the machine's cores were during each load (below 100 %: waits, not work,
limited the run).

The clients run on the same cores as the server, so each builds its requests (new CallSid,
signature) before the clock starts: what is timed is sending them and the server's work.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from _server import (  # bench/ is on sys.path
    PY,
    ROOT,
    DatabaseCPU,
    bench_env,
    free_port,
    gunicorn,
    machine_cpu,
    server_cpu,
    summarise,
    web_cpus,
)

TOKEN = "bench-auth-token"  # noqa: S105 - a throwaway server on loopback
HOTLINE = "+8637520000099"

SEED = f"""
import datetime as dt
import django
django.setup()
from django.contrib.auth.models import User
from django.utils import timezone
from hotline.models import Hotline, Volunteer
from scheduling.models import Assignment, Roster, Shift

n = int({{n}})
now = timezone.now()
hotline = Hotline.objects.create(name="Bench", phone_number="{HOTLINE}", greeting="Hello")
roster = Roster.objects.create(hotline=hotline, first_day=now.date() - dt.timedelta(days=1),
                               last_day=now.date() + dt.timedelta(days=1), status="published")
shift = Shift.objects.create(roster=roster, starts_at=now - dt.timedelta(hours=1),
                             ends_at=now + dt.timedelta(hours=5), required_counsellors=n)
users = User.objects.bulk_create([User(username=f"bench{{i}}", password="!") for i in range(n)])
volunteers = Volunteer.objects.bulk_create([
    Volunteer(user=u, display_name=u.username, phone_number=f"+86139{{i:08d}}", is_counsellor=True)
    for i, u in enumerate(users)])
Assignment.objects.bulk_create([
    Assignment(shift=shift, volunteer=v, role="counsellor") for v in volunteers])
print(f"seeded {{n}} volunteers on shift")
"""


def sign(url: str, params: dict) -> str:
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def prepare(port: int, path: str, count: int, signed: bool) -> list[tuple[str, dict]]:
    """`count` requests (body, headers), each with a new CallSid, signed when `signed`."""
    requests = []
    for _ in range(count):
        if signed:
            params = {
                "AccountSid": "AC" + "0" * 32,
                "CallSid": "CA" + uuid.uuid4().hex,
                "From": "+8613800138000",
                "To": HOTLINE,
                "CallStatus": "ringing",
                "Direction": "inbound",
                "ApiVersion": "2010-04-01",
            }
        else:
            params = {"CallSid": "CA" + uuid.uuid4().hex}
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": f"127.0.0.1:{port}"}
        if signed:
            headers["X-Twilio-Signature"] = sign(f"http://127.0.0.1:{port}{path}", params)
        requests.append((urlencode(params), headers))
    return requests


# Each client's requests, built before the clock starts (the forked clients inherit them):
# the load generator shares the server's cores, and its own HMAC work is not the server's.
PREPARED: list[list[tuple[str, dict]]] = []


def client_loop(args) -> list[float]:
    """One client process: sequential requests until the deadline; returns latencies (s)."""
    index, port, path, deadline, signed = args
    latencies = []
    requests = iter(PREPARED[index])
    while time.monotonic() < deadline:
        body, headers = next(requests, None) or prepare(port, path, 1, signed)[0]
        start = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}")
        latencies.append(time.monotonic() - start)
    return latencies


def run_load(
    server, port: int, path: str, seconds: float, clients: int, signed: bool, db_cpu: DatabaseCPU
) -> dict:
    PREPARED[:] = [prepare(port, path, int(seconds * 800), signed) for _ in range(clients)]
    cpu_before, db_before = server_cpu(server), db_cpu()
    busy_before, total_before = machine_cpu()
    started = time.monotonic()
    deadline = started + seconds
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(client_loop, [(i, port, path, deadline, signed) for i in range(clients)])
    summary = summarise([x for r in results for x in r], time.monotonic() - started)
    busy, total = machine_cpu()
    summary["cpu_ms"] = (server_cpu(server) - cpu_before) * 1000 / summary["requests"]
    summary["db_ms"] = (db_cpu() - db_before) * 1000 / summary["requests"]
    summary["busy"] = (busy - busy_before) / max(total - total_before, 1e-9)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=8)
    # gunicorn's own starting point for sync workers: 2 × cores + 1. Each worker waits on
    # the database's locks and on its client closing the connection; the spare workers keep
    # the cores busy meanwhile, as in a deployment.
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--volunteers", type=int, default=200)
    parser.add_argument("--database-url", default="", help="default: a throwaway SQLite file")
    parser.add_argument(
        "--web-cpus",
        default="",
        help="cores for the web server and the clients (e.g. 0): the database on the others",
    )
    args = parser.parse_args()
    placed = web_cpus(args.web_cpus)

    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    port = free_port()
    env = bench_env(
        database_url=args.database_url or f"sqlite:///{tmp}/bench.sqlite3",
        TWILIO_ACCOUNT_SID="",
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_VOICE_BACKEND="console",
    )
    try:
        subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [PY, "-c", SEED.replace("{n}", str(args.volunteers))], cwd=ROOT, env=env, check=True
        )
        with gunicorn(
            env=env, port=port, workers=args.workers, ready_path="/twilio/bench/bare"
        ) as server:
            # warm both paths (imports, connections) before measuring
            db_cpu = DatabaseCPU(args.database_url)
            run_load(server, port, "/twilio/bench/bare", 1, 2, False, db_cpu)
            run_load(server, port, "/twilio/voice/incoming", 1, 2, True, db_cpu)
            bare = run_load(
                server, port, "/twilio/bench/bare", args.seconds, args.clients, False, db_cpu
            )
            hook = run_load(
                server, port, "/twilio/voice/incoming", args.seconds, args.clients, True, db_cpu
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\n{args.volunteers} volunteers on shift, {args.clients} concurrent clients, "
        f"{args.workers} gunicorn workers, {args.seconds:g} s each, "
        f"database {'DATABASE_URL' if args.database_url else 'SQLite (WAL)'}; {placed}"
    )
    print(
        f"{'':28}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'server CPU':>14}"
        f"{'database CPU':>16}{'cores busy':>12}"
    )
    for label, r in [("bare Django view", bare), ("POST /twilio/voice/incoming", hook)]:
        db = "" if r["db_ms"] != r["db_ms"] else f"{r['db_ms']:>13.3f} ms"  # NaN: SQLite
        print(
            f"{label:28}{r['requests']:>10}{r['rps']:>10.1f}{r['p50']:>10.1f}{r['p99']:>10.1f}"
            f"{r['cpu_ms']:>11.3f} ms{db or f'{chr(8212):>16}'}{r['busy']:>11.0%}"
        )
    ratio = hook["rps"] / bare["rps"]
    print(
        f"ratio webhook/bare: {ratio:.2f} (target ≥ 0.5) {'OK' if ratio >= 0.5 else 'BELOW TARGET'}"
        f"; server CPU per request, bare/webhook: {bare['cpu_ms'] / hook['cpu_ms']:.2f}"
    )
    return 0 if ratio >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
