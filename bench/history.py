"""Benchmark: the hot paths with one month of history, then with five years, in the same run.

    .venv/bin/python bench/history.py [--calls 500000] [--years 5] [--repeat 15] [--database-url URL]

Builds a throwaway database — a SQLite file in a temporary folder, or, with --database-url
postgres://…, a database of its own created next to the one named (and dropped at the end) —
holding one month of a busy line: 40 volunteers on a monthly roster (four six-hour shifts a
day, two counsellors each, a few cancellations) for the past month and the coming one, and
the past month's share of `--calls` calls (70 % answered, each answered call with its
report, escalations on reports at risk 3+, one to three ring attempts per call). It measures,
in process through Django's test client (the whole middleware stack, no HTTP server):

- the incoming-call webhook (`POST /twilio/voice/incoming`, Twilio-signed, a new call each time),
- My shifts (`/me/shifts/`, a volunteer with shifts every week),
- the coverage board of the current roster (`/rosters/<pk>/board/`, a coordinator),
- the volunteer's calendar feed, built (cache emptied first) and revalidated (304),
- the calls list (`/calls/`) and `GET /api/v1/calls/` (a coordinator: every call), and the
  calls list of the volunteer (the calls they answered),

each as its number of queries and the median wall and CPU time of `--repeat` requests
(after two to warm up). Then it grows the database to `--years` years — one roster a month
back to the first with its shifts and assignments (`bulk_create`), the rest of the calls
with their reports, escalations and attempts (`executemany` in batches) — and measures the
same paths again. It prints, per path, queries before / after, median ms before
/ after, the ratio, and PASS when the query count is unchanged and the ratio is at most 1.5
(issue 17's budget), FAIL otherwise. Figures to read, not a test: on a shared machine run it
several times.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _server import bench_env  # bench/ is on sys.path

TOKEN = "bench-auth-token"  # noqa: S105 - never leaves this process
HOTLINE = "+8627000000017"
HOST = "127.0.0.1"
VOLUNTEERS = 40
SHIFT_HOURS = 6
BUDGET = 1.5
BATCH = 5000


# --- building the history -----------------------------------------------------------------


class Rows:
    """Rows of one model written with `executemany`: the named columns given per row
    (values ready for the database; `at()` adapts a datetime), every other column its
    field's default, prepared once. Ids, where named, are taken after the table's
    highest; the sequence is set after (`sequences_reset`)."""

    def __init__(self, model, columns: str) -> None:
        from django.db import connection

        self.model, self.connection = model, connection
        self.columns = columns.split()
        by_name = {f.attname: f for f in model._meta.concrete_fields}
        blank = model()
        rest = [
            f
            for f in model._meta.concrete_fields
            if f.attname not in self.columns and not f.primary_key
        ]
        self.defaults = tuple(
            f.get_db_prep_save(f.pre_save(blank, add=True), connection) for f in rest
        )
        names = [by_name[c].column for c in self.columns] + [f.column for f in rest]
        qn = connection.ops.quote_name
        self.sql = (
            f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(c) for c in names)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(names))})"
        )
        self.rows: list[tuple] = []
        self.last_id = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        if connection.vendor == "sqlite":
            self.at = lambda value: str(value.astimezone(dt.UTC).replace(tzinfo=None))
        else:
            self.at = lambda value: value

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def add(self, *values) -> None:
        self.rows.append(values + self.defaults)

    def flush(self) -> None:
        from django.db import transaction

        if self.rows:
            with transaction.atomic(), self.connection.cursor() as cursor:
                cursor.executemany(self.sql, self.rows)
            self.rows = []


def sequences_reset() -> None:
    """After rows written with chosen ids: PostgreSQL's sequences to the tables' highest."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


