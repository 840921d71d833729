"""Escalation behaviours a `make mutants` run of hotline/crisis/escalations.py found unpinned
(issue 19): a report joining only its own call's escalation, the trail of who joined, read
and took an escalation, and the exact words a supervisor hears back by SMS or on an alert
call. Each test names the surviving mutant(s) it kills (`hotline.crisis.escalations.x_…`);
each was rechecked with `bin/mutants.py --recheck escalations` (docs/testing.md)."""

import datetime as dt
import logging

import pytest
from rest_framework.test import APIClient

from hotline.crisis import escalations
from hotline.crisis.audit import audit_trail
from hotline.crisis.escalations import (
    escalation_ack_sms,
    escalation_acknowledge,
    escalation_raise,
    escalations_advance_due,
)
from hotline.crisis.reports import report_create
from hotline.models import Escalation, Message
from tests.support import factories as f
from tests.support.crisis import REPORT, answered_call, coordinator_with_phone
from tests.support.twilio import NOW

WINDOW = dt.timedelta(minutes=5)


@pytest.fixture
def chain(scene):
    scene.counsellor = scene.on_shift("counsellor", display_name="Li Na")
    scene.other = scene.on_shift("counsellor", display_name="Wu")
    scene.sup = scene.on_shift("supervisor", role="supervisor", display_name="Zhao", language="en")
    scene.call = answered_call(scene.hotline, scene.counsellor, at=NOW, shift=scene.shift)
    return scene


def raise_(chain, call=None, by=None):
    return escalation_raise(
        call=call or chain.call, by=(by or chain.counsellor).user, reason="plan", now=NOW
    )


def trail(escalation, action):
    return [(e.actor, e.detail) for e in audit_trail(escalation) if e.action == action]


# --- joining a live escalation ------------------------------------------------------------------


def test_a_report_joins_only_its_own_calls_escalation(chain):
    """Two calls, each escalated by hand; the report on the first joins the first escalation
    and leaves the other call's alone. Kills _join 7 (the report set on every escalation
    without one)."""
    mine = raise_(chain)
    other_call = answered_call(chain.hotline, chain.other, at=NOW, shift=chain.shift)
    theirs = raise_(chain, call=other_call, by=chain.other)
    report = report_create(call=chain.call, by=chain.counsellor.user, data=REPORT, now=NOW)
    assert report.escalation.pk == mine.pk
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.report == report
    assert theirs.report is None


def test_joining_is_on_the_escalations_trail_with_who_how_and_when(chain):
    """The escalation's page lists who joined it, by hand or by a report, and when (not when
    the server got round to it). Kills _join 13–27 (the entry on no object, at the clock's
    time, without or with a changed detail)."""
    e = raise_(chain)
    later = NOW + dt.timedelta(minutes=2)
    escalation_raise(call=chain.call, by=chain.counsellor.user, reason="again", now=later)
    filed = later + dt.timedelta(minutes=1)
    report = report_create(call=chain.call, by=chain.counsellor.user, data=REPORT, now=filed)
    assert trail(e, "escalation.join") == [
        (chain.counsellor.user, {"source": "manual", "report": None}),
        (chain.counsellor.user, {"source": "report", "report": report.pk}),
    ]
    assert [x.at for x in audit_trail(e) if x.action == "escalation.join"] == [later, filed]


def test_a_report_joining_an_escalation_gets_it_back_with_the_report(chain):
    """Kills _join 10 (the escalation handed back without its report)."""
    e = raise_(chain)
    low = {**REPORT, "risk_level": 1}  # raises nothing by itself
    report = report_create(call=chain.call, by=chain.counsellor.user, data=low, now=NOW)
    e.refresh_from_db()
    assert e.report is None
    joined = escalation_raise(
        call=chain.call,
        by=chain.counsellor.user,
        reason="risk 3",
        now=NOW,
        source=Escalation.Source.REPORT,
        report=report,
    )
    assert joined.pk == e.pk and joined.report == report


def test_reading_is_recorded_at_the_time_it_was_read(chain):
    """Kills escalation_viewed 6 and 11 (the entry at the clock's time)."""
    e = raise_(chain)
    read_at = NOW + dt.timedelta(minutes=7)
    escalations.escalation_viewed(escalation=e, by=chain.sup.user, now=read_at)
    assert [x.at for x in audit_trail(e) if x.action == "escalation.view"] == [read_at]


def test_reading_an_escalation_is_on_its_trail_with_the_way_it_was_read(chain, client):
    """Kills escalation_viewed 1–16 (the default `via`, the detail's key, the entry's actor,
    action and object)."""
    e = raise_(chain)
    client.force_login(chain.sup.user)
    assert client.get(f"/crisis/escalations/{e.pk}/").status_code == 200
    api = APIClient()
    api.force_authenticate(chain.sup.user)
    assert api.get(f"/api/v1/escalations/{e.pk}/").status_code == 200
    assert trail(e, "escalation.view") == [
        (chain.sup.user, {"via": "web"}),
        (chain.sup.user, {"via": "api"}),
    ]


