"""Benchmark: simulated callers and volunteers against the real call routing, next to an
ideal router with the same people.

    .venv/bin/python bench/callers.py [--load 0.67] [--seed 1] [--minutes 30]
        [--counsellors 12] [--educators 4] [--supervisors 1] [--talk 120] [--answer 0.7]
        [--ring-min 3] [--ring-max 15] [--patience 120] [--patience-min 30] [--drop 0.3]
        [--dial-fail 0.02]
        [--family-share 0.25] [--ring-batch 3] [--database-url URL]

Everything runs in this process on a simulated clock (`django.utils.timezone.now` is
replaced, as the tests do; nothing sleeps). Callers arrive as a Poisson process; each is
signed and posted to the real webhooks through Django's test client (incoming, menu, the
hold loop — each round as long as its TwiML takes to play, at SPEECH_CHARS characters a
second —, voicemail), and hangs up if nobody took them within their patience
(`--patience-min` plus an exponential with mean `--patience`). Twilio's REST API is a fake transport that turns the
app's requests into events: a dialled leg rings; its volunteer answers with probability
`--answer` after a delay uniform in [ring-min, ring-max] s (no answer within the hotline's
ring time: `no-answer`), hears the whisper and presses 1; a conversation lasts an
exponential `--talk` seconds. Each leg status callback is lost with probability `--drop`,
a dial is refused with probability `--dial-fail`; the k-th ring of each phone draws these
from its own stream (seed, phone, k), so two versions of the routing meet the same phones; a cancel on an answered leg is ignored,
as Twilio does. The worker's `calls-sweep` runs every simulated minute.

The offered load is `--load` × the volunteers on shift (counsellors + family-education
experts), in Erlangs: callers arrive every talk / (load × volunteers) seconds on average.

The ideal router sees the same callers (arrival, service, patience, talk time): each is
connected, the moment one is free, to the first eligible free volunteer (their role, then
the supervisors) who would answer, after that volunteer's ring delay; callers wait in
arrival order until their patience runs out. The routing is judged by the ratio of the two
answered shares.

Prints: calls, share answered (within 30 s and 60 s), wait median and p90 of answered
calls, share to voicemail by reason, abandoned, double offers (a volunteer dialled while
their phone was on another leg: must be 0), and the ideal router's answered share.
"""

from __future__ import annotations

import argparse
import heapq
import html
import itertools
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOTLINE = "+8637520000077"
START_HOUR = 9  # the shift starts at 08:00; the simulation at 09:00
PRESS = 3  # seconds from answering to pressing 1 (the whisper): for both routers
# Twilio reads a <Say> at about this many characters a second, and asks for the next TwiML
# about this long after the last one ended: the hold loop's rounds take as long as their TwiML.
SPEECH_CHARS = 14
TWIML_GAP = 0.5


def twiml_seconds(body: str) -> float:
    """How long Twilio takes to play a TwiML answer with no key pressed: its <Say> texts,
    <Gather> timeouts and <Pause> lengths."""
    says = re.findall(r"<Say[^>]*>([^<]*)</Say>", body)
    seconds = sum(len(html.unescape(text)) / SPEECH_CHARS for text in says)
    seconds += sum(int(x) for x in re.findall(r'<Gather[^>]*timeout="(\d+)"', body))
    seconds += sum(int(x) for x in re.findall(r'<Pause[^>]*length="(\d+)"', body))
    return max(1.0, seconds) + TWIML_GAP


# --- the callers, the same for both routers -------------------------------------------------


@dataclass
class Caller:
    n: int
    arrives: float
    family: bool
    patience: float
    talk: float
    sid: str = ""
    pk: int | None = None
    state: str = "new"  # new, waiting, talking, voicemail, gone
    reason: str = ""


def make_callers(opts, rng: random.Random) -> list[Caller]:
    staff = opts.counsellors + opts.educators
    rate = opts.load * staff / opts.talk  # arrivals per second
    t, n, out = 0.0, 0, []
    while True:
        t += rng.expovariate(rate)
        if t > opts.minutes * 60:
            return out
        n += 1
        out.append(
            Caller(
                n=n,
                arrives=t,
                family=rng.random() < opts.family_share,
                patience=opts.patience_min + rng.expovariate(1 / opts.patience),
                talk=rng.expovariate(1 / opts.talk),
                sid=f"CA{n:032d}",
            )
        )


