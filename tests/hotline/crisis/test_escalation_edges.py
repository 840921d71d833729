"""Escalation edges a mutation check found untested (issue 19): raising again on an
acknowledged escalation, resolving one someone else acknowledged, and each half of the
double guard against two workers advancing one escalation. Each test names the mutation of
hotline/crisis/escalations.py it was checked against (made by hand, test seen failing,
code reverted)."""

import datetime as dt

import pytest
from django.db import connection
from rest_framework.test import APIClient

from hotline.crisis import escalations
from hotline.crisis.escalations import (
    escalation_acknowledge,
    escalation_advance,
    escalation_raise,
    escalation_resolve,
)
from hotline.crisis.reports import report_create, report_update
from hotline.models import AuditLog, Escalation, EscalationAlert
from tests.support import factories as f
from tests.support.crisis import REPORT, answered_call
from tests.support.locks import busy_db  # noqa: F401 - the fixture
from tests.support.twilio import NOW

WINDOW = dt.timedelta(minutes=5)


@pytest.fixture
def chain(scene):
    scene.counsellor = scene.on_shift("counsellor", display_name="Li Na")
    scene.sup = scene.on_shift("supervisor", role="supervisor", display_name="Zhao")
    scene.sup2 = f.volunteer(roles=("supervisor",), display_name="Off duty")
    scene.call = answered_call(scene.hotline, scene.counsellor, at=NOW, shift=scene.shift)
    return scene


def raise_(chain, at=NOW):
    return escalation_raise(call=chain.call, by=chain.counsellor.user, reason="plan", now=at)


# --- raising again on an acknowledged escalation joins it ---------------------------------------


def test_raising_by_hand_on_an_acknowledged_escalation_joins_it(chain):
    """Mutation: `LIVE = (OPEN,)` — the second raise tries to open another escalation, which
    the database refuses (one live escalation per call), and it errors."""
    e = raise_(chain)
    escalation_acknowledge(escalation=e, by=chain.sup.user, now=NOW + dt.timedelta(minutes=1))
    alerts = EscalationAlert.objects.count()
    again = raise_(chain, at=NOW + dt.timedelta(minutes=2))
    assert again.pk == e.pk
    assert again.status == Escalation.Status.ACKNOWLEDGED
    assert again.acknowledged_by == chain.sup.user
    assert Escalation.objects.count() == 1
    assert EscalationAlert.objects.count() == alerts  # nobody alerted again
    assert AuditLog.objects.filter(action="escalation.join").count() == 1


def test_a_second_high_risk_report_on_an_acknowledged_escalation_joins_it(chain):
    """A report at risk 3 opens the chain; a supervisor takes it; the author raises the risk
    to 4: the report joins the acknowledged escalation, no new chain, no error."""
    report = report_create(call=chain.call, by=chain.counsellor.user, data=REPORT, now=NOW)
    e = report.escalation
    escalation_acknowledge(escalation=e, by=chain.sup.user, now=NOW + dt.timedelta(minutes=1))
    report = report_update(
        report=report,
        by=chain.counsellor.user,
        data={"risk_level": 4},
        now=NOW + dt.timedelta(minutes=3),
    )
    assert report.escalation.pk == e.pk
    e.refresh_from_db()
    assert e.status == Escalation.Status.ACKNOWLEDGED and e.report == report
    assert Escalation.objects.count() == 1