# --- the words of an SMS reply ------------------------------------------------------------------


def ack(chain, body, who=None):
    return escalation_ack_sms(from_number=(who or chain.sup).phone_number, body=body, now=NOW)


def test_the_help_text_for_a_malformed_ack(chain):
    """Kills escalation_ack_sms 18 (the wording)."""
    raise_(chain)
    assert ack(chain, "ACK 12") == (
        "To acknowledge an escalation, reply ACK and its 4-digit code, e.g. ACK 4821."
    )


def test_an_unknown_code_is_answered_in_words(chain):
    """Kills escalation_ack_sms 61 (the wording)."""
    e = raise_(chain)
    wrong = "1000" if e.code != "1000" else "1001"
    assert ack(chain, f"ACK {wrong}") == f"No open escalation has the code {wrong}."


def test_an_escalation_already_taken_names_who_took_it(chain):
    """By the name the supervisors know them by, not the account. Kills _person 1–5 and
    escalation_ack_sms 51 (the wording)."""
    e = raise_(chain)
    escalation_acknowledge(escalation=e, by=chain.sup.user, now=NOW)
    late = f.volunteer(roles=("supervisor",), display_name="Sun", language="en")
    assert ack(chain, f"ACK {e.code}", who=late) == (
        f"Escalation {e.code} was already acknowledged by Zhao."
    )


def test_an_escalation_taken_by_an_account_without_a_volunteer_names_the_account(chain):
    """A coordinator with no volunteer record took it: the reply names the account. Kills
    _person's fallback mutants."""
    e = raise_(chain)
    coordinator = f.coordinator_user(username="chen.coord")
    escalation_acknowledge(escalation=e, by=coordinator, now=NOW)
    assert ack(chain, f"ACK {e.code}") == (
        f"Escalation {e.code} was already acknowledged by chen.coord."
    )


def test_an_ack_that_loses_the_race_to_the_web_changes_nothing(chain, monkeypatch):
    """Someone takes the escalation on the web between the SMS's lookup and its own
    acknowledgement: the SMS is told so, and the web's acknowledgement stands. Kills
    escalation_ack_sms 74 (the reply's `%` → `/`, an error instead of an answer)."""
    e = raise_(chain)
    coordinator = f.coordinator_user(username="chen.coord")
    original = escalations.escalation_acknowledge

    def web_first(**kw):
        original(escalation=kw["escalation"], by=coordinator, now=NOW)
        return original(**kw)

    monkeypatch.setattr(escalations, "escalation_acknowledge", web_first)
    assert ack(chain, f"ACK {e.code}") == f"Escalation {e.code} was already acknowledged."
    e.refresh_from_db()
    assert e.acknowledged_by == coordinator
    assert e.ack_channel == Escalation.Channel.WEB


def test_an_ack_from_an_unknown_number_is_logged_without_the_number(chain, caplog):
    """Kills escalation_ack_sms 8 (the log line gone)."""
    e = raise_(chain)
    with caplog.at_level(logging.INFO, logger="hotline.crisis.escalations"):
        assert (
            escalation_ack_sms(from_number="+8613000000001", body=f"ACK {e.code}", now=NOW) is None
        )
    assert caplog.messages == [
        "an SMS from a number that is no supervisor's or coordinator's was ignored"
    ]


# --- the schedule's job -------------------------------------------------------------------------


def two_open(chain):
    """Two open escalations at tier 1: the later-raised one is the more overdue."""
    first = raise_(chain)
    other_call = answered_call(chain.hotline, chain.other, at=NOW, shift=chain.shift)
    second = raise_(chain, call=other_call, by=chain.other)
    Escalation.objects.filter(pk=second.pk).update(next_advance_at=NOW + dt.timedelta(minutes=1))
    return first, second


def tiers(*escalations):
    return [Escalation.objects.get(pk=e.pk).tier for e in escalations]


def test_the_most_overdue_escalation_moves_first_when_the_run_is_capped(chain):
    """Kills escalations_advance_due 12 (by id, not by how overdue)."""
    first, second = two_open(chain)
    assert escalations_advance_due(now=NOW + WINDOW, limit=1) == 1
    assert tiers(first, second) == [1, 2]


def test_the_run_counts_every_escalation_it_moved(chain):
    """Kills escalations_advance_due 27 (`moved = …`: the count of the last one only)."""
    first, second = two_open(chain)
    assert escalations_advance_due(now=NOW + WINDOW) == 2
    assert tiers(first, second) == [2, 2]