# --- the ideal router -----------------------------------------------------------------------


def ideal(opts, callers: list[Caller], seed: int) -> tuple[int, list[float]]:
    """Answered count and waits: each caller goes, as soon as one is free, to the first
    eligible free volunteer who would answer (role first, then supervisors)."""
    rng = random.Random(seed * 7919 + 1)
    free_at = {
        "counsellor": [0.0] * opts.counsellors,
        "family_educator": [0.0] * opts.educators,
        "supervisor": [0.0] * opts.supervisors,
    }
    answered, waits = 0, []
    for c in sorted(callers, key=lambda c: c.arrives):
        ready = c.arrives + 1  # after the menu
        role = "family_educator" if c.family else "counsellor"
        best = None
        for pool in (role, "supervisor"):
            for i, t in enumerate(free_at[pool]):
                if rng.random() >= opts.answer:
                    continue  # would not answer this one: an ideal router does not ring them
                connect = max(t, ready) + rng.uniform(opts.ring_min, opts.ring_max) + PRESS
                if best is None or connect < best[0]:
                    best = (connect, pool, i)
        if best is None:
            continue
        connect, pool, i = best
        if connect - c.arrives > c.patience:
            continue
        answered += 1
        waits.append(connect - c.arrives)
        free_at[pool][i] = connect + c.talk
    return answered, waits


# --- the real router, driven through its webhooks -------------------------------------------


@dataclass(order=True)
class Event:
    at: float
    seq: int
    kind: str = field(compare=False)
    data: dict = field(compare=False, default_factory=dict)


@dataclass
class Leg:
    sid: str
    phone: str
    offer_url: str
    status_url: str
    timeout: int
    status: str = "ringing"  # ringing, in-progress, ended
    final: str = ""  # its final status, once ended
    caller: Caller | None = None
    dial_action: str = ""
    rng: random.Random | None = None  # this ring's own draws (Sim.dial)


