"""Faults: Twilio failing for some recipients, a worker dying midway or between sending
and recording, lost enqueues, one broken escalation among many, and (on PostgreSQL) two
workers advancing the same escalation at once. Nothing lost, nothing doubled."""

import datetime as dt
from collections import Counter

import pytest

from hotline.crisis import escalations
from hotline.crisis.escalations import (
    EscalationConflict,
    escalation_acknowledge,
    escalation_advance,
    escalation_raise,
    escalations_advance_due,
)
from hotline.crisis.reports import report_create
from hotline.models import CallReport, Escalation, EscalationAlert, Message, alert_dedupe_key
from hotline.sms import backends
from hotline.sms import outbox as sms
from tests.support import factories as f
from tests.support.crisis import REPORT, answered_call, sms_to
from tests.support.twilio import NOW

WINDOW = dt.timedelta(minutes=5)


@pytest.fixture
def flaky(fake_twilio, settings):
    """SMS through the fake Twilio REST API (tests/support/twilio.py), failing per recipient."""
    settings.SMS_BACKEND = "twilio"
    return fake_twilio


@pytest.fixture
def chain(scene):
    scene.counsellor = scene.on_shift("counsellor")
    scene.sups = [scene.on_shift("supervisor", role="supervisor") for _i in range(3)]
    scene.off = [f.volunteer(roles=("supervisor",)) for _i in range(2)]
    scene.call = answered_call(scene.hotline, scene.counsellor, at=NOW)
    return scene


def raise_(chain):
    return escalation_raise(call=chain.call, by=chain.counsellor.user, reason="x", now=NOW)


def test_twilio_failing_for_some_recipients_never_halts_the_chain(
    chain, flaky, django_capture_on_commit_callbacks
):
    a, b, c = chain.sups
    flaky.sms_fail = {a.phone_number: 500, b.phone_number: "timeout"}
    with django_capture_on_commit_callbacks(execute=True):
        e = raise_(chain)
    status = dict(Message.objects.values_list("to", "status"))
    assert status == {a.phone_number: "queued", b.phone_number: "queued", c.phone_number: "sent"}
    assert flaky.accepted == [c.phone_number]
    # the chain moves on regardless of the failures
    with django_capture_on_commit_callbacks(execute=True):
        assert escalations_advance_due(now=NOW + WINDOW) == 1
    e.refresh_from_db()
    assert e.tier == 2
    # Twilio recovers; the outbox's retries deliver what failed, once
    flaky.sms_fail = {}
    sms.outbox_flush(now=NOW + dt.timedelta(minutes=30))
    sms.outbox_flush(now=NOW + dt.timedelta(minutes=60))
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
    assert Counter(flaky.accepted) == Counter(sms_to(e))  # each message handed over once
    assert Message.objects.get(to=a.phone_number, dedupe_key__contains=":t1:").attempts == 2


def test_worker_dies_midway_through_a_tier_then_reruns(chain, monkeypatch):
    e = raise_(chain)
    real = escalations.sms_send
    calls = []

    def dies_on_second(**kw):
        calls.append(kw["to"])
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(**kw)

    monkeypatch.setattr(escalations, "sms_send", dies_on_second)
    with pytest.raises(RuntimeError):
        escalation_advance(escalation_id=e.pk, now=NOW + WINDOW)
    e.refresh_from_db()
    assert (e.tier, e.round) == (1, 1)  # the whole step rolled back
    assert not EscalationAlert.objects.filter(escalation=e, tier=2).exists()
    assert not Message.objects.filter(dedupe_key__contains=":t2:").exists()
    monkeypatch.setattr(escalations, "sms_send", real)
    assert escalations_advance_due(now=NOW + WINDOW + dt.timedelta(minutes=1)) == 1
    tier2 = Message.objects.filter(dedupe_key__contains=":t2:")
    assert tier2.count() == len(chain.sups) + len(chain.off)
    assert len(set(tier2.values_list("to", flat=True))) == tier2.count()


def test_sent_but_not_recorded_is_not_sent_again(chain):
    e = raise_(chain)
    victim = chain.off[0]
    # a run that queued this SMS and died before recording its alert row
    sms.sms_send(
        to=victim.phone_number,
        body="earlier run",
        dedupe_key=alert_dedupe_key(e.pk, 2, 1, victim.pk),
    )
    escalation_advance(escalation_id=e.pk, now=NOW + WINDOW)
    assert Message.objects.filter(to=victim.phone_number).count() == 1
    alert = EscalationAlert.objects.get(escalation=e, tier=2, recipient=victim)
    assert alert.message.body == "earlier run"