def test_an_escalation_that_cannot_be_advanced_is_logged_by_its_id(chain, monkeypatch, caplog):
    """Kills escalations_advance_due 34–37 (the log line without the id, or reworded)."""
    e = raise_(chain)

    def broken(*, escalation, tier, at):
        raise RuntimeError("bad data")

    monkeypatch.setattr(escalations, "tier_recipients", broken)
    with caplog.at_level(logging.ERROR, logger="hotline.crisis.escalations"):
        assert escalations_advance_due(now=NOW + WINDOW) == 0
    assert caplog.messages == [f"escalation {e.pk} could not be advanced; retrying next run"]


def test_an_alert_stopped_by_the_acknowledgement_says_why(chain):
    """What the message log shows for an alert that was waiting for a retry. Kills
    _cancel_queued_alerts 7 (the reason reworded)."""
    e = raise_(chain)
    Message.objects.filter(dedupe_key__startswith=f"esc:{e.pk}:").update(status="queued")
    escalation_acknowledge(escalation=e, by=chain.sup.user, now=NOW)
    assert set(
        Message.objects.filter(dedupe_key__startswith=f"esc:{e.pk}:").values_list(
            "status", "last_error"
        )
    ) == {("failed", "not sent: the escalation was acknowledged first")}


def test_an_ack_is_answered_in_the_supervisors_language(chain):
    """Kills escalation_ack_sms 12 and 13 (the reply in the site's language)."""
    raise_(chain)
    chain.sup.language = "zh-hans"
    chain.sup.save()
    assert ack(chain, "ACK 12") == "确认接手请回复 ACK 加4位代码，例如 ACK 4821。"


def test_a_late_ack_names_who_took_that_escalation_not_the_latest(chain):
    """Zhao took the first escalation; the coordinator the second, opened later. A late
    `ACK` with the first's code names Zhao; an unknown code names nobody. Kills
    escalation_ack_sms 38 (the latest escalation taken, whatever its code)."""
    first = raise_(chain)
    escalation_acknowledge(escalation=first, by=chain.sup.user, now=NOW)
    other_call = answered_call(chain.hotline, chain.other, at=NOW, shift=chain.shift)
    second = escalation_raise(
        call=other_call, by=chain.other.user, reason="plan", now=NOW + dt.timedelta(minutes=1)
    )
    escalation_acknowledge(escalation=second, by=f.coordinator_user(username="chen"), now=NOW)
    assert ack(chain, f"ACK {first.code}") == (
        f"Escalation {first.code} was already acknowledged by Zhao."
    )
    unknown = next(c for c in ("1000", "1001", "1002") if c not in (first.code, second.code))
    assert ack(chain, f"ACK {unknown}") == f"No open escalation has the code {unknown}."


def test_an_ack_for_an_escalation_older_than_the_quiet_period_names_nobody(chain):
    """Its code may have been handed out again since. Kills escalation_ack_sms 39 (no
    quiet period)."""
    e = raise_(chain)
    escalation_acknowledge(escalation=e, by=chain.sup.user, now=NOW)
    later = NOW + escalations.CODE_QUIET_PERIOD + dt.timedelta(days=1)
    assert escalation_ack_sms(
        from_number=chain.sup.phone_number, body=f"ACK {e.code}", now=later
    ) == (f"No open escalation has the code {e.code}.")


# --- codes --------------------------------------------------------------------------------------


@pytest.fixture
def two_codes(monkeypatch):
    """Two codes to hand out, the first free one chosen (not at random)."""
    monkeypatch.setattr(escalations, "CODES", ["1111", "2222"])
    monkeypatch.setattr(escalations.secrets, "choice", lambda codes: codes[0])


def new_code(chain):
    call = answered_call(chain.hotline, chain.other, at=NOW, shift=chain.shift)
    return raise_(chain, call=call, by=chain.other).code


@pytest.mark.parametrize(
    ("status", "days_ago", "code"),
    [
        # An escalation still open keeps its code however old it is.
        (Escalation.Status.OPEN, 30, "2222"),
        # A closed one keeps it for the quiet period, so that a late ACK finds nothing new.
        (Escalation.Status.RESOLVED, 3, "2222"),
        (Escalation.Status.RESOLVED, 8, "1111"),
    ],
)
def test_a_code_is_not_handed_out_while_open_nor_in_the_quiet_period(
    chain, two_codes, status, days_ago, code
):
    """Kills _new_code 4, 5, 6, 14 (codes taken read as rows, so none is taken), 8, 9 (an
    old open escalation's code handed out again), 11 (the quiet period gone) and 16 (any
    code)."""
    e = raise_(chain)
    Escalation.objects.filter(pk=e.pk).update(
        code="1111", status=status, opened_at=NOW - dt.timedelta(days=days_ago)
    )
    assert new_code(chain) == code