class Sim:
    def __init__(self, opts, callers, seed):
        self.opts = opts
        self.callers = {c.sid: c for c in callers}
        self.by_pk: dict[int, Caller] = {}
        self.seed = seed
        self.rings: dict[str, int] = {}  # phone → how often it was dialled
        self.events: list[Event] = []
        self.seq = itertools.count()
        self.now = 0.0
        self.legs: dict[str, Leg] = {}
        self.phone_leg: dict[str, str] = {}  # phone → its live leg
        self.double_offers = 0
        self.reads = 0  # GET /Calls/<sid>: a call's status read from Twilio
        self.requests = 0
        self.sid_seq = itertools.count(1)
        for c in callers:
            self.at(c.arrives, "arrive", caller=c)
        for minute in range(1, int(opts.minutes) + 30):
            self.at(minute * 60.0, "sweep")

    def at(self, t, kind, **data):
        heapq.heappush(self.events, Event(t, next(self.seq), kind, data))

    # the fake REST transport calls these
    def dial(self, data) -> str | None:
        # The k-th ring of a volunteer's phone draws from its own stream, (seed, phone, k):
        # whether it is refused, answered and when, and which of its callbacks are lost are
        # the same for any router that rings that phone k times — two versions of the
        # routing are compared on the same phones, not on reshuffled luck.
        phone = data["To"]
        self.rings[phone] = k = self.rings.get(phone, 0) + 1
        rng = random.Random(f"{self.seed}:{phone}:{k}")
        if rng.random() < self.opts.dial_fail:
            return None
        sid = f"CA{next(self.sid_seq) + 10**9:032d}"
        leg = Leg(
            sid, phone, data["Url"], data["StatusCallback"], int(data.get("Timeout", 20)), rng=rng
        )
        self.legs[sid] = leg
        if leg.phone in self.phone_leg:
            self.double_offers += 1
            self.at(self.now + 0.5, "leg_final", sid=sid, status="busy")
            return sid
        self.phone_leg[leg.phone] = sid
        self.at(self.now + 1, "leg_status", sid=sid, status="ringing")
        if rng.random() < self.opts.answer:
            delay = rng.uniform(self.opts.ring_min, self.opts.ring_max)
            if delay < leg.timeout:
                self.at(self.now + delay, "leg_answer", sid=sid)
                return sid
        self.at(self.now + leg.timeout, "leg_final", sid=sid, status="no-answer")
        return sid

    def status_of(self, sid) -> str:
        """What Twilio's REST API reads for a call now (a GET of the call)."""
        leg = self.legs.get(sid)
        if leg is not None:
            return leg.final if leg.status == "ended" else leg.status
        caller = self.callers.get(sid)
        if caller is None:
            return ""
        return "completed" if caller.state == "gone" else "in-progress"

    def update(self, sid, data):
        if "Url" in data:
            self.at(self.now + 0.2, "redirect", sid=sid, url=data["Url"])
            return
        leg = self.legs.get(sid)
        if leg is None or leg.status == "ended":
            return
        status = data.get("Status")
        if status == "canceled" and leg.status == "ringing":
            self.at(self.now + 0.3, "leg_final", sid=sid, status="canceled")
        elif status == "completed":
            self.at(self.now + 0.3, "leg_final", sid=sid, status="completed")
        # A cancel on an answered leg is ignored, as Twilio does.

    # posting to the app
    def post(self, url, data):
        parts = urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        self.requests += 1
        full = "http://testserver" + path
        sig = self.validator.compute_signature(full, data)
        r = self.client.post(
            path,
            urlencode(data),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=sig,
        )
        return r.content.decode()

    def caller_data(self, c, **kw):
        return {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": c.sid,
            "From": f"+86139{c.n:08d}",
            "To": HOTLINE,
            "Direction": "inbound",
            "CallStatus": "in-progress",
            **kw,
        }

    def leg_data(self, leg, **kw):
        return {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": leg.sid,
            "From": HOTLINE,
            "To": leg.phone,
            "Direction": "outbound-api",
            **kw,
        }

    def drop(self, leg) -> bool:
        return leg.rng.random() < self.opts.drop

    def run(self):
        handlers = {
            "arrive": self.on_arrive,
            "menu": self.on_menu,
            "hold": self.on_hold,
            "patience": self.on_patience,
            "redirect": self.on_redirect,
            "leg_status": self.on_leg_status,
            "leg_answer": self.on_leg_answer,
            "press": self.on_press,
            "leg_final": self.on_leg_final,
            "talk_end": self.on_talk_end,
            "vm_end": self.on_vm_end,
            "sweep": self.on_sweep,
        }
        horizon = self.opts.minutes * 60 + 3600
        while self.events:
            event = heapq.heappop(self.events)
            if event.at > horizon:
                break
            self.now = event.at
            self.clock.now = self.base + self.dt.timedelta(seconds=event.at)
            handlers[event.kind](**event.data)

    def on_arrive(self, caller):
        self.post("/twilio/voice/incoming", self.caller_data(caller, CallStatus="ringing"))
        self.at(self.now + 1, "menu", caller=caller)

    def on_menu(self, caller):
        body = self.post(
            "/twilio/voice/menu", self.caller_data(caller, Digits="2" if caller.family else "1")
        )
        call = self.Call.objects.get(call_sid=caller.sid)
        caller.pk = call.pk
        self.by_pk[call.pk] = caller
        if "<Enqueue" in body:
            if caller.state == "new":
                caller.state = "waiting"
                # Twilio asks for the hold words once the menu's words are read.
                self.at(self.now + twiml_seconds(body), "hold", caller=caller)
                self.at(caller.arrives + caller.patience, "patience", caller=caller)
        else:
            self.voicemail(caller)

    def on_hold(self, caller):
        if caller.state != "waiting":
            return
        body = self.post(f"/twilio/voice/hold?call={caller.pk}", self.caller_data(caller))
        if "<Leave" in body and caller.state == "waiting":
            self.post(
                f"/twilio/voice/queue-done?call={caller.pk}",
                self.caller_data(caller, QueueResult="leave"),
            )
            self.voicemail(caller)
            return
        self.at(self.now + twiml_seconds(body), "hold", caller=caller)

    def voicemail(self, caller):
        caller.state = "voicemail"
        self.at(self.now + 30, "vm_end", caller=caller)

    def on_vm_end(self, caller):
        self.hang_up(caller)

    def hang_up(self, caller):
        if caller.state == "gone":
            return
        caller.state = "gone"
        self.post(
            "/twilio/voice/status",
            self.caller_data(caller, CallStatus="completed", CallDuration="60"),
        )

    def on_patience(self, caller):
        if caller.state == "waiting":
            self.hang_up(caller)

    def on_redirect(self, sid, url):
        caller = self.callers.get(sid)
        if caller is not None and caller.state == "waiting":
            self.post(url, self.caller_data(caller))
            self.voicemail(caller)

    def on_leg_status(self, sid, status):
        leg = self.legs[sid]
        if leg.status == "ended" or self.drop(leg):
            return
        self.post(leg.status_url, self.leg_data(leg, CallStatus=status))

    def on_leg_answer(self, sid):
        leg = self.legs[sid]
        if leg.status != "ringing":
            return
        leg.status = "in-progress"
        self.at(self.now, "leg_status", sid=sid, status="in-progress")
        body = self.post(leg.offer_url, self.leg_data(leg, CallStatus="in-progress"))
        self.whisper(leg, body)

    def whisper(self, leg, body):
        accept = re.search(r'action="([^"]*voice/accept[^"]*)"', body)
        if accept:
            self.at(
                self.now + PRESS, "press", sid=leg.sid, url=accept.group(1).replace("&amp;", "&")
            )
        else:  # "taken": the whisper hangs up
            self.at(self.now + 2, "leg_final", sid=leg.sid, status="completed")

    def on_press(self, sid, url):
        leg = self.legs[sid]
        if leg.status != "in-progress":
            return
        body = self.post(url, self.leg_data(leg, CallStatus="in-progress", Digits="1"))
        queue = re.search(r">call-(\d+)</Conference>", body)
        if queue:
            caller = self.by_pk.get(int(queue.group(1)))
            if caller is not None and caller.state == "waiting":
                caller.state = "talking"
                leg.caller = caller
                done = re.search(r'<Dial [^>]*action="([^"]*)"', body)
                leg.dial_action = done.group(1).replace("&amp;", "&") if done else ""
                self.at(self.now + caller.talk, "talk_end", sid=sid)
                return
            self.at(self.now + 1, "leg_final", sid=sid, status="completed")
            return
        if "voice/accept" in body:  # offered another caller on the same leg
            self.whisper(leg, body)
            return
        self.at(self.now + 1, "leg_final", sid=sid, status="completed")

    def on_talk_end(self, sid):
        leg = self.legs[sid]
        self.hang_up(leg.caller)
        if leg.dial_action:
            # The conference ended with the caller: Twilio asks the volunteer's <Dial>
            # action for what next (a TwiML request, not a status callback).
            body = self.post(leg.dial_action, self.leg_data(leg, DialCallStatus="completed"))
            assert "<Hangup" in body, body
        self.at(self.now, "leg_final", sid=sid, status="completed")

    def on_leg_final(self, sid, status):
        leg = self.legs[sid]
        if leg.status == "ended":
            return
        leg.status = "ended"
        leg.final = status
        if self.phone_leg.get(leg.phone) == sid:
            del self.phone_leg[leg.phone]
        if not self.drop(leg):
            self.post(leg.status_url, self.leg_data(leg, CallStatus=status))

    def on_sweep(self):
        self.calls_sweep()