def test_killed_while_opening_leaves_nothing_half_done(chain, monkeypatch):
    def boom(*a, **kw):
        raise RuntimeError("killed")

    monkeypatch.setattr(escalations, "_alert", boom)
    with pytest.raises(RuntimeError):
        report_create(call=chain.call, by=chain.counsellor.user, data=REPORT, now=NOW)
    assert not CallReport.objects.exists() and not Escalation.objects.exists()
    monkeypatch.undo()
    report = report_create(call=chain.call, by=chain.counsellor.user, data=REPORT, now=NOW)
    assert report.escalation.tier == 1 and len(sms_to(report.escalation)) == 3


def test_lost_enqueue_is_delivered_by_the_outbox_flush(
    chain, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*a, **kw):
        raise ConnectionError("broker down")

    monkeypatch.setattr("django_q.tasks.async_task", broker_down)
    backends.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        e = raise_(chain)
    assert backends.outbox == [] and Message.objects.filter(status="queued").count() == 3
    sms.outbox_flush(now=NOW + dt.timedelta(minutes=1))
    sms.outbox_flush(now=NOW + dt.timedelta(minutes=2))
    assert sorted(m["to"] for m in backends.outbox) == sorted(sms_to(e))


def test_one_broken_escalation_does_not_stop_the_others(chain, monkeypatch):
    first = raise_(chain)
    other_call = answered_call(chain.hotline, chain.counsellor, at=NOW)
    second = escalation_raise(call=other_call, by=chain.counsellor.user, reason="y", now=NOW)
    real = escalations.tier_recipients

    def broken_for_first(*, escalation, tier, at):
        if escalation.pk == first.pk:
            raise RuntimeError("bad data")
        return real(escalation=escalation, tier=tier, at=at)

    monkeypatch.setattr(escalations, "tier_recipients", broken_for_first)
    assert escalations_advance_due(now=NOW + WINDOW) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.tier, second.tier) == (1, 2)
    monkeypatch.setattr(escalations, "tier_recipients", real)
    assert escalations_advance_due(now=NOW + WINDOW + dt.timedelta(minutes=1)) == 1
    first.refresh_from_db()
    assert first.tier == 2


def test_same_advance_twice_in_a_row_moves_once(chain):
    e = raise_(chain)
    assert escalation_advance(escalation_id=e.pk, now=NOW + WINDOW) is True
    assert escalation_advance(escalation_id=e.pk, now=NOW + WINDOW) is False
    assert EscalationAlert.objects.filter(escalation=e, tier=2).count() == 5
    assert EscalationAlert.objects.filter(escalation=e, tier=3).count() == 0


# --- two workers at once (PostgreSQL: real row locks, two connections) ----------------------------


def _pg_scene():
    hotline = f.hotline()
    roster = f.roster(hotline_=hotline, status="published")
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8), required_supervisors=5)
    counsellor = f.volunteer()
    f.assignment(shift_=shift, volunteer_=counsellor)
    for _i in range(3):
        f.assignment(shift_=shift, volunteer_=f.volunteer(roles=("supervisor",)), role="supervisor")
    for _i in range(3):
        f.volunteer(roles=("supervisor",))
    call = answered_call(hotline, counsellor, at=NOW)
    return escalation_raise(call=call, by=counsellor.user, reason="x", now=NOW)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_advance_the_same_escalation_once():
    e = _pg_scene()
    later = NOW + WINDOW
    results = f.race([lambda: escalation_advance(escalation_id=e.pk, now=later)] * 2)
    assert sorted(results) == [False, True], results
    e.refresh_from_db()
    assert (e.tier, e.round) == (2, 1)
    keys = list(
        Message.objects.filter(dedupe_key__contains=":t2:").values_list("dedupe_key", flat=True)
    )
    assert len(keys) == 6 and len(set(keys)) == 6
    assert EscalationAlert.objects.filter(escalation=e, tier=2).count() == 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_schedule_runs_at_once_each_step_happens_once():
    e = _pg_scene()
    for minutes in (5, 10, 15):
        now = NOW + dt.timedelta(minutes=minutes)
        results = f.race([lambda now=now: escalations_advance_due(now=now)] * 4)
        assert sorted(results) == [0, 0, 0, 1], results
    e.refresh_from_db()
    assert (e.tier, e.round) == (3, 2)
    keys = list(Message.objects.values_list("dedupe_key", flat=True))
    assert len(keys) == len(set(keys))
    assert Counter(k.split(":")[2] for k in keys) == {
        "t1": 3,
        "t2": 6,
    }  # no coordinator has a phone


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_acknowledge_on_the_web_and_by_sms_at_once_one_wins():
    e = _pg_scene()
    a, b = (f.coordinator_user(), f.coordinator_user())

    def ack(user):
        try:
            escalation_acknowledge(escalation=Escalation.objects.get(pk=e.pk), by=user, now=NOW)
            return "won"
        except EscalationConflict:
            return "lost"

    results = f.race([lambda: ack(a), lambda: ack(b)])
    assert sorted(results) == ["lost", "won"], results