# --- the step and the advance -------------------------------------------------------------------


def test_advancing_one_escalation_moves_that_one(chain):
    """Kills escalation_advance 7 (the first due escalation moved, whichever was named)."""
    first, second = two_open(chain)
    assert escalations.escalation_advance(escalation_id=first.pk, now=NOW + WINDOW) is True
    assert tiers(first, second) == [2, 1]


def test_an_acknowledgement_landing_during_a_step_stops_it(chain, monkeypatch):
    """A supervisor takes the escalation while a worker is choosing the next tier (no row
    lock on SQLite): the worker's claim finds it no longer open and alerts nobody. Kills
    _step 35 (the claim without `status=OPEN`)."""
    e = raise_(chain)
    real = escalations.tier_recipients

    def taken_meanwhile(*, escalation, tier, at):
        Escalation.objects.filter(pk=escalation.pk).update(
            status=Escalation.Status.ACKNOWLEDGED, acknowledged_by=chain.sup.user
        )
        return real(escalation=escalation, tier=tier, at=at)

    alerts = Message.objects.count()
    monkeypatch.setattr(escalations, "tier_recipients", taken_meanwhile)
    assert escalations.escalation_advance(escalation_id=e.pk, now=NOW + WINDOW) is False
    assert tiers(e) == [1]
    assert Message.objects.count() == alerts


# --- a key pressed on the alert call ------------------------------------------------------------


def alert_to(e, volunteer) -> Message:
    return Message.objects.get(dedupe_key__startswith=f"esc:{e.pk}:", recipient=volunteer)


def press(message, digits="1"):
    return escalations.escalation_ack_voice(message=message, digits=digits, now=NOW)


def test_pressing_1_on_the_alert_call_takes_the_escalation(chain):
    """Kills escalation_ack_voice mutants that take it for someone else, by another channel,
    at another time, or answer in other words."""
    e = raise_(chain)
    assert press(alert_to(e, chain.sup)) == (
        "Thank you. The escalation is yours; the details are on the Hotline Roster site."
    )
    e.refresh_from_db()
    assert (e.status, e.acknowledged_by, e.ack_channel, e.acknowledged_at) == (
        Escalation.Status.ACKNOWLEDGED,
        chain.sup.user,
        Escalation.Channel.VOICE,
        NOW,
    )


@pytest.mark.parametrize("digits", ["2", "", "11", "*"])
def test_any_other_key_changes_nothing(chain, digits):
    e = raise_(chain)
    assert press(alert_to(e, chain.sup), digits) == "Nothing was changed."
    e.refresh_from_db()
    assert e.status == Escalation.Status.OPEN


def test_a_key_on_an_escalation_already_taken_names_who_took_it(chain):
    e = raise_(chain)
    message = alert_to(e, chain.sup)
    escalation_acknowledge(escalation=e, by=chain.other.user, now=NOW)
    assert press(message) == f"Escalation {e.code} was already acknowledged by Wu."
    e.refresh_from_db()
    assert e.acknowledged_by == chain.other.user


def test_a_key_on_an_escalation_closed_without_anyone_acknowledging(chain):
    """(Its acknowledger's account since removed.)"""
    e = raise_(chain)
    message = alert_to(e, chain.sup)
    Escalation.objects.filter(pk=e.pk).update(status=Escalation.Status.RESOLVED)
    assert press(message) == "This escalation is already resolved."


def test_a_key_on_an_alert_that_no_longer_leads_anywhere(chain):
    e = raise_(chain)
    message = alert_to(e, chain.sup)
    Message.objects.filter(pk=message.pk).update(params={})
    message.refresh_from_db()
    assert press(message) == "This alert is no longer valid."
    Message.objects.filter(pk=message.pk).update(params={"escalation": e.pk}, recipient=None)
    message.refresh_from_db()
    assert press(message) == "This alert is no longer valid."
    e.refresh_from_db()
    assert e.status == Escalation.Status.OPEN


def test_the_alert_call_answers_in_the_supervisors_language(chain):
    e = raise_(chain)
    chain.sup.language = "zh-hans"
    chain.sup.save()
    message = alert_to(e, chain.sup)
    assert press(message, "2") == "没有任何更改。"


def test_a_wecom_take_link_takes_it_by_wecom(chain):
    """Kills escalation_take_link 1–8."""
    e = raise_(chain)
    escalations.escalation_take_link(escalation=e, by=chain.sup.user, now=NOW)
    e.refresh_from_db()
    assert (e.acknowledged_by, e.ack_channel, e.acknowledged_at) == (
        chain.sup.user,
        Escalation.Channel.WECOM,
        NOW,
    )


# --- what each step leaves behind: the trail, the log, the alert's words and caller ID ---------


