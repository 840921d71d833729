"""Multi-node harness: two web servers and two task clusters on one PostgreSQL database and
one Redis, driven over HTTP alternating nodes; every outcome checked in the database.

    make test-cluster        # or: .venv/bin/python -m tests.cluster.harness

Starts, on loopback only: a Redis of its own (port 18790, nothing saved), two gunicorn
servers (ports 18711 and 18712, two workers each) and two `manage.py qcluster` processes
(Redis broker), all on a fresh PostgreSQL database (`h17_cluster_<pid>`, dropped at the
end; PostgreSQL from HARNESS_PG, default postgres://postgres@127.0.0.1:5432). Then:

- concurrent callers: calls arrive and choose the menu on alternating nodes at once; every
  leg of every call is accepted at the same moment from both nodes;
- escalations advanced by both clusters while one cluster is killed (SIGKILL, children and
  all) in the middle of the round, then started again;
- drop offers claimed at once by two volunteers, one per node;
- sign-in failures spread across both nodes against one account;
- the SMS outbox delivered by both clusters at once (and its flush task run on both).

Each check asserts an exactly-once outcome from the database (and from what the console
SMS backend printed). Bounded: the whole run is stopped after HARD_LIMIT seconds whatever
happens; every process is stopped by its own id (one SIGTERM to a qcluster's main process,
then SIGKILL to what is left of its tree). Prints one line per check and `N passed, M
failed`; exits 1 if any failed.
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
import contextlib
import hashlib
import hmac
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
HARD_LIMIT = 240  # seconds for the whole run
WEB_PORTS = (18711, 18712)
REDIS_PORT = 18790
TOKEN = "cluster-auth-token"
HOTLINE = "+8637520001717"
PASSWORD = "cluster-Password-17"
PG = os.environ.get("HARNESS_PG", "postgres://postgres@127.0.0.1:5432")
DB = f"h17_cluster_{os.getpid()}"

results: list[tuple[str, bool, str]] = []
processes: dict[str, subprocess.Popen] = {}
LOGS = Path(tempfile.mkdtemp(prefix="hotline-cluster-"))


class Timeout(Exception):
    pass


def environment() -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "cluster-" + uuid.uuid4().hex,
        "CALLER_HASH_SECRET": "cluster-" + uuid.uuid4().hex,
        "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        # Clients are told apart by the X-Forwarded-For our "proxy" (the harness) sets.
        "BEHIND_PROXY": "1",
        "TRUSTED_PROXY_COUNT": "1",
        "DATABASE_URL": f"{PG}/{DB}",
        "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_VOICE_BACKEND": "console",
        "SMS_BACKEND": "console",
        "Q_WORKERS": "2",
        "LOGIN_FAILURE_LIMIT": "5",
        "OTP_REQUIRED": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
    }


ENV = environment()


# --- processes ------------------------------------------------------------------------------


def start(name: str, args: list[str], **env: str) -> subprocess.Popen:
    log = open(LOGS / f"{name}.log", "ab")  # closed with the process
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env={**ENV, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    processes[name] = proc
    return proc


def wait_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        time.sleep(0.2)
    raise Timeout(f"nothing listens on {port}")


def descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        p = pending.pop()
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found.append(child)
            pending.append(child)
    return found


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL a process and everything under it, each by its own id (a crash, for the test;
    the last resort, at the end)."""
    for pid in [proc.pid, *descendants(proc.pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def stop(name: str) -> None:
    """One SIGTERM to the main process (a second one deadlocks qcluster's shutdown), then
    SIGKILL to whatever of its tree is left after 20 s."""
    proc = processes.pop(name, None)
    if proc is None or proc.poll() is not None:
        return
    tree = descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    for pid in [proc.pid, *tree]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def start_web(n: int) -> None:
    start(
        f"web{n}",
        [
            str(Path(PY).parent / "gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{WEB_PORTS[n]}",
            "-w",
            "2",
            "--log-level",
            "warning",
        ],
    )


def start_cluster(n: int) -> None:
    # INFO: the console SMS backend logs each message it sends, which the checks count.
    start(f"cluster{n}", [PY, "manage.py", "qcluster"], LOG_LEVEL="INFO")


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", PG + "/postgres", "-qc", sql], check=True, capture_output=True, timeout=60
    )


# --- HTTP -----------------------------------------------------------------------------------


def request(node: int, method: str, path: str, data=None, headers=None, client="10.0.0.1"):
    """One request to node 0 or 1, from `client` (the address our proxy would report)."""
    conn = http.client.HTTPConnection("127.0.0.1", WEB_PORTS[node], timeout=30)
    body = urlencode(data) if data is not None else None
    hdrs = {"Host": "127.0.0.1", "X-Forwarded-For": client, **(headers or {})}
    if body is not None:
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=hdrs)
    response = conn.getresponse()
    content = response.read()
    conn.close()
    return response, content


def twilio(node: int, path: str, data: dict):
    """A webhook as Twilio sends it, signed for the URL this node sees."""
    url = f"http://127.0.0.1{path}"
    payload = url + "".join(f"{k}{data[k]}" for k in sorted(data))
    signature = base64.b64encode(
        hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()
    return request(node, "POST", path, data, {"X-Twilio-Signature": signature})


def login(node: int, username: str, password: str, client: str):
    """The login form, CSRF and all; returns the response to the POST."""
    response, content = request(node, "GET", "/accounts/login/", client=client)
    cookie = response.getheader("Set-Cookie", "")
    csrf_cookie = re.search(r"csrftoken=([^;]+)", cookie).group(1)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', content).group(1).decode()
    response, _content = request(
        node,
        "POST",
        "/accounts/login/",
        {"csrfmiddlewaretoken": token, "username": username, "password": password},
        {"Cookie": f"csrftoken={csrf_cookie}"},
        client=client,
    )
    return response


def api_token(node: int, username: str) -> str:
    import json

    response, content = request(
        node,
        "POST",
        "/api/v1/auth/token/",
        {"username": username, "password": PASSWORD},
        client=f"10.1.0.{node + 1}",
    )
    if response.status != 200:
        raise AssertionError(f"token for {username}: {response.status} {content[:200]!r}")
    return json.loads(content)["token"]


def wait_until(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds:g} s: {what}")


def printed_sms() -> list[str]:
    lines = []
    for log in LOGS.glob("cluster*.log"):
        lines += [
            line for line in log.read_text(errors="replace").splitlines() if "SMS to " in line
        ]
    return lines


# --- the checks -----------------------------------------------------------------------------


def check(name: str):
    def wrap(fn):
        def run():
            started = time.monotonic()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - every failure is reported, the run goes on
                results.append((name, False, f"{type(exc).__name__}: {exc}"))
                traceback.print_exc()
            else:
                results.append((name, True, f"{time.monotonic() - started:.1f} s"))
            print(f"{'ok  ' if results[-1][1] else 'FAIL'} {name} ({results[-1][2]})", flush=True)

        run.__name__ = fn.__name__
        return run

    return wrap


def seed() -> dict:
    import datetime as dt

    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from hotline.access import COORDINATORS_GROUP
    from hotline.models import Hotline, Volunteer
    from scheduling.models import Assignment, Roster, Shift

    now = timezone.now()
    hotline = Hotline.objects.create(
        name="Cluster Line", phone_number=HOTLINE, greeting="Hello", ring_batch_size=2
    )
    roster = Roster.objects.create(
        hotline=hotline,
        first_day=now.date() - dt.timedelta(days=1),
        last_day=now.date() + dt.timedelta(days=10),
        status="published",
    )
    shift = Shift.objects.create(
        roster=roster,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=5),
        required_counsellors=16,
        required_supervisors=2,
    )
    people = []
    for i in range(16):
        user = User.objects.create_user(f"counsellor{i}", password=PASSWORD)
        people.append(
            Volunteer.objects.create(
                user=user,
                display_name=f"Counsellor {i}",
                phone_number=f"+8613900017{i:03d}",
                is_counsellor=True,
            )
        )
    Assignment.objects.bulk_create(
        [Assignment(shift=shift, volunteer=v, role="counsellor") for v in people]
    )
    supervisors = []
    for i in range(2):
        user = User.objects.create_user(f"supervisor{i}", password=PASSWORD)
        supervisors.append(
            Volunteer.objects.create(
                user=user,
                display_name=f"Supervisor {i}",
                phone_number=f"+8613800017{i:03d}",
                is_supervisor=True,
                crisis_trained=True,
            )
        )
    Assignment.objects.bulk_create(
        [Assignment(shift=shift, volunteer=v, role="supervisor") for v in supervisors]
    )
    group, _created = Group.objects.get_or_create(name=COORDINATORS_GROUP)
    for i in range(2):
        user = User.objects.create_user(f"coordinator{i}", password=PASSWORD)
        user.groups.add(group)
        Volunteer.objects.create(
            user=user, display_name=f"Coordinator {i}", phone_number=f"+8613700017{i:03d}"
        )
    return {"hotline": hotline, "roster": roster, "shift": shift, "counsellors": people}


@check("concurrent callers and accepts, alternating nodes")
def calls_and_accepts():
    from hotline.models import Call, CallAttempt

    sids = [f"CA{uuid.uuid4().hex}" for _ in range(6)]

    def arrive(i: int, sid: str):
        base = {"CallSid": sid, "From": f"+861390000{i:04d}", "To": HOTLINE, "AccountSid": "AC"}
        r, body = twilio(i % 2, "/twilio/voice/incoming", base)
        assert r.status == 200, (r.status, body[:200])
        r, body = twilio((i + 1) % 2, "/twilio/voice/menu", {**base, "Digits": "1"})
        assert r.status == 200, (r.status, body[:200])

    with cf.ThreadPoolExecutor(6) as pool:
        list(pool.map(arrive, range(6), sids))
    # A webhook that met a busy database held its caller (Twilio comes back): so do we.
    for _ in range(3):
        recorded = Call.objects.filter(call_sid__in=sids).values_list("call_sid", flat=True)
        for i, sid in enumerate(sorted(set(sids) - set(recorded))):
            arrive(i, sid)
    calls = list(Call.objects.filter(call_sid__in=sids))
    assert len(calls) == 6, f"{len(calls)} calls recorded for 6 callers"
    attempts = list(CallAttempt.objects.filter(call__in=calls))
    rung = [a.volunteer_id for a in attempts]
    assert len(rung) == len(set(rung)), "a volunteer was rung for two calls at once"
    assert all(sum(a.call_id == c.pk for a in attempts) >= 2 for c in calls), (
        "a call rang fewer than two volunteers"
    )

    # Every leg of every call accepts at the same moment, from both nodes.
    def accept(n: int, attempt):
        return twilio(
            n % 2,
            f"/twilio/voice/accept?attempt={attempt.pk}",
            {"CallSid": attempt.leg_sid or f"CA{uuid.uuid4().hex}", "Digits": "1"},
        )[0].status

    with cf.ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(accept, range(len(attempts)), attempts))
    assert all(s == 200 for s in statuses), statuses
    for call in Call.objects.filter(call_sid__in=sids):
        won = CallAttempt.objects.filter(call=call, result=CallAttempt.Result.ACCEPTED)
        assert won.count() == 1, f"call {call.pk}: {won.count()} accepted legs"
        assert call.answered_by_id == won.get().volunteer_id, "the call names another volunteer"
    answered = list(Call.objects.filter(call_sid__in=sids).values_list("answered_by", flat=True))
    assert len(set(answered)) == 6, "one volunteer answered two calls"