def setup_django(database_url: str):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed_people(opts, base):
    from django.contrib.auth.models import User

    from hotline.models import Call, Hotline, Volunteer
    from scheduling.models import Assignment, Roster, Shift

    Call.objects.all().delete()
    Hotline.objects.filter(phone_number=HOTLINE).delete()
    hotline = Hotline.objects.create(
        name="Bench callers",
        phone_number=HOTLINE,
        language="en",
        emergency_numbers="120",
        ring_batch_size=opts.ring_batch,
    )
    roster = Roster.objects.create(
        hotline=hotline,
        first_day=base.date(),
        last_day=base.date(),
        status=Roster.Status.PUBLISHED,
    )
    shift = Shift.objects.create(
        roster=roster,
        starts_at=base.replace(hour=8),
        ends_at=base.replace(hour=23),
        required_counsellors=opts.counsellors,
        required_family_educators=opts.educators,
        required_supervisors=opts.supervisors,
    )
    n = 0
    for role, count in (
        ("counsellor", opts.counsellors),
        ("family_educator", opts.educators),
        ("supervisor", opts.supervisors),
    ):
        for _ in range(count):
            n += 1
            user = User.objects.create(username=f"bench-caller-{n}")
            v = Volunteer(
                user=user,
                display_name=f"V{n}",
                phone_number=f"+86138{n:08d}",
                max_shifts_per_week=5,
                language="en",
            )
            v.set_roles([role])
            v.save()
            Assignment.objects.create(shift=shift, volunteer=v, role=role)
    return hotline


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--load", type=float, default=0.67, help="offered Erlangs per volunteer")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--counsellors", type=int, default=12)
    p.add_argument("--educators", type=int, default=4)
    p.add_argument("--supervisors", type=int, default=1)
    p.add_argument("--talk", type=float, default=120, help="mean talk time, s")
    p.add_argument("--answer", type=float, default=0.7)
    p.add_argument("--ring-min", type=float, default=3)
    p.add_argument("--ring-max", type=float, default=15)
    p.add_argument(
        "--patience", type=float, default=120, help="mean patience beyond the minimum, s"
    )
    p.add_argument("--patience-min", type=float, default=30, help="nobody hangs up sooner, s")
    p.add_argument("--drop", type=float, default=0.3, help="share of leg callbacks lost")
    p.add_argument("--dial-fail", type=float, default=0.02)
    p.add_argument("--family-share", type=float, default=0.25)
    p.add_argument(
        "--ring-batch", type=int, default=3, help="the hotline's ring_batch_size (default 3)"
    )
    p.add_argument("--database-url", default="")
    p.add_argument(
        "--why",
        action="store_true",
        help="where callers answered after 30 s (or not at all) waited: before the first"
        " phone, with phones ringing, with none ringing; the phones that rang in vain; how"
        " often, before their first phone, one of their service rang as another caller's"
        " second or later phone",
    )
    opts = p.parse_args(argv)

    setup_django(opts.database_url)
    import datetime as dt
    import json
    import logging

    from django.conf import settings
    from django.test import Client
    from twilio.http import HttpClient
    from twilio.http.response import Response
    from twilio.request_validator import RequestValidator

    from hotline.calls.services import calls_sweep
    from hotline.models import Call
    from hotline.telephony import client as twilio_api

    logging.disable(logging.WARNING)
    base = dt.datetime(2026, 3, 2, START_HOUR, tzinfo=dt.UTC)

    class Clock:
        now = base

        def __call__(self):
            return self.now

    clock = Clock()
    import django.utils.timezone

    django.utils.timezone.now = clock
    hotline = seed_people(opts, base)
    opts.ring_time = hotline.ring_timeout
    opts.max_queue = hotline.max_queue_seconds

    rng = random.Random(opts.seed)
    callers = make_callers(opts, rng)
    sim = Sim(opts, callers, opts.seed)

    class Transport(HttpClient):
        def __init__(self):
            super().__init__(logger=logging.getLogger("bench"), is_async=False)

        def request(self, method, uri, params=None, data=None, headers=None, **kw):
            data = dict(data or {})
            if uri.endswith("/Calls.json"):
                sid = sim.dial(data)
                if sid is None:
                    return Response(500, json.dumps({"code": 20500, "message": "down"}))
                return Response(201, json.dumps({"sid": sid, "status": "queued"}))
            if "/Calls/" in uri and method == "GET":
                sim.reads += 1
                sid = uri.rsplit("/", 1)[-1].removesuffix(".json")
                return Response(200, json.dumps({"sid": sid, "status": sim.status_of(sid)}))
            if "/Calls/" in uri:
                sim.update(uri.rsplit("/", 1)[-1].removesuffix(".json"), data)
                return Response(200, json.dumps({"sid": "x", "status": data.get("Status", "")}))
            return Response(201, json.dumps({"sid": "SM" + "0" * 32, "status": "queued"}))

    twilio_api.http_client = Transport()
    sim.client = Client()
    sim.validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    sim.clock, sim.base, sim.dt, sim.Call = clock, base, dt, Call
    sim.calls_sweep = calls_sweep
    started = time.perf_counter()
    sim.run()
    elapsed = time.perf_counter() - started

    rows = list(
        Call.objects.filter(hotline=hotline).values(
            "arrived_at", "answered_at", "outcome", "voicemail_reason", "state"
        )
    )
    total = len(rows)
    waits = [(r["answered_at"] - r["arrived_at"]).total_seconds() for r in rows if r["answered_at"]]
    reasons: dict[str, int] = {}
    for r in rows:
        if r["voicemail_reason"]:
            reasons[r["voicemail_reason"]] = reasons.get(r["voicemail_reason"], 0) + 1
    abandoned = sum(1 for r in rows if r["outcome"] == Call.Outcome.ABANDONED)
    ideal_answered, ideal_waits = ideal(opts, callers, opts.seed)

    def share(n):
        return 100.0 * n / total if total else float("nan")

    staff = opts.counsellors + opts.educators
    print(
        f"callers.py load={opts.load} ({opts.load * staff:.1f} Erlangs on {staff} volunteers"
        f" + {opts.supervisors} supervisor) seed={opts.seed} minutes={opts.minutes:g}"
        f" answer={opts.answer} drop={opts.drop} dial-fail={opts.dial_fail} ring-batch={opts.ring_batch}"
    )
    print(f"  calls                    {total}")
    print(f"  answered                 {share(len(waits)):.1f}%")
    print(f"  answered within 30 s     {share(sum(1 for w in waits if w <= 30)):.1f}%")
    print(f"  answered within 60 s     {share(sum(1 for w in waits if w <= 60)):.1f}%")
    print(
        f"  wait median / p90        {statistics.median(waits) if waits else float('nan'):.0f} s"
        f" / {percentile(waits, 0.9):.0f} s"
    )
    for reason in sorted(reasons):
        print(f"  voicemail {reason:<16} {share(reasons[reason]):.1f}%")
    print(f"  abandoned                {share(abandoned):.1f}%")
    print(f"  double offers            {sim.double_offers}")
    print(
        f"  ideal router answered    {share(ideal_answered):.1f}%"
        f" (within 30 s {share(sum(1 for w in ideal_waits if w <= 30)):.1f}%)"
    )
    ratio = len(waits) / ideal_answered if ideal_answered else float("nan")
    print(
        f"  routing / ideal          {ratio:.3f}"
        f" ({share(len(waits)) - share(ideal_answered):+.1f} points)"
    )
    print(f"  webhooks posted          {sim.requests} in {elapsed:.1f} s")
    print(f"  calls read from Twilio   {sim.reads} (phones rung {sum(sim.rings.values())})")
    if opts.why:
        why(hotline, Call, base)