def deliver_all(at):
    """Hand every queued alert to the SMS backend; the texts it sent, by number."""
    from hotline.sms import backends
    from hotline.sms import outbox as sms

    backends.outbox.clear()
    sms.outbox_flush(now=at)
    return {m["to"]: m["body"] for m in backends.outbox}


def test_each_alerted_tier_is_on_the_trail_at_the_steps_time_with_whom(chain):
    """The escalation's page lists each tier alerted, with whom, at the time of the step that
    alerted it (not when the server wrote the entry: the clock stays at NOW). Kills _step 59,
    64 (the entry at the clock's time), 72, 73 (the recipients under another key)."""
    e = raise_(chain)
    escalations_advance_due(now=NOW + WINDOW)
    entries = [x for x in audit_trail(e) if x.action == "escalation.alert"]
    assert [(x.at, x.actor, x.detail) for x in entries] == [
        (
            NOW,
            None,
            {"tier": 1, "round": 1, "recipients": [chain.sup.pk], "skipped_empty_tiers": []},
        ),
        (
            NOW + WINDOW,
            None,
            {"tier": 2, "round": 1, "recipients": [chain.sup.pk], "skipped_empty_tiers": []},
        ),
    ]


def test_a_tier_with_nobody_to_alert_is_logged_as_an_error_naming_the_escalation(chain, caplog):
    """No coordinator has a phone: the last tier alerts nobody, and whoever reads the error
    log learns which escalation went unheard. Kills _step 52–55 (the line without the id,
    without its words, or reworded)."""
    e = raise_(chain)
    escalations_advance_due(now=NOW + WINDOW)  # tier 2: Zhao again
    with caplog.at_level(logging.ERROR, logger="hotline.crisis.escalations"):
        assert escalations_advance_due(now=NOW + 2 * WINDOW) == 1
    assert tiers(e) == [3]
    assert caplog.messages == [
        f"escalation {e.pk}: nobody to alert (no supervisor, no coordinator with a phone)"
    ]


def test_an_alert_sms_is_in_the_supervisors_language(chain):
    """Zhao reads Chinese; the site's language (the tests') is English. Kills _alert 14 (no
    language: the untranslated text) and 15 (`language and LANGUAGE_CODE`: the site's)."""
    chain.sup.language = "zh-hans"
    chain.sup.save()
    e = raise_(chain)
    body = deliver_all(NOW)[chain.sup.phone_number]
    assert body.startswith(
        f"热线排班：{chain.hotline.name} 有危机升级事件。回复 ACK {e.code} 接手处理。"
    )


def test_plain_text_alerts_count_the_tiers_and_rounds(chain, settings):
    """Where SMS may carry no link (SMS_PLAIN_TEXT, Alibaba Cloud) the text is made from the
    alert's parameters: the second alert says "(alert 2)", the coordinator's first and second
    rounds "(alert 3)" and "(alert 4)" — never the identical text again. Kills alert_params
    9, 10 (the tier under another key: the prefix gone) and 11, 12 (the round: "(alert 3)"
    twice)."""
    settings.SMS_PLAIN_TEXT = True
    coordinator = coordinator_with_phone(display_name="Chen", language="en")
    e = raise_(chain)
    first = deliver_all(NOW)[chain.sup.phone_number]
    assert first.startswith(f"Hotline Roster: crisis escalation on {chain.hotline.name}, code")
    escalations_advance_due(now=NOW + WINDOW)
    assert deliver_all(NOW + WINDOW)[chain.sup.phone_number].startswith("(alert 2) Hotline")
    escalations_advance_due(now=NOW + 2 * WINDOW)
    assert deliver_all(NOW + 2 * WINDOW)[coordinator.phone_number].startswith("(alert 3) ")
    escalations_advance_due(now=NOW + 3 * WINDOW)
    assert deliver_all(NOW + 3 * WINDOW)[coordinator.phone_number].startswith("(alert 4) ")
    assert tiers(e) == [3]


def test_an_alert_call_shows_the_hotlines_number_not_the_sms_sender(chain, settings, fake_twilio):
    """The supervisor's phone rings from the hotline's own number (they know it), even where
    SMS go out from another sender. Kills alert_params 5, 6 (the caller ID under another key:
    the call placed from the SMS sender)."""
    from hotline.sms import backends

    settings.TWILIO_SMS_FROM = "+8637529999999"
    chain.sup.phone_number = "+14155550101"  # a number Twilio can call
    chain.sup.save()
    raise_(chain)
    deliver_all(NOW)
    placed = [d for m, u, d in fake_twilio.requests if u.endswith("/Calls.json")]
    assert [(d["To"], d["From"]) for d in placed] == [("+14155550101", chain.hotline.phone_number)]
    assert backends.outbox == []