@check("escalations advanced once each by two clusters, one killed mid-round")
def escalations_with_a_worker_killed():
    import datetime as dt

    from django.utils import timezone
    from django_q.tasks import async_task

    from hotline.crisis.escalations import escalation_raise
    from hotline.models import Call, Escalation, EscalationAlert, Message

    now = timezone.now()
    hotline = scene["hotline"]
    escalations = []
    for i in range(12):
        call = Call.objects.create(
            hotline=hotline, call_sid=f"CAesc{uuid.uuid4().hex}", arrived_at=now
        )
        escalations.append(
            escalation_raise(
                call=call,
                by=None,
                reason=f"cluster check {i}",
                now=now,
                source=Escalation.Source.REPORT,
                risk_level=4,
            )
        )
    ids = [e.pk for e in escalations]
    before = {e.pk: (e.tier, e.round) for e in Escalation.objects.filter(pk__in=ids)}
    Escalation.objects.filter(pk__in=ids).update(next_advance_at=now - dt.timedelta(minutes=1))
    for _ in range(8):
        async_task("hotline.tasks.escalations_advance")
    time.sleep(0.3)  # the first tasks are being worked on
    kill_tree(processes.pop("cluster0"))
    for _ in range(8):
        async_task("hotline.tasks.escalations_advance")
    start_cluster(0)
    for _ in range(4):
        async_task("hotline.tasks.escalations_advance")

    def moved() -> bool:
        return all((e.tier, e.round) != before[e.pk] for e in Escalation.objects.filter(pk__in=ids))

    wait_until(moved, 60, "every escalation moved on")
    for e in Escalation.objects.filter(pk__in=ids):
        b_tier, b_round = before[e.pk]
        one_step = (e.tier, e.round) in {(b_tier + 1, 1), (b_tier, b_round + 1)} or (
            e.tier > b_tier and e.round == 1
        )
        assert one_step, f"escalation {e.pk} moved from {before[e.pk]} to {(e.tier, e.round)}"
        assert e.next_advance_at > now, "advanced but not re-armed"
        tiers = set(EscalationAlert.objects.filter(escalation=e).values_list("tier", "round"))
        assert tiers <= {before[e.pk], (e.tier, e.round)}, f"alerts for skipped rounds: {tiers}"
    # Each alert's SMS queued once; none printed twice by the console backend.
    alerts = EscalationAlert.objects.filter(escalation_id__in=ids)
    keys = list(alerts.values_list("message__dedupe_key", flat=True))
    assert None not in keys and len(keys) == len(set(keys)), "an alert without its one SMS"
    # Delivered (or, for the one the killed cluster held, left in `sending` for the outbox's
    # recovery), and never printed more often than there are messages with that text: a
    # supervisor alerted in two tiers gets two messages with the same words.
    wait_until(
        lambda: not Message.objects.filter(dedupe_key__in=keys, status="queued").exists(),
        60,
        "every alert's SMS handed over",
    )
    lines = printed_sms()
    same_text: dict[tuple[str, str], int] = {}
    for to, body in Message.objects.filter(dedupe_key__in=keys).values_list("to", "body"):
        same_text[to, body] = same_text.get((to, body), 0) + 1
    for (to, body), count in same_text.items():
        printed = sum(line.endswith(body) and to in line for line in lines)
        assert printed <= count, f"{count} SMS to {to} printed {printed} times"