class History:
    """The line, its people and what the benchmark asks for; `month()` and `grow()` write
    the history."""

    def __init__(self, *, calls: int, years: int, seed: int = 17) -> None:
        from django.contrib.auth.models import User
        from django.utils import timezone

        from hotline.models import Hotline
        from hotline.models import Volunteer as V
        from scheduling.feeds.tokens import calendar_token_get

        self.rng = random.Random(seed)
        self.total_calls, self.years = calls, years
        self.months = years * 12
        self.hotline = Hotline.objects.create(
            name="History line", phone_number=HOTLINE, time_zone="Asia/Shanghai"
        )
        self.tz = self.hotline.tz
        users = User.objects.bulk_create(
            [User(username=f"v{i}", password="!") for i in range(VOLUNTEERS)]  # noqa: S106
        )
        self.people = V.objects.bulk_create(
            V(
                user=u,
                display_name=f"Volunteer {i:02d}",
                phone_number=f"+8613900{i:06d}",
                is_counsellor=True,
                crisis_trained=i % 4 == 0,
            )
            for i, u in enumerate(users)
        )
        self.me = self.people[0]
        self.coordinator = User.objects.create(
            username="coordinator",
            password="!",  # noqa: S106 (unusable)
            is_staff=True,
        )
        self.feed_token = calendar_token_get(user=self.me.user).token
        self.now = timezone.now()
        # Month 0 ends today (local): the month measured first; month -1 is the coming one.
        self.today = self.now.astimezone(self.tz).date()
        self.calls_written = 0
        self.sid = 0
        self.current_roster = None

    # Rosters ---------------------------------------------------------------------------

    def roster(self, first: dt.date, days: int):
        """A published roster of `days` days from `first`: four six-hour shifts a day, two
        counsellors on each in rotation (volunteer 0 on about one shift in five), every
        25th assignment cancelled and its seat taken by the next volunteer."""
        from scheduling.models import Assignment, Roster, Shift

        roster = Roster.objects.create(
            hotline=self.hotline,
            first_day=first,
            last_day=first + dt.timedelta(days=days - 1),
            status=Roster.Status.PUBLISHED,
            published_at=self.now,
        )
        shifts = []
        for d in range(days):
            midnight = dt.datetime.combine(first + dt.timedelta(days=d), dt.time(0), self.tz)
            for k in range(24 // SHIFT_HOURS):
                start = midnight + dt.timedelta(hours=k * SHIFT_HOURS)
                shifts.append(
                    Shift(
                        roster=roster,
                        starts_at=start,
                        ends_at=start + dt.timedelta(hours=SHIFT_HOURS),
                        required_counsellors=2,
                    )
                )
        shifts = Shift.objects.bulk_create(shifts, batch_size=BATCH)
        rows = []
        for i, shift in enumerate(shifts):
            pair = [self.people[(i * 2 + j) % (VOLUNTEERS - 3) + (i // 60) % 4] for j in range(2)]
            for j, who in enumerate(pair):
                if (i * 2 + j) % 25 == 0:
                    rows.append(
                        Assignment(
                            shift=shift, volunteer=who, role="counsellor", status="cancelled"
                        )
                    )
                    who = next(
                        p
                        for p in self.people[(i + 7) % VOLUNTEERS :] + self.people
                        if p not in pair
                    )
                rows.append(Assignment(shift=shift, volunteer=who, role="counsellor", sequence=1))
        Assignment.objects.bulk_create(rows, batch_size=BATCH)
        return roster

    def month_roster(self, month: int):
        """Roster `month` months back (0: the 30 days to today, -1: the 30 days after)."""
        first = self.today - dt.timedelta(days=30 * (month + 1) - 1)
        return self.roster(first, 30)

    # Calls -----------------------------------------------------------------------------

    def calls(self, n: int, start: dt.datetime, end: dt.datetime) -> None:
        """`n` ended calls arriving between start and end, written in arrival order as a
        line writes them, in batches: outcome, report on the answered, escalation on a
        report at risk 3+, ring attempts (the accepted one and the unanswered before it).

        Written with `executemany` and ids chosen here (Rows), not `bulk_create`: Django
        spends about a millisecond per object preparing each field's value, which made
        500,000 calls with their reports and attempts take most of an hour."""
        from hotline.models import Call, CallAttempt, CallReport, Escalation

        rng = self.rng
        span = (end - start).total_seconds()
        outcomes = ["answered"] * 7 + ["voicemail", "abandoned", "missed"]
        categories = ["psychological", "family_education", "medical_family", "other"]
        groups = ["medical_family", "pregnant_new_mother", "single_mother", "parent", "other"]
        arrivals = sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in range(n))
        calls = Rows(
            Call,
            "id call_sid hotline_id caller_hash caller_last4 category state outcome arrived_at "
            "answered_at ended_at answered_by_id duration",
        )
        reports = Rows(
            CallReport,
            "id call_id author_id category caller_group risk_level follow_up_needed "
            "created_at updated_at",
        )
        escalations = Rows(
            Escalation,
            "call_id hotline_id report_id source status code tier opened_at acknowledged_at "
            "resolved_at outcome",
        )
        attempts = Rows(
            CallAttempt,
            "call_id volunteer_id tier batch leg_sid leg_status result offered_at ended_at",
        )
        at = calls.at
        ids = [v.pk for v in self.people]
        for arrived in arrivals:
            self.sid += 1
            call_id = calls.next_id()
            outcome = rng.choice(outcomes)
            answered = outcome == "answered"
            by = rng.choice(ids) if answered else None
            ended = arrived + dt.timedelta(seconds=rng.randrange(60, 3000))
            category = rng.choice(categories) if answered else ""
            calls.add(
                call_id,
                f"CH{self.sid:032d}",
                self.hotline.pk,
                hashlib.sha256(
                    str(rng.randrange(max(self.total_calls // 3, 1))).encode()
                ).hexdigest(),
                f"{rng.randrange(10000):04d}",
                category,
                "ended",
                outcome,
                at(arrived),
                at(arrived + dt.timedelta(seconds=rng.randrange(5, 90))) if answered else None,
                at(ended),
                by,
                rng.randrange(60, 3000) if answered else None,
            )
            if answered:
                report_id = reports.next_id()
                risk = 4 if rng.random() < 0.01 else rng.randrange(3)
                reports.add(
                    report_id, call_id, by, category, groups[self.sid % 5], risk,
                    rng.random() < 0.1, at(ended), at(ended),
                )  # fmt: skip
                if risk >= 3:
                    escalations.add(
                        call_id, self.hotline.pk, report_id, "report", "resolved",
                        f"{call_id % 10000:04d}", 1, at(ended),
                        at(ended + dt.timedelta(seconds=40)),
                        at(ended + dt.timedelta(hours=1)), "referred",
                    )  # fmt: skip
            tried = rng.sample(ids, 1 + rng.randrange(3))
            if answered and by not in tried:
                tried[-1] = by
            if outcome in ("voicemail", "abandoned") and rng.random() < 0.5:
                tried = []
            for b, v in enumerate(tried):
                accepted = answered and v == by
                offered = arrived + dt.timedelta(seconds=20 + 25 * b)
                attempts.add(
                    call_id, v, "volunteers", b + 1, f"CL{call_id:024d}{b:08d}",
                    "completed" if accepted else "no-answer",
                    "accepted" if accepted else "no-answer",
                    at(offered), at(ended if accepted else offered + dt.timedelta(seconds=25)),
                )  # fmt: skip
            if len(calls.rows) >= BATCH:
                for rows in (calls, reports, escalations, attempts):
                    rows.flush()
        for rows in (calls, reports, escalations, attempts):
            rows.flush()
        self.calls_written += n

    # The two phases ----------------------------------------------------------------------

    def month(self) -> None:
        """One month: this month's roster and the coming month's, this month's calls."""
        self.current_roster = self.month_roster(0)
        self.month_roster(-1)
        start = dt.datetime.combine(self.today - dt.timedelta(days=29), dt.time(0), self.tz)
        self.calls(self.total_calls // self.months, start, self.now - dt.timedelta(minutes=5))
        sequences_reset()

    def grow(self) -> None:
        """Every earlier month back to `years` years: its roster and its calls."""
        for month in range(1, self.months):
            self.month_roster(month)
        first = dt.datetime.combine(
            self.today - dt.timedelta(days=30 * self.months - 1), dt.time(0), self.tz
        )
        end = dt.datetime.combine(self.today - dt.timedelta(days=29), dt.time(0), self.tz)
        self.calls(self.total_calls - self.calls_written, first, end)
        sequences_reset()


# --- measuring ----------------------------------------------------------------------------


def sign(url: str, params: dict) -> str:
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Paths:
    """Each path as a function making one request and checking its status."""

    def __init__(self, history: History) -> None:
        from django.core.cache import cache
        from django.test import Client

        self.cache = cache
        self.volunteer = Client(SERVER_NAME=HOST)
        self.volunteer.force_login(history.me.user)
        self.coordinator = Client(SERVER_NAME=HOST)
        self.coordinator.force_login(history.coordinator)
        self.anonymous = Client(SERVER_NAME=HOST)
        self.twilio = Client(SERVER_NAME=HOST)
        self.history = history
        self.feed = f"/calendar/{history.feed_token}.ics"
        self.etag = ""

    def _get(self, client, path: str, status: int = 200, **extra):
        r = client.get(path, **extra)
        if r.status_code != status:
            raise SystemExit(f"{path} answered {r.status_code}, expected {status}")
        return r

    def incoming(self):
        path = "/twilio/voice/incoming"
        params = {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": "CA" + uuid.uuid4().hex,
            "From": f"+86138{random.randrange(10**8):08d}",
            "To": HOTLINE,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        r = self.twilio.post(
            path,
            urlencode(params),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=sign(f"http://{HOST}{path}", params),
        )
        if r.status_code != 200:
            raise SystemExit(f"{path} answered {r.status_code}")

    def my_shifts(self):
        self._get(self.volunteer, "/me/shifts/")

    def board(self):
        self._get(self.coordinator, f"/rosters/{self.history.current_roster.pk}/board/")

    def feed_full(self):
        self.cache.clear()  # built, not served from the cache under its version
        self.etag = self._get(self.anonymous, self.feed)["ETag"]

    def feed_304(self):
        if not self.etag:
            self.feed_full()
        self._get(self.anonymous, self.feed, 304, HTTP_IF_NONE_MATCH=self.etag)

    def calls_list(self):
        self._get(self.coordinator, "/calls/")

    def my_calls(self):
        self._get(self.volunteer, "/calls/")

    def calls_api(self):
        self._get(self.coordinator, "/api/v1/calls/")

    def all(self) -> dict:
        return {
            "incoming call (webhook)": self.incoming,
            "My shifts": self.my_shifts,
            "coverage board": self.board,
            "calendar feed (built)": self.feed_full,
            "calendar feed (304)": self.feed_304,
            "calls list": self.calls_list,
            "calls list (a volunteer)": self.my_calls,
            "GET /api/v1/calls/": self.calls_api,
        }


def measure(paths: dict, repeat: int) -> dict[str, tuple[int, float, float, list[str]]]:
    """Per path: its queries (one request, captured), the median wall time and the median
    CPU time of this process in ms of `repeat` requests (not captured), and the SQL of the
    captured request. The paths take turns, so load from elsewhere spreads over all of
    them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    queries, sql = {}, {}
    walls, cpus = {name: [] for name in paths}, {name: [] for name in paths}
    for name, fn in paths.items():
        fn(), fn()  # warm up: compiled templates, the connection, caches
        with CaptureQueriesContext(connection) as ctx:
            fn()
        queries[name] = len(ctx.captured_queries)
        sql[name] = [q["sql"] for q in ctx.captured_queries]
    for _ in range(repeat):
        for name, fn in paths.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    return {
        name: (
            queries[name],
            statistics.median(walls[name]) * 1000,
            statistics.median(cpus[name]) * 1000,
            sql[name],
        )
        for name in paths
    }


# --- the database -------------------------------------------------------------------------


def own_postgres(url: str) -> tuple[str, str]:
    """A new database beside the one `url` names: (its URL, its name)."""
    name = f"history_bench_{os.getpid()}"
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name)), name


def admin_connection(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "localhost",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500_000, help="calls over all the years")
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=15, help="requests timed per path")
    parser.add_argument(
        "--database-url", default="", help="postgres://… (a database is made beside it)"
    )
    parser.add_argument("--show-sql", action="store_true", help="print each path's queries")
    parser.add_argument(
        "--keep", action="store_true", help="keep the SQLite file (its path is printed)"
    )
    args = parser.parse_args()
    if args.years < 1 or args.calls < args.years * 12:
        parser.error("at least a year and a call a month")

    tmp = tempfile.mkdtemp(prefix="bench-history-")
    pg_name = ""
    if args.database_url:
        url, pg_name = own_postgres(args.database_url)
        with admin_connection(args.database_url) as admin:
            admin.execute(f'CREATE DATABASE "{pg_name}"')
    else:
        url = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        os.environ.update(
            bench_env(
                database_url=url,
                TWILIO_AUTH_TOKEN=TOKEN,
                TWILIO_ACCOUNT_SID="",
                OTP_REQUIRED="0",
                ALLOWED_HOSTS=HOST,
                CALENDAR_UID_HOST="bench.example.org",
            )
        )
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        history = History(calls=args.calls, years=args.years)
        history.month()
        print(
            f"{connection.vendor}: one month built ({history.calls_written} calls, 2 rosters) "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        paths = Paths(history).all()
        before = measure(paths, args.repeat)
        started = time.perf_counter()
        history.grow()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # as autovacuum would after bulk loads
        print(
            f"grown to {args.years} year(s) ({history.calls_written} calls, "
            f"{history.months + 1} rosters) in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        after = measure(paths, args.repeat)
    finally:
        from django.db import connections

        connections.close_all()
        if pg_name:
            with admin_connection(args.database_url) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        if args.keep and not pg_name:
            print(f"kept {tmp}/bench.sqlite3")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    # SQLite works inside this process: its CPU time is the work, and moves far less than
    # the wall clock when other work shares the cores. PostgreSQL works in its own
    # processes: only the wall clock sees it.
    by_cpu = connection.vendor == "sqlite"
    print(
        f"\n{connection.vendor}, in process (Django test client), median of {args.repeat} "
        f"requests each; budget: same queries, ≤ {BUDGET}× the month's "
        f"{'CPU time (this process)' if by_cpu else 'wall time'}"
    )
    print(
        f"{'path':26}{'queries':>10}{'wall ms':>17}{'ratio':>7}{'CPU ms':>17}{'ratio':>7}  verdict"
    )
    failed = 0
    for name in paths:
        q0, wall0, cpu0, _sql0 = before[name]
        q1, wall1, cpu1, sql1 = after[name]
        ratio = cpu1 / cpu0 if by_cpu else wall1 / wall0
        ok = q0 == q1 and ratio <= BUDGET
        failed += not ok
        print(
            f"{name:26}{f'{q0} → {q1}':>10}{f'{wall0:.1f} → {wall1:.1f}':>17}"
            f"{wall1 / wall0:>7.2f}{f'{cpu0:.1f} → {cpu1:.1f}':>17}{cpu1 / cpu0:>7.2f}  "
            f"{'PASS' if ok else 'FAIL'}"
        )
        if args.show_sql:
            for q in sql1:
                print("    ", q[:400])
    print(f"{len(paths) - failed} of {len(paths)} paths within budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