# --- the @transaction.atomic services: raising, taking, resolving -----------------------------


def api_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_raising_by_hand_is_refused_to_a_volunteer_who_did_not_take_the_call(chain):
    """Wu answered another call, not this one: raising this call's escalation by hand is
    refused and opens nothing. Kills escalation_raise 2 (the check only for reports)."""
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        raise_(chain, by=chain.other)
    assert not Escalation.objects.exists()


def test_a_risk_3_report_opens_an_escalation_that_carries_it(chain):
    """Kills escalation_raise 26 (the escalation opened without its report)."""
    report = report_create(call=chain.call, by=chain.counsellor.user, data=REPORT, now=NOW)
    (e,) = Escalation.objects.all()
    assert e.report == report and e.source == Escalation.Source.REPORT


def test_raising_fails_loudly_when_no_acknowledgement_code_is_free(chain, monkeypatch):
    """Every code the draw offers is taken by an open escalation: after its tries the raise
    fails with its own error (its words exactly, for whoever reads the log), not a crash
    further on. Kills escalation_raise 21, 62 (the words changed)."""
    taken = raise_(chain)
    other_call = answered_call(chain.hotline, chain.other, at=NOW, shift=chain.shift)
    monkeypatch.setattr(escalations, "_new_code", lambda now: taken.code)
    with pytest.raises(RuntimeError, match=r"^could not find a free acknowledgement code$"):
        raise_(chain, call=other_call, by=chain.other)
    assert Escalation.objects.count() == 1


def two_escalations(chain):
    mine = raise_(chain)
    other_call = answered_call(chain.hotline, chain.other, at=NOW, shift=chain.shift)
    return mine, raise_(chain, call=other_call, by=chain.other)


def test_taking_one_escalation_leaves_another_open(chain):
    """Kills escalation_acknowledge 13 (every open escalation taken)."""
    mine, theirs = two_escalations(chain)
    escalation_acknowledge(escalation=mine, by=chain.sup.user, now=NOW)
    theirs.refresh_from_db()
    assert (theirs.status, theirs.acknowledged_by) == (Escalation.Status.OPEN, None)


def test_resolving_one_escalation_leaves_another_untouched(chain):
    """Kills escalation_resolve 19 (every open escalation marked as taken by the resolver)
    and 35 (every live escalation resolved)."""
    mine, theirs = two_escalations(chain)
    escalations.escalation_resolve(escalation=mine, by=chain.sup.user, outcome="referred", now=NOW)
    theirs.refresh_from_db()
    assert (theirs.status, theirs.acknowledged_by, theirs.acknowledged_at) == (
        Escalation.Status.OPEN,
        None,
        None,
    )


def test_taking_or_resolving_twice_is_answered_with_what_happened(chain):
    """The API's 409 says whether someone took it already or it is closed. Kills
    escalation_acknowledge 17, 22, 23, 25–28, 30–32 and escalation_resolve 39, 40, 43, 44,
    46–48 (the code and words of the conflict)."""
    e = raise_(chain)
    api = api_for(chain.sup.user)
    url = f"/api/v1/escalations/{e.pk}"
    assert api.post(f"{url}/acknowledge/").status_code == 200
    again = api.post(f"{url}/acknowledge/")
    assert (again.status_code, again.json()) == (
        409,
        {"code": "not_open", "detail": "This escalation was already acknowledged."},
    )
    assert api.post(f"{url}/resolve/", {"outcome": "referred"}, format="json").status_code == 200
    for action, data in (("acknowledge", None), ("resolve", {"outcome": "referred"})):
        r = api.post(f"{url}/{action}/", data, format="json")
        assert (r.status_code, r.json()) == (
            409,
            {"code": "not_open", "detail": "This escalation is already resolved."},
        )


def test_resolving_with_an_unknown_outcome_names_the_field(chain):
    """Kills escalation_resolve 3–5, 7–9."""
    from django.core.exceptions import ValidationError

    e = raise_(chain)
    with pytest.raises(ValidationError) as exc:
        escalations.escalation_resolve(escalation=e, by=chain.sup.user, outcome="fine", now=NOW)
    assert exc.value.message_dict == {"outcome": ["Choose one of the outcomes."]}