@check("drop offers claimed from both nodes at once")
def drops_claimed_from_both_nodes():
    import datetime as dt

    from scheduling.models import Assignment, Shift, SwapRequest
    from scheduling.swaps import swap_offer

    roster, people = scene["roster"], scene["counsellors"]
    offers = []
    for i in range(4):
        start_at = scene["shift"].ends_at + dt.timedelta(days=1 + i)
        shift = Shift.objects.create(
            roster=roster,
            starts_at=start_at,
            ends_at=start_at + dt.timedelta(hours=4),
            required_counsellors=1,
        )
        owner = people[i]
        # Set-up, as the test factories do: written directly, so the published roster has no
        # pending change to publish (and no change SMS to count) before the race under test.
        assignment = Assignment.objects.create(shift=shift, volunteer=owner, role="counsellor")
        offers.append(swap_offer(assignment=assignment, volunteer=owner, kind="drop"))
    tokens = {p.pk: api_token(i % 2, p.user.username) for i, p in enumerate(people[4:8])}

    def claim(args):
        node, volunteer, offer = args
        r, body = request(
            node,
            "POST",
            f"/api/v1/swaps/{offer.pk}/claim/",
            {},
            {"Authorization": f"Token {tokens[volunteer.pk]}"},
        )
        return r.status

    jobs = []
    for offer in offers:
        jobs += [
            (0, people[4 + (offer.pk % 2) * 2], offer),
            (1, people[5 + (offer.pk % 2) * 2], offer),
        ]
    with cf.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(claim, jobs))
    assert all(s in {200, 400, 409} for s in statuses), statuses
    for offer in offers:
        swap = SwapRequest.objects.get(pk=offer.pk)
        assert swap.claimant_id is not None, f"offer {swap.pk}: nobody holds it ({swap.status})"
        active = Assignment.objects.filter(shift=swap.assignment.shift, status="active")
        assert active.count() <= 1, f"offer {swap.pk}: {active.count()} volunteers on one seat"
    assert sum(s == 200 for s in statuses) == len(offers), f"one claim each wins: {statuses}"


