"""The alert chain: who each tier reaches, windows, the last tier repeating, acknowledging,
resolving, joining a live chain — and the whole story end to end through the webhooks."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from config.schedules import SCHEDULES
from hotline.crisis.escalations import (
    EscalationConflict,
    escalation_acknowledge,
    escalation_advance,
    escalation_raise,
    escalation_resolve,
    escalations_advance_due,
)
from hotline.crisis.reports import report_create
from hotline.models import AuditLog, Call, CallAttempt, Escalation, EscalationAlert, Message
from hotline.sms import backends
from hotline.sms import outbox as sms
from tests.support import factories as f
from tests.support.crisis import (
    REPORT,
    ack_sms,
    answered_call,
    coordinator_with_phone,
    sms_to,
)
from tests.support.twilio import NOW, call_data, fixture

WINDOW = dt.timedelta(minutes=5)


@pytest.fixture
def people(scene):
    class People:
        counsellor = scene.on_shift("counsellor", display_name="Li Na")
        sup_on = scene.on_shift("supervisor", "counsellor", role="supervisor", display_name="Zhao")
        # a supervisor rostered as counsellor is a supervisor on shift too
        sup_on_as_counsellor = scene.on_shift(
            "counsellor", "supervisor", role="counsellor", display_name="Wang"
        )
        sup_off = f.volunteer(roles=("supervisor",), display_name="Off duty")
        sup_inactive = f.volunteer(roles=("supervisor",), is_active=False)
        coordinator = coordinator_with_phone(display_name="Chen")
        other_hotline_sup = f.volunteer(roles=("supervisor",))

    p = People()
    other = f.roster(hotline_=f.hotline(), status="published")
    f.assignment(
        shift_=f.shift(roster_=other, starts_at=f.at(2026, 3, 2, 8)),
        volunteer_=p.other_hotline_sup,
        role="supervisor",
    )
    return p


def raise_for(scene, people, *, at=NOW, by=None):
    call = answered_call(scene.hotline, people.counsellor, at=at, shift=scene.shift)
    return escalation_raise(
        call=call, by=by or people.counsellor.user, reason="plan and means", now=at
    )


def test_tier1_is_the_supervisors_on_shift_on_that_hotline(scene, people):
    e = raise_for(scene, people)
    assert (e.tier, e.round, e.status) == (1, 1, "open")
    assert e.next_advance_at == NOW + WINDOW
    assert sms_to(e) == [people.sup_on.phone_number, people.sup_on_as_counsellor.phone_number]
    body = Message.objects.filter(to=people.sup_on.phone_number).get().body
    assert f"ACK {e.code}" in body and f"/crisis/escalations/{e.pk}/" in body
    assert body.startswith("Hotline Roster") and "http://" in body
    # no caller details in the SMS
    assert "4321" not in body and e.call.caller_hash not in body


def test_code_is_four_digits_and_unique_among_open(scene, people):
    codes = set()
    for _i in range(30):
        e = raise_for(scene, people)
        assert len(e.code) == 4 and e.code.isdigit()
        codes.add(e.code)
    assert len(codes) == 30


def test_no_window_passed_nothing_moves(scene, people):
    e = raise_for(scene, people)
    assert escalations_advance_due(now=NOW + WINDOW - dt.timedelta(seconds=1)) == 0
    e.refresh_from_db()
    assert (e.tier, e.round) == (1, 1)


def test_tiers_advance_each_window_and_last_tier_repeats(scene, people):
    e = raise_for(scene, people)
    assert escalations_advance_due(now=NOW + WINDOW) == 1
    e.refresh_from_db()
    assert (e.tier, e.round) == (2, 1)
    tier2 = set(
        EscalationAlert.objects.filter(escalation=e, tier=2).values_list("recipient", flat=True)
    )
    assert tier2 == {
        people.sup_on.pk,
        people.sup_on_as_counsellor.pk,
        people.sup_off.pk,
        people.other_hotline_sup.pk,
    }
    assert escalations_advance_due(now=NOW + 2 * WINDOW) == 1
    e.refresh_from_db()
    assert (e.tier, e.round) == (3, 1)
    assert sms_to(e)[-1] == people.coordinator.phone_number
    assert escalations_advance_due(now=NOW + 3 * WINDOW) == 1
    e.refresh_from_db()
    assert (e.tier, e.round) == (3, 2)
    last = EscalationAlert.objects.filter(escalation=e, tier=3).order_by("round")
    assert [(a.round, a.recipient_id) for a in last] == [
        (1, people.coordinator.pk),
        (2, people.coordinator.pk),
    ]
    assert e.next_advance_at == NOW + 4 * WINDOW


def test_a_skipped_schedule_run_moves_one_tier_not_past_one(scene, people):
    e = raise_for(scene, people)
    # the worker was down for 20 minutes: tier 2 is alerted, tier 2 is not skipped
    assert escalations_advance_due(now=NOW + dt.timedelta(minutes=20)) == 1
    e.refresh_from_db()
    assert (e.tier, e.next_advance_at) == (2, NOW + dt.timedelta(minutes=25))


def test_empty_tier1_skips_to_tier2_at_once(scene):
    counsellor = scene.on_shift("counsellor")
    sup = f.volunteer(roles=("supervisor",))
    call = answered_call(scene.hotline, counsellor, at=NOW)
    e = escalation_raise(call=call, by=counsellor.user, reason="x", now=NOW)
    assert (e.tier, e.round) == (2, 1)
    assert sms_to(e) == [sup.phone_number]
    alert = AuditLog.objects.get(action="escalation.alert", object_id=e.pk)
    assert alert.detail["skipped_empty_tiers"] == [1]


def test_nobody_anywhere_stays_open_on_last_tier_and_keeps_trying(scene):
    counsellor = scene.on_shift("counsellor")
    call = answered_call(scene.hotline, counsellor, at=NOW)
    e = escalation_raise(call=call, by=counsellor.user, reason="x", now=NOW)
    assert (e.tier, e.round, e.status) == (3, 1, "open")
    coordinator = coordinator_with_phone()
    escalations_advance_due(now=NOW + WINDOW)
    e.refresh_from_db()
    assert (e.tier, e.round) == (3, 2) and sms_to(e) == [coordinator.phone_number]


def test_the_raiser_is_never_alerted(scene, people):
    call = answered_call(scene.hotline, people.sup_on, at=NOW)
    e = escalation_raise(call=call, by=people.sup_on.user, reason="x", now=NOW)
    assert sms_to(e) == [people.sup_on_as_counsellor.phone_number]


def test_window_comes_from_the_hotline(scene, people):
    scene.hotline.ack_window_minutes = 2
    scene.hotline.save()
    e = raise_for(scene, people)
    assert e.next_advance_at == NOW + dt.timedelta(minutes=2)


def test_acknowledge_stops_the_chain(scene, people):
    e = raise_for(scene, people)
    escalation_acknowledge(escalation=e, by=people.sup_on.user, now=NOW + dt.timedelta(minutes=1))
    before = Message.objects.count()
    assert escalations_advance_due(now=NOW + dt.timedelta(hours=2)) == 0
    assert escalation_advance(escalation_id=e.pk, now=NOW + dt.timedelta(hours=2)) is False
    assert Message.objects.count() == before
    e.refresh_from_db()
    assert e.status == "acknowledged" and e.acknowledged_by == people.sup_on.user
    assert e.next_advance_at is None
    with pytest.raises(EscalationConflict):
        escalation_acknowledge(escalation=e, by=people.sup_off.user, now=NOW)
    e.refresh_from_db()
    assert e.acknowledged_by == people.sup_on.user


def test_acknowledge_cancels_alerts_still_waiting_for_a_retry(scene, people):
    e = raise_for(scene, people)
    Message.objects.filter(dedupe_key__startswith=f"esc:{e.pk}:").update(status="queued")
    escalation_acknowledge(escalation=e, by=people.sup_on.user, now=NOW)
    assert set(Message.objects.values_list("status", flat=True)) == {"failed"}
    assert sms.outbox_flush(now=NOW + dt.timedelta(hours=1)) == 0


def test_resolve_from_open_counts_as_acknowledged(scene, people):
    e = raise_for(scene, people)
    later = NOW + dt.timedelta(minutes=3)
    escalation_resolve(
        escalation=e, by=people.sup_on.user, outcome="false_alarm", notes="misheard", now=later
    )
    e.refresh_from_db()
    assert (e.status, e.outcome, e.resolution_notes) == ("resolved", "false_alarm", "misheard")
    assert e.acknowledged_at == later and e.acknowledged_by == people.sup_on.user
    with pytest.raises(EscalationConflict):
        escalation_resolve(escalation=e, by=people.sup_on.user, outcome="referred", now=later)


def test_resolve_needs_a_known_outcome(scene, people):
    e = raise_for(scene, people)
    with pytest.raises(ValidationError):
        escalation_resolve(escalation=e, by=people.sup_on.user, outcome="gone", now=NOW)
    e.refresh_from_db()
    assert e.status == "open"


def test_second_raise_joins_the_live_escalation(scene, people):
    call = answered_call(scene.hotline, people.counsellor, at=NOW, state=Call.State.CONNECTED)
    manual = escalation_raise(call=call, by=people.counsellor.user, reason="on the call", now=NOW)
    # the report after the call joins the same chain, and nobody gets a second SMS
    report = report_create(
        call=call, by=people.counsellor.user, data=REPORT, now=NOW + dt.timedelta(minutes=2)
    )
    assert report.escalation.pk == manual.pk
    assert Escalation.objects.count() == 1
    manual.refresh_from_db()
    assert manual.report == report and len(sms_to(manual)) == 2
    assert AuditLog.objects.filter(action="escalation.join").count() == 1


def test_after_resolution_a_new_escalation_can_open(scene, people):
    e = raise_for(scene, people)
    escalation_resolve(escalation=e, by=people.sup_on.user, outcome="referred", now=NOW)
    again = escalation_raise(call=e.call, by=people.counsellor.user, reason="again", now=NOW)
    assert again.pk != e.pk and again.status == "open"


def test_schedules_declared():
    funcs = {func: minutes for _name, func, minutes in SCHEDULES}
    assert funcs["hotline.tasks.escalations_advance"] == 1
    assert funcs["hotline.tasks.retention_purge"] == 24 * 60


# --- the whole story ----------------------------------------------------------------------------


def _answer_through_webhooks(tw, counsellor):
    sid = "CA" + "5" * 32
    assert tw("/twilio/voice/incoming", call_data(sid)).status_code == 200
    menu = {**fixture("voice-gather-digits"), "CallSid": sid, "Digits": "1"}
    assert tw("/twilio/voice/menu", menu).status_code == 200
    attempt = CallAttempt.objects.get(volunteer=counsellor)
    leg = {
        **fixture("voice-screen-answer"),
        "CallSid": attempt.leg_sid,
        "To": counsellor.phone_number,
    }
    tw(f"/twilio/voice/offer?attempt={attempt.pk}", leg)
    r = tw(f"/twilio/voice/accept?attempt={attempt.pk}", {**leg, "Digits": "1"})
    assert "<Dial" in r.content.decode()
    done = {**fixture("voice-status-completed"), "CallSid": sid}
    assert tw("/twilio/voice/status", done).status_code == 200
    return Call.objects.get(call_sid=sid)


def test_end_to_end_report_alert_chain_sms_ack_and_resolution(
    scene, tw, clock, django_capture_on_commit_callbacks
):
    counsellor = scene.on_shift("counsellor", display_name="Li Na")
    sup_on = scene.on_shift("supervisor", role="supervisor", display_name="Zhao (on shift)")
    sup_off = f.volunteer(roles=("supervisor",), display_name="Sun (off duty)")
    coordinator = coordinator_with_phone(display_name="Chen")

    # 1. a caller reaches the hotline; the counsellor accepts (signed webhooks, fake Twilio)
    call = _answer_through_webhooks(tw, counsellor)
    assert call.answered_by == counsellor and call.outcome == "answered"

    # 2. the counsellor files the report at risk 3 through the API
    clock.set(NOW + dt.timedelta(minutes=30))
    api = APIClient()
    api.force_authenticate(counsellor.user)
    backends.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"/api/v1/calls/{call.pk}/report/", REPORT, format="json")
    assert r.status_code == 201, r.content
    e = Escalation.objects.get(pk=r.json()["escalation"])
    assert (e.status, e.tier, e.source, e.risk_level) == ("open", 1, "report", 3)

    # 3. the supervisor on shift, and only they, gets the SMS (delivered by the outbox)
    assert [m["to"] for m in backends.outbox] == [sup_on.phone_number]
    assert f"ACK {e.code}" in backends.outbox[0]["body"]

    # 4. nobody acknowledges; the clock moves past the window; the schedule's run: tier 2
    clock.advance(minutes=5, seconds=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert escalations_advance_due(now=clock.now) == 1
    assert sorted(m["to"] for m in backends.outbox[1:]) == sorted(
        [sup_on.phone_number, sup_off.phone_number]
    )
    e.refresh_from_db()
    assert e.tier == 2

    # 5. the off-duty supervisor (tier 2) replies ACK <code> by SMS (signed webhook)
    clock.advance(minutes=1)
    r = tw("/twilio/sms/incoming", ack_sms(sup_off.phone_number, f"ACK {e.code}"))
    assert r.status_code == 200 and "Acknowledged" in r.content.decode()
    e.refresh_from_db()
    assert (e.status, e.acknowledged_by, e.ack_channel) == ("acknowledged", sup_off.user, "sms")
    assert e.acknowledged_at == clock.now

    # 6. the chain has stopped: hours pass, no further SMS, coordinators never alerted
    sent = len(backends.outbox)
    clock.advance(hours=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert escalations_advance_due(now=clock.now) == 0
        sms.outbox_flush(now=clock.now)
    assert len(backends.outbox) == sent and coordinator.phone_number not in sms_to(e)

    # 7. resolved with an outcome through the API
    sup_api = APIClient()
    sup_api.force_authenticate(sup_off.user)
    r = sup_api.post(
        f"/api/v1/escalations/{e.pk}/resolve/",
        {"outcome": "follow_up_arranged", "notes": "called back, GP tomorrow"},
        format="json",
    )
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert r.json()["outcome"] == "follow_up_arranged"

    # every step in the audit log, with who did it
    trail = list(AuditLog.objects.order_by("at", "id").values_list("action", "actor_label"))
    assert trail == [
        ("report.create", counsellor.user.username),
        # follow_up_needed: a call-back follow-up for the author (docs/follow-ups.md)
        ("followup.create", counsellor.user.username),
        ("escalation.open", counsellor.user.username),
        ("escalation.alert", "system"),
        # risk 3: a debrief for the counsellor, with the supervisor on shift
        ("followup.create", "system"),
        ("escalation.alert", "system"),
        ("escalation.acknowledge", sup_off.user.username),
        ("escalation.resolve", sup_off.user.username),
    ]
    alerts = AuditLog.objects.filter(action="escalation.alert").order_by("at")
    assert [a.detail["tier"] for a in alerts] == [1, 2]


def test_tier3_coordinators_match_the_permission_check(db):
    """Whoever `is_coordinator` lets acknowledge is alerted at tier 3, superusers included."""
    from hotline.access import is_coordinator
    from hotline.crisis.selectors import TIER_COORDINATORS, tier_recipients
    from hotline.models import Call

    hotline = f.hotline()
    call = Call.objects.create(call_sid="CAtier3", hotline=hotline, arrived_at=f.at(2026, 3, 2, 9))
    superuser = f.user(is_superuser=True)
    grouped = f.coordinator_user()
    plain = f.user()
    people = [f.volunteer(roles=(), user=u) for u in (superuser, grouped, plain)]
    escalation = type("E", (), {"hotline": hotline, "raised_by_id": None, "call": call})()
    alerted = tier_recipients(escalation=escalation, tier=TIER_COORDINATORS, at=f.at(2026, 3, 2, 9))
    assert set(alerted) == {v for v in people if is_coordinator(v.user)} == set(people[:2])