def test_resolving_an_open_escalation_directly_records_everything_once(chain):
    """Resolved at 10:07 (the clock says 10:00) straight from open, without notes: taken and
    resolved by Zhao at 10:07 on the web, no notes, the chain stopped, the alert still
    waiting for a retry not sent, and the trail says so. Kills escalation_resolve 1 (notes
    "XXXX"), 16 (no channel), 23, 28 (no resolution time), 32 (the next alert still set),
    50 (the waiting alert sent anyway), 49, 59, 60, 64, 65, 69–72, 75–77 (the trail's entry)."""
    e = raise_(chain)
    Message.objects.filter(dedupe_key__startswith=f"esc:{e.pk}:").update(status="queued")
    at = NOW + dt.timedelta(minutes=7)
    escalations.escalation_resolve(escalation=e, by=chain.sup.user, outcome="referred", now=at)
    e.refresh_from_db()
    assert (e.acknowledged_by, e.acknowledged_at, e.ack_channel) == (chain.sup.user, at, "web")
    assert (e.resolved_by, e.resolved_at, e.resolution_notes) == (chain.sup.user, at, "")
    assert e.next_advance_at is None
    assert set(
        Message.objects.filter(dedupe_key__startswith=f"esc:{e.pk}:").values_list(
            "status", flat=True
        )
    ) == {"failed"}
    assert [
        (x.at, x.actor, x.detail) for x in audit_trail(e) if x.action == "escalation.resolve"
    ] == [
        (
            at,
            chain.sup.user,
            {"outcome": "referred", "channel": "web", "was_open": True, "cancelled_sms": 1},
        )
    ]


def test_resolving_a_taken_escalation_cancels_nothing_more(chain):
    """Kills escalation_resolve 56 (a cancelled alert counted that was not)."""
    e = raise_(chain)
    escalation_acknowledge(escalation=e, by=chain.sup.user, now=NOW)
    escalations.escalation_resolve(
        escalation=e, by=chain.sup.user, outcome="referred", now=NOW, channel="sms"
    )
    (entry,) = [x for x in audit_trail(e) if x.action == "escalation.resolve"]
    assert entry.detail == {
        "outcome": "referred",
        "channel": "sms",
        "was_open": False,
        "cancelled_sms": 0,
    }


def test_resolution_notes_are_kept_up_to_5000_characters(chain):
    """Kills escalation_resolve 37 (5001 kept)."""
    e = raise_(chain)
    escalations.escalation_resolve(
        escalation=e, by=chain.sup.user, outcome="referred", notes="n" * 6000, now=NOW
    )
    e.refresh_from_db()
    assert e.resolution_notes == "n" * 5000


def test_taking_an_escalation_is_on_its_trail_with_when_how_and_what_was_stopped(chain):
    """Taken by SMS at 10:03 (the clock says 10:00), one alert still waiting stopped. Kills
    escalation_acknowledge 40–42, 45–47, 50–57 (the entry on no object, at the clock's
    time, without or with a changed detail)."""
    e = raise_(chain)
    Message.objects.filter(dedupe_key__startswith=f"esc:{e.pk}:").update(status="queued")
    at = NOW + dt.timedelta(minutes=3)
    escalation_acknowledge(escalation=e, by=chain.sup.user, now=at, channel="sms")
    assert [
        (x.at, x.actor, x.detail) for x in audit_trail(e) if x.action == "escalation.acknowledge"
    ] == [(at, chain.sup.user, {"channel": "sms", "tier": 1, "round": 1, "cancelled_sms": 1})]


# --- opening: the trail, the reason, a raise racing another -----------------------------------


def test_opening_is_on_the_trail_with_who_when_and_why(chain):
    """The escalation's page says who opened it, when (10:02 and 10:04: the clock says 10:00),
    for which call, by hand or by which report at which risk. Kills escalation_raise 67, 72
    (the entry at the clock's time), 68, 73 (without its detail), 76–83 (a detail under
    another key), 84 (a report's escalation opened without its report on the trail)."""
    by_hand = NOW + dt.timedelta(minutes=2)
    mine = escalation_raise(call=chain.call, by=chain.counsellor.user, reason="plan", now=by_hand)
    other_call = answered_call(chain.hotline, chain.other, at=NOW, shift=chain.shift)
    filed = NOW + dt.timedelta(minutes=4)
    report = report_create(call=other_call, by=chain.other.user, data=REPORT, now=filed)
    theirs = report.escalation
    assert [
        (x.at, x.actor, x.detail) for x in audit_trail(mine) if x.action == "escalation.open"
    ] == [
        (
            by_hand,
            chain.counsellor.user,
            {"call": chain.call.pk, "source": "manual", "risk_level": None, "report": None},
        )
    ]
    assert [
        (x.at, x.actor, x.detail) for x in audit_trail(theirs) if x.action == "escalation.open"
    ] == [
        (
            filed,
            chain.other.user,
            {"call": other_call.pk, "source": "report", "risk_level": 3, "report": report.pk},
        )
    ]


def test_a_reason_is_kept_up_to_2000_characters(chain):
    """Kills escalation_raise 44 (2001 kept)."""
    e = escalation_raise(call=chain.call, by=chain.counsellor.user, reason="r" * 2500, now=NOW)
    e.refresh_from_db()
    assert e.reason == "r" * 2000


