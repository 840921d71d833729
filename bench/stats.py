"""Benchmark: a year of a busy line's statistics against a plain COUNT(*) of its calls.

    .venv/bin/python bench/stats.py [--calls 100000] [--shifts 5000] [--repeat 3] [--database-url URL]

Builds a throwaway SQLite database (or migrates and seeds --database-url) with one hotline,
`--calls` calls over a year (every outcome; a report on each answered call, an escalation on
each report at risk 3+), `--shifts` shifts on a published roster with 40 volunteers filling
them; then times, in the same run, `SELECT COUNT(*)` over the call table and the whole
year's `activity_stats` (the year and the previous year: every figure of the API's answer),
each the best of `--repeat`, and prints both, the ratio and the number of queries. No target
asserted: figures to read (the issue's budget is 2 s on SQLite).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _server import bench_env  # bench/ is on sys.path


def seed(n_calls: int, n_shifts: int) -> None:
    import random

    from django.contrib.auth.models import User

    from hotline.models import Call, CallReport, Escalation, Hotline, Organisation, Volunteer
    from scheduling.models import Assignment, Roster, Shift

    rng = random.Random(12)
    tz = dt.timezone(dt.timedelta(hours=8))
    year = dt.datetime(2025, 1, 1, tzinfo=tz)
    hotline = Hotline.objects.create(name="Bench line", phone_number="+862700000001")
    orgs = [Organisation.objects.create(name=f"Branch {i}") for i in range(4)]
    users = User.objects.bulk_create([User(username=f"b{i}", password="!") for i in range(40)])  # noqa: S106 (unusable)
    people = Volunteer.objects.bulk_create(
        Volunteer(
            user=u,
            display_name=f"Volunteer {i}",
            phone_number=f"+8613800{i:06d}",
            is_counsellor=True,
            organisation=orgs[i % 4],
        )
        for i, u in enumerate(users)
    )
    outcomes = ["answered"] * 7 + ["voicemail", "abandoned", "missed"]
    calls = []
    for i in range(n_calls):
        arrived = year + dt.timedelta(seconds=rng.randrange(365 * 86400))
        outcome = rng.choice(outcomes)
        answered = outcome == "answered"
        calls.append(
            Call(
                call_sid=f"CA{i:032d}",
                hotline=hotline,
                caller_hash=f"{rng.randrange(n_calls // 3):064d}",
                caller_last4=f"{i % 10000:04d}",
                outcome=outcome,
                state="ended",
                arrived_at=arrived,
                answered_at=arrived + dt.timedelta(seconds=rng.randrange(5, 120))
                if answered
                else None,
                answered_by=rng.choice(people) if answered else None,
            )
        )
    calls.sort(key=lambda c: c.arrived_at)  # as a live line writes them: in arrival order
    for i, c in enumerate(calls):
        c.call_sid = f"CA{i:032d}"
    Call.objects.bulk_create(calls, batch_size=2000)
    answered = list(Call.objects.filter(outcome="answered").values_list("id", "arrived_at"))
    categories = ["psychological", "family_education", "medical_family", "other"]
    groups = ["medical_family", "pregnant_new_mother", "single_mother", "parent", "other"]
    reports = [
        CallReport(
            call_id=pk,
            author=people[k % 40],
            category=categories[k % 4],
            caller_group=groups[k % 5],
            risk_level=min(k % 7, 4) if k % 50 == 0 else k % 3,
            follow_up_needed=k % 9 == 0,
            created_at=at,
            updated_at=at,
        )
        for k, (pk, at) in enumerate(answered)
    ]
    CallReport.objects.bulk_create(reports, batch_size=2000)
    risky = CallReport.objects.filter(risk_level__gte=3).values_list("id", "call_id", "created_at")
    Escalation.objects.bulk_create(
        [
            Escalation(
                call_id=call_id,
                hotline=hotline,
                report_id=pk,
                source="report",
                status="resolved",
                code=f"{k:04d}",
                tier=1 + k % 3,
                opened_at=at,
                acknowledged_at=at + dt.timedelta(seconds=30 + k % 400),
                resolved_at=at + dt.timedelta(hours=1),
                outcome="referred",
            )
            for k, (pk, call_id, at) in enumerate(risky)
        ],
        batch_size=2000,
    )
    roster = Roster.objects.create(
        hotline=hotline,
        first_day=dt.date(2025, 1, 1),
        last_day=dt.date(2025, 12, 31),
        status="published",
    )
    step = dt.timedelta(days=365) / n_shifts
    shifts = Shift.objects.bulk_create(
        [
            Shift(
                roster=roster,
                starts_at=year + i * step,
                ends_at=year + i * step + dt.timedelta(hours=6),
                required_counsellors=2,
            )
            for i in range(n_shifts)
        ],
        batch_size=2000,
    )
    Assignment.objects.bulk_create(
        [
            Assignment(shift=s, volunteer=people[(i * 2 + j) % 40], role="counsellor")
            for i, s in enumerate(shifts)
            for j in range(2 if i % 10 else 1)
        ],
        batch_size=2000,
    )


def best(fn, repeat: int) -> tuple[float, float]:
    """The best wall-clock and the best CPU time (this process: SQLite runs in it) of
    `repeat` runs. On a shared machine CPU time is the steadier figure."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--shifts", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-stats-")
    try:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        os.environ.update(bench_env(database_url=url, FIELD_ENCRYPTION_KEYS=key))
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from hotline.models import Call, Hotline
        from hotline.stats.periods import Period
        from hotline.stats.scope import scope_build
        from hotline.stats.selectors import activity_stats

        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        seed(args.calls, args.shifts)
        print(
            f"seeded {args.calls} calls, {args.shifts} shifts in {time.perf_counter() - start:.1f} s"
        )
        scope = scope_build(Hotline.objects.all())
        period = Period(first=dt.date(2025, 1, 1), last=dt.date(2025, 12, 31), tz=scope.tz)
        now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)

        def count():
            with connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM hotline_call")
                return cursor.fetchone()[0]

        def count_period():
            return Call.objects.filter(
                arrived_at__gte=period.start, arrived_at__lt=period.end
            ).count()

        def stats():
            return activity_stats(scope=scope, period=period, now=now)

        plain, plain_cpu = best(count, args.repeat * 10)
        ranged, ranged_cpu = best(count_period, args.repeat * 10)
        figures, figures_cpu = best(stats, args.repeat)
        with CaptureQueriesContext(connection) as ctx:
            result = stats()
        print(f"database: {connection.vendor}")
        print(
            f"COUNT(*) over {count()} calls: {plain * 1000:.2f} ms (CPU {plain_cpu * 1000:.2f} ms)"
        )
        print(
            f"COUNT(*) of the year's calls (arrived_at range): {ranged * 1000:.1f} ms "
            f"(CPU {ranged_cpu * 1000:.1f} ms)"
        )
        print(
            f"activity_stats, the year and the year before: {figures * 1000:.0f} ms "
            f"(CPU {figures_cpu * 1000:.0f} ms; {len(ctx.captured_queries)} queries; "
            f"{result['calls']['received']} calls counted)"
        )
        print(
            f"ratio to COUNT(*): {figures / plain:.0f}× plain, {figures / ranged:.0f}× "
            f"the year's range (CPU: {figures_cpu / max(ranged_cpu, 1e-9):.0f}×)"
        )
        if os.environ.get("BENCH_QUERIES"):
            for q in ctx.captured_queries:
                print(q["time"], q["sql"][:300])
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx("stats()", globals(), locals(), sort="cumtime")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
