"""Benchmark: a volunteer's calendar feed (full and 304) against a bare Django view.

    .venv/bin/python bench/feed.py [--seconds 6] [--clients 4] [--workers 2] [--shifts 400]

Builds a throwaway SQLite database (or uses --database-url) with one volunteer holding
`--shifts` assignments over a year on a Europe/London hotline (DST both ways; some
cancelled), plus co-volunteers on every shift; starts gunicorn on loopback (killed by a hard
time limit whatever happens) and fires concurrent GETs at, in the same run and server:
a bare view returning a constant, the full feed, the feed revalidated with If-None-Match
(304), and the same two for a coordinator's unfilled-slots feed (the same shifts, each still
missing a seat), taking turns (`--rounds`). Prints requests/s, p50, p99, the server's CPU
time per request, and both as ratios to the bare view (targets: 304 >= 0.8, full feed
>= 0.5).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _server import (
    PY,
    ROOT,
    bench_env,
    free_port,
    gunicorn,
    server_cpu,
    summarise,
    web_cpus,
)  # bench/ is on sys.path

SEED = """
import datetime as dt
import django
django.setup()
from django.contrib.auth.models import User
from django.utils import timezone
from hotline.models import Hotline, Volunteer
from scheduling.models import Assignment, Roster, Shift
from scheduling.feeds.tokens import calendar_token_get

n = int({n})
now = timezone.now()
hotline = Hotline.objects.create(name="Bench Line", phone_number="+442071234567", time_zone="Europe/London")
roster = Roster.objects.create(hotline=hotline, first_day=(now - dt.timedelta(days=60)).date(),
                               last_day=(now + dt.timedelta(days=366)).date(), status="published")
users = User.objects.bulk_create([User(username=f"bench{{i}}", password="!") for i in range(4)])
people = Volunteer.objects.bulk_create([
    Volunteer(user=u, display_name=f"Volunteer {{i}}", phone_number=f"+44770090{{i:04d}}", is_counsellor=True,
              language="en")
    for i, u in enumerate(users)])
me, others = people[0], people[1:]
step = dt.timedelta(days=425) / n  # from 60 days back across a year ahead
start = now - dt.timedelta(days=59)
shifts = Shift.objects.bulk_create([
    Shift(roster=roster, starts_at=start + i * step, ends_at=start + i * step + dt.timedelta(hours=6),
          required_counsellors=4) for i in range(n)])
rows = []
for i, shift in enumerate(shifts):
    rows.append(Assignment(shift=shift, volunteer=me, role="counsellor",
                           status="cancelled" if i % 25 == 0 else "active", sequence=1 if i % 25 == 0 else 0))
    rows += [Assignment(shift=shift, volunteer=o, role="counsellor") for o in others[:2]]