def failures_of(username: str) -> int:
    from axes.models import AccessAttempt

    rows = AccessAttempt.objects.filter(username=username)
    return sum(rows.values_list("failures_since_start", flat=True))


@check("sign-in failures counted across nodes and addresses")
def login_failures_across_nodes():
    # LOGIN_FAILURE_LIMIT=5. Four failures against one account at the same moment, from four
    # addresses, on both nodes: each is counted, none lost. The fifth locks the account,
    # wherever and from wherever it comes; the right password is then refused (and counted).
    def fail(i: int) -> int:
        return login(i % 2, "counsellor15", "wrong-password", client=f"10.2.0.{i + 1}").status

    with cf.ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(fail, range(4)))
    assert statuses == [200] * 4, statuses
    assert failures_of("counsellor15") == 4, f"{failures_of('counsellor15')} failures for 4"
    r = login(0, "counsellor15", "wrong-password", client="10.2.0.5")
    assert r.status == 429, f"the fifth failure answered {r.status}"
    r = login(1, "counsellor15", PASSWORD, client="10.2.0.6")
    assert r.status == 429, f"the right password after 5 failures answered {r.status}"
    assert failures_of("counsellor15") == 6, f"{failures_of('counsellor15')} failures for 6"
    r = login(0, "counsellor14", PASSWORD, client="10.2.0.7")
    assert r.status == 302, f"another account is not locked: {r.status}"