def test_a_raise_that_loses_the_race_joins_the_escalation_that_won(chain, monkeypatch):
    """Zhao raises the call's escalation by hand while the counsellor's report is being filed:
    the report's raise looked for a live escalation a moment too early, so its insert hits
    the one-live-chain-per-call rule; it then joins Zhao's escalation with its report, at its
    own time, on the trail — no second chain, no failure. Kills escalation_raise 47, 48 (the
    winner not looked for: every try fails and the raise ends in RuntimeError), 50–59 (the
    join with an argument lost or None)."""
    low = {**REPORT, "risk_level": 1}  # raises nothing by itself
    report = report_create(call=chain.call, by=chain.counsellor.user, data=low, now=NOW)
    real = escalations._live_for_call
    won = []

    def zhao_raises_meanwhile(call):
        monkeypatch.setattr(escalations, "_live_for_call", real)
        won.append(escalation_raise(call=chain.call, by=chain.sup.user, reason="plan", now=NOW))
        return None  # looked just before Zhao's escalation was inserted

    monkeypatch.setattr(escalations, "_live_for_call", zhao_raises_meanwhile)
    filed = NOW + dt.timedelta(minutes=1)
    joined = escalation_raise(
        call=chain.call,
        by=chain.counsellor.user,
        reason="risk 3",
        now=filed,
        source=Escalation.Source.REPORT,
        report=report,
    )
    (zhaos,) = won
    assert joined.pk == zhaos.pk and joined.report == report
    (e,) = Escalation.objects.filter(call=chain.call)
    assert e.report == report
    assert [(x.at, x.actor, x.detail) for x in audit_trail(e) if x.action == "escalation.join"] == [
        (filed, chain.counsellor.user, {"source": "report", "report": report.pk})
    ]


# --- the channel of a repeated alert ----------------------------------------------------------

US_1, US_2 = "+14155550111", "+14155550122"  # numbers Twilio can call


@pytest.fixture
def coordinators(scene):
    """No supervisor anywhere: every escalation goes straight to the coordinators, Chen with
    the default order (voice, then SMS) and Gao, who asked for SMS first."""
    scene.counsellor = scene.on_shift("counsellor")
    scene.other = scene.on_shift("counsellor")
    scene.chen = coordinator_with_phone(display_name="Chen", phone_number=US_1)
    scene.gao = coordinator_with_phone(
        display_name="Gao", phone_number=US_2, channels=["sms", "voice"]
    )
    scene.call = answered_call(scene.hotline, scene.counsellor, at=NOW, shift=scene.shift)
    return scene


def planned(e, volunteer, round_) -> list[str]:
    """The channels the alert of `round_` (last tier) to `volunteer` goes out on, in order."""
    return Message.objects.get(dedupe_key=f"esc:{e.pk}:t3:r{round_}:v{volunteer.pk}").channels


def test_each_coordinators_repeated_alert_comes_first_by_the_way_it_did_not_last_time(
    coordinators,
):
    """Round 2 of the last tier tries first what the same person's round 1 did not use:
    Chen (voice before) gets SMS first, Gao (SMS before) a call first. Kills
    _channel_used_before 14 (every alert of the current tier left out, so round 1 is not
    seen) and 18 (the latest earlier alert of anyone: Gao's SMS would send Chen's call
    first again)."""
    c = coordinators
    e = escalation_raise(call=c.call, by=c.counsellor.user, reason="plan", now=NOW)
    assert (planned(e, c.chen, 1), planned(e, c.gao, 1)) == (["voice", "sms"], ["sms", "voice"])
    escalations_advance_due(now=NOW + WINDOW)
    assert (planned(e, c.chen, 2), planned(e, c.gao, 2)) == (["sms", "voice"], ["voice", "sms"])


def test_a_new_escalation_alerts_in_each_persons_own_order_again(coordinators):
    """Chen's last alert for the first escalation (its round 3) went by voice: a second
    escalation's first alert still calls Chen first — another escalation's rounds do not
    count. Kills _channel_used_before 17 (the latest alert of any escalation)."""
    c = coordinators
    first = escalation_raise(call=c.call, by=c.counsellor.user, reason="plan", now=NOW)
    escalations_advance_due(now=NOW + WINDOW)
    escalations_advance_due(now=NOW + 2 * WINDOW)
    assert planned(first, c.chen, 3) == ["voice", "sms"]
    other_call = answered_call(c.hotline, c.other, at=NOW, shift=c.shift)
    later = NOW + 2 * WINDOW + dt.timedelta(minutes=1)
    second = escalation_raise(call=other_call, by=c.other.user, reason="plan", now=later)
    assert (planned(second, c.chen, 1), planned(second, c.gao, 1)) == (
        ["voice", "sms"],
        ["sms", "voice"],
    )