Assignment.objects.bulk_create(rows)
boss = User.objects.create(username="bench-coordinator", password="!", is_staff=True)
print(calendar_token_get(user=boss, kind="open").token)
print(calendar_token_get(user=me.user).token)
"""


def client_loop(args) -> tuple[list[float], int]:
    """Plain sockets, one request per connection (gunicorn's sync workers close it anyway),
    read to the end: http.client, on this machine, added stalls of ~20 ms to some small
    answers (the bare view's, the 304s) that had nothing to do with the server."""
    port, path, deadline, etag, expect = args
    latencies, size = [], 0
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    if etag:
        head += f"If-None-Match: {etag}\r\n"
    request = (head + "\r\n").encode()
    want = f"HTTP/1.1 {expect} ".encode()
    while time.monotonic() < deadline:
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(262144):
                chunks.append(chunk)
        latencies.append(time.monotonic() - start)
        answer = b"".join(chunks)
        if not answer.startswith(want):
            raise SystemExit(f"{path} answered {answer[:40]!r}, expected {expect}")
        size = len(answer) - answer.find(b"\r\n\r\n") - 4
    return latencies, size


def first_etag(port: int, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}")
    return response.getheader("ETag")


def run_load(port, path, seconds, clients, etag="", expect=200) -> dict:
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(client_loop, [(port, path, deadline, etag, expect)] * clients)
    latencies = [x for r, _size in results for x in r]
    return {"latencies": latencies, "elapsed": time.monotonic() - started, "bytes": results[0][1]}


def run_rounds(server, port, loads: dict, *, seconds: float, clients: int, rounds: int) -> dict:
    """Each load for seconds/rounds at a time, in turn, `rounds` times: on a shared machine
    the load from elsewhere drifts, and taking turns spreads the drift over every load. The
    server's CPU time per request (all gunicorn processes, from /proc) is summed per load:
    it moves far less than requests/s when other work shares the cores."""
    runs = {name: [] for name in loads}
    cpu = dict.fromkeys(loads, 0.0)
    for _ in range(rounds):
        for name, (path, etag, expect) in loads.items():
            before = server_cpu(server)
            runs[name].append(run_load(port, path, seconds / rounds, clients, etag, expect))
            cpu[name] += server_cpu(server) - before
    out = {}
    for name, results in runs.items():
        summary = summarise(
            [x for r in results for x in r["latencies"]], sum(r["elapsed"] for r in results)
        )
        summary["cpu_ms"] = cpu[name] * 1000 / summary["requests"]
        out[name] = {**summary, "bytes": results[0]["bytes"]}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shifts", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3, help="turns each load takes")
    parser.add_argument("--database-url", default="", help="default: a throwaway SQLite file")
    parser.add_argument(
        "--web-cpus",
        default="",
        help="cores for the web server and the clients (e.g. 0): the database on the others",
    )
    args = parser.parse_args()
    placed = web_cpus(args.web_cpus)

    tmp = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    port = free_port()
    env = bench_env(
        database_url=args.database_url or f"sqlite:///{tmp}/bench.sqlite3",
        CALENDAR_UID_HOST="bench.example.org",
    )
    try:
        subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        seeded = subprocess.run(
            [PY, "-c", SEED.format(n=args.shifts)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        open_token, token = seeded.stdout.strip().splitlines()[-2:]
        with gunicorn(env=env, port=port, workers=args.workers) as server:
            feed = f"/calendar/{token}.ics"
            open_feed = f"/calendar/open/{open_token}.ics"
            etag, open_etag = first_etag(port, feed), first_etag(port, open_feed)
            # Warm up: every worker builds each feed once (kept in its cache by version).
            for path in ("/twilio/bench/bare", feed, open_feed):
                run_load(port, path, 2, args.clients)
            results = run_rounds(
                server,
                port,
                {
                    "bare": ("/twilio/bench/bare", "", 200),
                    "full": (feed, "", 200),
                    "revalidate": (feed, etag, 304),
                    "open_full": (open_feed, "", 200),
                    "open_revalidate": (open_feed, open_etag, 304),
                },
                seconds=args.seconds,
                clients=args.clients,
                rounds=args.rounds,
            )
            bare, full, revalidate = results["bare"], results["full"], results["revalidate"]
            open_full, open_revalidate = results["open_full"], results["open_revalidate"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\nfeed of {args.shifts} shifts over a year (Europe/London), {args.clients} clients, "
        f"{args.workers} gunicorn workers, {args.seconds:g} s each in {args.rounds} turns, "
        f"database {'DATABASE_URL' if args.database_url else 'SQLite (WAL)'}; feed {full['bytes']} bytes;"
        f" {placed}"
    )
    print(
        f"{'':26}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'vs bare':>9}"
        f"{'CPU ms/req':>12}{'CPU vs bare':>13}"
    )
    for label, r in [
        ("bare Django view", bare),
        ("GET feed (200)", full),
        ("GET feed If-None-Match", revalidate),
        ("open slots (200)", open_full),
        ("open slots If-None-Match", open_revalidate),
    ]:
        print(
            f"{label:26}{r['requests']:>10}{r['rps']:>10.1f}{r['p50']:>10.1f}{r['p99']:>10.1f}"
            f"{r['rps'] / bare['rps']:>9.2f}{r['cpu_ms']:>12.2f}{bare['cpu_ms'] / r['cpu_ms']:>13.2f}"
        )
    print(
        "vs bare: requests/s over the bare view's; CPU vs bare: the bare view's server CPU per "
        "request over this one's (targets: 304 >= 0.8, full feed >= 0.5)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