def why(hotline, Call, base):
    """Where the slow callers' time went, from the Call and CallAttempt rows."""
    import datetime as dt

    from hotline.models import CATEGORY_ROLE, CallAttempt, Category

    def service_role(call):
        return CATEGORY_ROLE[Category(call.category or Category.PSYCHOLOGICAL)]

    calls = {
        c.pk: c
        for c in Call.objects.filter(hotline=hotline).exclude(arrived_at=None).order_by("pk")
    }
    attempts: dict[int, list] = {pk: [] for pk in calls}
    for a in CallAttempt.objects.filter(call__hotline=hotline).order_by("offered_at", "pk"):
        attempts[a.call_id].append(a)
    rows = {"fast": [], "slow": [], "lost": []}
    vain = {"no-answer": 0, "busy": 0, "failed": 0, "declined": 0, "cancelled": 0, "late": 0}
    vain_seconds = 0.0
    supervisor_rings = 0
    # Per role, every phone that rang: (call, from, to, that call's phones as (role, from, to)).
    ringing_for: dict[str, list] = {}
    for pk, c in calls.items():
        end = c.answered_at or c.ended_at
        if end is None:
            continue
        wait = (end - c.arrived_at).total_seconds()
        first, phones = None, []
        for a in attempts[pk]:
            stop = a.ended_at or end
            if a.result == CallAttempt.Result.ACCEPTED:
                stop = c.answered_at or stop
            role = "supervisor" if a.tier == Call.Tier.SUPERVISORS else service_role(c)
            phones.append((role, a.offered_at, min(stop, end)))
            first = first or a.offered_at
            if a.tier == Call.Tier.SUPERVISORS:
                supervisor_rings += 1
            if a.result in vain:
                vain[a.result] += 1
                vain_seconds += (stop - a.offered_at).total_seconds()
        ringing, cursor = 0.0, None
        for s0, s1 in sorted((s0, s1) for _role, s0, s1 in phones):
            s0 = max(s0, cursor) if cursor else s0
            if s1 > s0:
                ringing += (s1 - s0).total_seconds()
                cursor = s1
        for role, s0, s1 in phones:
            ringing_for.setdefault(role, []).append((pk, s0, s1, phones))
        before = ((first or end) - c.arrived_at).total_seconds()
        kind = "lost" if not c.answered_at else ("fast" if wait <= 30 else "slow")
        rows[kind].append(
            (
                c,
                wait,
                before,
                ringing,
                max(0.0, wait - before - ringing),
                len(attempts[pk]),
                sum(a.result != CallAttempt.Result.ACCEPTED for a in attempts[pk]),
            )
        )
    print(
        "  why: per caller, seconds from arrival to the first phone, with phones ringing,"
        " waiting with none ringing; phones rung (in vain)"
    )
    for kind, label in (("fast", "≤ 30 s"), ("slow", "> 30 s"), ("lost", "not answered")):
        group = rows[kind]
        if not group:
            continue

        def mean(i, group=group):
            return statistics.mean(r[i] for r in group)

        family = sum(1 for r in group if r[0].category == "family_education")
        print(
            f"    {label:<13} {len(group):>3} callers ({family} family): first phone"
            f" {mean(2):.1f} s, ringing {mean(3):.1f} s, none ringing {mean(4):.1f} s;"
            f" phones {mean(5):.1f} ({mean(6):.1f} in vain)"
        )
    for c, wait, before, ringing, idle, n, lost in rows["slow"] + rows["lost"]:
        minute = (c.arrived_at - base).total_seconds() / 60
        print(
            f"      call {c.pk:>3} at {minute:5.1f} min {c.category[:6]:<6} wait {wait:5.1f}:"
            f" first {before:4.1f} ringing {ringing:5.1f} none {idle:5.1f}; phones {n} ({lost})"
        )
    # While a slow caller waited for their first phone: how many phones of their service
    # rang for another caller as that caller's second or later phone (one a router could
    # have moved to the caller with none).
    samples, with_extra, extras = 0, 0, 0
    for c, _wait, before, *_ in rows["slow"] + rows["lost"]:
        role = service_role(c)
        for second in range(1, int(before)):
            t = c.arrived_at + dt.timedelta(seconds=second)
            n = 0
            for pk, s0, s1, phones in ringing_for.get(role, []):
                if pk == c.pk or not s0 <= t < s1:
                    continue
                # Another phone of that caller was ringing since before this one: an extra.
                if any(o0 < s0 and o0 <= t < o1 for _r, o0, o1 in phones):
                    n += 1
            samples += 1
            with_extra += n > 0
            extras += n
    if samples:
        print(
            f"    slow callers before their first phone ({samples} s in all): a phone of their"
            f" service rang as another caller's second or later phone {with_extra / samples:.0%}"
            f" of that time ({extras / samples:.1f} such phones on average)"
        )
    answered = sum(1 for c in calls.values() if c.answered_at)
    print(
        f"    phones rung in vain: {vain} ({vain_seconds:.0f} volunteer-seconds);"
        f" supervisor rings per answered call {supervisor_rings / max(1, answered):.2f}"
    )


if __name__ == "__main__":
    main()