@check("SMS outbox delivered once each by two clusters")
def sms_outbox_under_both_workers():
    from django.db import transaction
    from django_q.tasks import async_task

    from hotline.models import Message
    from hotline.sms.outbox import sms_send

    run = uuid.uuid4().hex[:8]
    keys = []
    with transaction.atomic():
        for i in range(60):
            key = f"cluster-{run}-{i}"
            sms_send(to=f"+86136{i:08d}", body=f"cluster {run} message {i}", dedupe_key=key)
            keys.append(key)
    sms_send(to="+8613600000000", body=f"cluster {run} message 0", dedupe_key=keys[0])
    for _ in range(4):
        async_task("hotline.tasks.sms_outbox_flush")
    wait_until(
        lambda: Message.objects.filter(dedupe_key__in=keys, status="sent").count() == 60,
        60,
        "all 60 messages sent",
    )
    assert Message.objects.filter(dedupe_key__in=keys).count() == 60
    lines = printed_sms()
    for i in range(60):
        printed = sum(line.endswith(f"cluster {run} message {i}") for line in lines)
        assert printed == 1, f"message {i} printed {printed} times"


# --- the run --------------------------------------------------------------------------------

scene: dict = {}


def main() -> int:
    def on_alarm(signum, frame):
        raise Timeout(f"the harness ran past {HARD_LIMIT} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(HARD_LIMIT)
    started = time.monotonic()
    created = False
    try:
        start(
            "redis",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(REDIS_PORT),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )
        wait_port(REDIS_PORT)
        psql(f'CREATE DATABASE "{DB}"')
        created = True
        subprocess.run(
            [PY, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=ENV,
            check=True,
            timeout=180,
        )
        os.environ.update(ENV)
        import django

        django.setup()
        scene.update(seed())
        for n in (0, 1):
            start_web(n)
            start_cluster(n)
        for port in WEB_PORTS:
            wait_port(port)
        for run in (
            calls_and_accepts,
            login_failures_across_nodes,
            drops_claimed_from_both_nodes,
            sms_outbox_under_both_workers,
            escalations_with_a_worker_killed,
        ):
            run()
    except Exception as exc:  # noqa: BLE001 - the set-up failing is one failure too
        results.append(("set-up", False, f"{type(exc).__name__}: {exc}"))
        traceback.print_exc()
    finally:
        signal.alarm(0)
        for name in sorted(processes, key=lambda n: n == "redis"):  # Redis last
            stop(name)
        if created:
            from django.db import connections

            connections.close_all()
            with contextlib.suppress(Exception):
                psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    failed = [r for r in results if not r[1]]
    for name, _ok, detail in failed:
        print(f"FAILED {name}: {detail}")
    print(f"logs: {LOGS}  ({time.monotonic() - started:.0f} s)")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