def test_api_raise_on_an_acknowledged_escalation_answers_the_same_one(chain, clock):
    e = raise_(chain)
    escalation_acknowledge(escalation=e, by=chain.sup.user, now=NOW)
    api = APIClient()
    api.force_authenticate(chain.counsellor.user)
    r = api.post("/api/v1/escalations/", {"call": chain.call.pk, "reason": "again"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["id"] == e.pk and r.json()["status"] == "acknowledged"


# --- resolving keeps who acknowledged ---------------------------------------------------------


def test_resolving_keeps_the_original_acknowledger_time_and_channel(chain):
    """Mutation: the `was_open` update filtered on `status__in=LIVE` instead of OPEN
    overwrites the acknowledger with the resolver."""
    e = raise_(chain)
    acked_at = NOW + dt.timedelta(minutes=2)
    escalation_acknowledge(
        escalation=e, by=chain.sup.user, now=acked_at, channel=Escalation.Channel.SMS
    )
    coordinator = f.coordinator_user()
    escalation_resolve(
        escalation=e,
        by=coordinator,
        outcome="referred",
        now=NOW + dt.timedelta(hours=1),
        channel=Escalation.Channel.WEB,
    )
    e.refresh_from_db()
    assert e.status == Escalation.Status.RESOLVED and e.resolved_by == coordinator
    assert (e.acknowledged_by, e.acknowledged_at, e.ack_channel) == (
        chain.sup.user,
        acked_at,
        Escalation.Channel.SMS,
    )
    resolve_audit = AuditLog.objects.get(action="escalation.resolve")
    assert resolve_audit.detail["was_open"] is False


def test_api_resolve_shows_who_acknowledged(chain, clock):
    e = raise_(chain)
    escalation_acknowledge(escalation=e, by=chain.sup.user, now=NOW, channel=Escalation.Channel.SMS)
    api = APIClient()
    api.force_authenticate(f.coordinator_user(username="chen"))
    r = api.post(f"/api/v1/escalations/{e.pk}/resolve/", {"outcome": "referred"}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["acknowledged_by"] == chain.sup.user.username
    assert body["ack_channel"] == "sms" and body["resolved_by"] == "chen"


# --- the double guard, each half on its own ---------------------------------------------------


def _two_workers_one_inside_the_other(monkeypatch, e, now):
    """Worker A has read the row and is working out who to alert when worker B advances the
    same escalation and commits. Returns (B moved it, A moved it)."""
    real = escalations.tier_recipients
    seen = {"b": None}

    def recipients_while_b_runs(**kw):
        if seen["b"] is None:
            seen["b"] = False
            seen["b"] = escalation_advance(escalation_id=e.pk, now=now)
        return real(**kw)

    monkeypatch.setattr(escalations, "tier_recipients", recipients_while_b_runs)
    a = escalation_advance(escalation_id=e.pk, now=now)
    monkeypatch.setattr(escalations, "tier_recipients", real)
    return seen["b"], a


def _steps():
    details = AuditLog.objects.filter(action="escalation.alert").values_list("detail", flat=True)
    return sorted((d["tier"], d["round"]) for d in details)


def test_the_conditional_claim_alone_stops_a_second_worker(chain, monkeypatch):
    """A's claim on (id, tier, round) changes nothing once B has moved the escalation: A
    reports it did not move it, and no step happens twice. Runs on SQLite, where no row
    lock exists, so only the claim guards. Mutation: dropping `tier=from_tier` (or both
    tier and round) from the claim lets A step it too."""
    e = raise_(chain)
    assert _two_workers_one_inside_the_other(monkeypatch, e, NOW + WINDOW) == (True, False)
    e.refresh_from_db()
    assert (e.tier, e.round) == (2, 1)
    assert _steps() == [(1, 1), (2, 1)]


def test_the_conditional_claim_alone_stops_a_second_worker_on_the_last_tier(chain, monkeypatch):
    """On the last tier only the round changes from one step to the next. Mutation: dropping
    `round=from_round` from the claim lets A repeat the round B just sent."""
    e = raise_(chain)
    assert escalation_advance(escalation_id=e.pk, now=NOW + WINDOW) is True
    assert escalation_advance(escalation_id=e.pk, now=NOW + 2 * WINDOW) is True
    e.refresh_from_db()
    assert (e.tier, e.round) == (3, 1)
    assert _two_workers_one_inside_the_other(monkeypatch, e, NOW + 3 * WINDOW) == (True, False)
    e.refresh_from_db()
    assert (e.tier, e.round) == (3, 2)
    assert _steps() == [(1, 1), (2, 1), (3, 1), (3, 2)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_row_lock_alone_makes_a_second_worker_skip(busy_db):  # noqa: F811
    """Another worker holds the escalation's row (it is mid-step): this worker skips it at
    once instead of waiting or stepping it too. Mutations: without `skip_locked=True` the
    worker waits (and hits the lock timeout set here); without `select_for_update` it goes
    on to the claim, whose UPDATE waits on the same row (lock timeout too)."""
    hotline = f.hotline()
    roster = f.roster(hotline_=hotline, status="published")
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8), required_supervisors=2)
    counsellor = f.volunteer()
    f.assignment(shift_=shift, volunteer_=counsellor)
    f.assignment(shift_=shift, volunteer_=f.volunteer(roles=("supervisor",)), role="supervisor")
    f.volunteer(roles=("supervisor",))
    call = answered_call(hotline, counsellor, at=NOW)
    e = escalation_raise(call=call, by=counsellor.user, reason="x", now=NOW)
    table = Escalation._meta.db_table
    sql = f'SELECT id FROM "{table}" WHERE id = %s FOR UPDATE'  # noqa: S608 - a model's table
    busy_db.hold_rows(sql, [e.pk])
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '3s'")
    try:
        assert escalation_advance(escalation_id=e.pk, now=NOW + WINDOW) is False
        e.refresh_from_db()
        assert (e.tier, e.round) == (1, 1)
        busy_db.release()
        assert escalation_advance(escalation_id=e.pk, now=NOW + WINDOW) is True
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    e.refresh_from_db()
    assert (e.tier, e.round) == (2, 1)
