"""`ACK <code>` by SMS through the signed webhook: who can acknowledge, who gets a reply,
and bad input that must change nothing."""

import pytest

from hotline.crisis.escalations import escalation_raise
from hotline.models import AuditLog, Escalation, InboundSms, Message
from tests.support import factories as f
from tests.support.crisis import ack_sms, answered_call, coordinator_with_phone
from tests.support.twilio import NOW

PATH = "/twilio/sms/incoming"


@pytest.fixture
def esc(scene):
    counsellor = scene.on_shift("counsellor")
    scene.sup = scene.on_shift("supervisor", role="supervisor")
    scene.counsellor = counsellor
    call = answered_call(scene.hotline, counsellor, at=NOW)
    return escalation_raise(call=call, by=counsellor.user, reason="x", now=NOW)


def state(e):
    e.refresh_from_db()
    return (e.status, e.acknowledged_by_id, e.tier, Message.objects.count())


def reply(r) -> str:
    assert r.status_code == 200
    return r.content.decode()


def test_supervisor_acknowledges_by_sms(scene, esc, tw):
    body = reply(tw(PATH, ack_sms(scene.sup.phone_number, f"ACK {esc.code}")))
    assert "<Message>Acknowledged" in body and f"/crisis/escalations/{esc.pk}/" in body
    esc.refresh_from_db()
    assert (esc.status, esc.acknowledged_by, esc.ack_channel) == (
        "acknowledged",
        scene.sup.user,
        "sms",
    )
    assert AuditLog.objects.filter(action="escalation.acknowledge", actor=scene.sup.user).exists()


@pytest.mark.parametrize("text", ["ack {code}", "  ACK{code} ", "确认 {code}", "Ack #{code}."])
def test_ack_spellings(scene, esc, tw, text):
    reply(tw(PATH, ack_sms(scene.sup.phone_number, text.format(code=esc.code))))
    esc.refresh_from_db()
    assert esc.status == "acknowledged"


def test_coordinator_with_a_phone_acknowledges(scene, esc, tw):
    coordinator = coordinator_with_phone()
    assert "Acknowledged" in reply(tw(PATH, ack_sms(coordinator.phone_number, f"ACK {esc.code}")))
    esc.refresh_from_db()
    assert esc.acknowledged_by == coordinator.user


def test_unknown_number_changes_nothing_and_gets_no_reply(scene, esc, tw):
    before = state(esc)
    body = reply(tw(PATH, ack_sms("+8613000000001", f"ACK {esc.code}")))
    assert "<Message" not in body
    assert state(esc) == before


def test_plain_volunteer_cannot_acknowledge_and_gets_no_reply(scene, esc, tw):
    before = state(esc)
    body = reply(tw(PATH, ack_sms(scene.counsellor.phone_number, f"ACK {esc.code}")))
    assert "<Message" not in body and state(esc) == before


def test_unknown_code_from_staff_changes_nothing_short_reply(scene, esc, tw):
    wrong = "1000" if esc.code != "1000" else "1001"
    before = state(esc)
    body = reply(tw(PATH, ack_sms(scene.sup.phone_number, f"ACK {wrong}")))
    assert f"No open escalation has the code {wrong}" in body
    assert state(esc) == before


def test_malformed_ack_from_staff_gets_the_help_text(scene, esc, tw):
    before = state(esc)
    body = reply(tw(PATH, ack_sms(scene.sup.phone_number, "ACK 12")))
    assert "reply ACK and its 4-digit code" in body and state(esc) == before


def test_other_texts_are_left_to_other_handlers(scene, esc, tw):
    before = state(esc)
    body = reply(tw(PATH, ack_sms(scene.sup.phone_number, "ok I'll call")))
    assert "<Message" not in body and state(esc) == before


def test_already_acknowledged_changes_nothing(scene, esc, tw):
    other = f.volunteer(roles=("supervisor",), display_name="Sun")
    reply(tw(PATH, ack_sms(scene.sup.phone_number, f"ACK {esc.code}", sid_digit="1")))
    before = state(esc)
    body = reply(tw(PATH, ack_sms(other.phone_number, f"ACK {esc.code}", sid_digit="2")))
    assert "already acknowledged by" in body
    assert state(esc) == before
    assert AuditLog.objects.filter(action="escalation.acknowledge").count() == 1


def test_replayed_webhook_is_handled_once(scene, esc, tw):
    data = ack_sms(scene.sup.phone_number, f"ACK {esc.code}")
    first = reply(tw(PATH, data))
    again = reply(tw(PATH, data))
    assert "Acknowledged" in first and "<Message" not in again
    assert InboundSms.objects.count() == 1
    assert AuditLog.objects.filter(action="escalation.acknowledge").count() == 1


def test_unsigned_ack_is_refused(scene, esc, tw):
    r = tw(PATH, ack_sms(scene.sup.phone_number, f"ACK {esc.code}"), sign=False)
    assert r.status_code == 403
    esc.refresh_from_db()
    assert esc.status == Escalation.Status.OPEN


def test_take_reply_is_handed_to_the_drop_handler(db, client, monkeypatch):
    """An incoming `TAKE <id>` goes to the swaps handler once ACK has passed on it."""
    from hotline.sms import inbound

    seen = []

    def take(*, from_number, body, now):
        seen.append((from_number, body))
        return "Done: the shift is yours."

    monkeypatch.setattr("scheduling.swaps.sms_take_reply", take)
    assert "scheduling.tasks.sms_reply_take" in inbound.SMS_HANDLERS
    reply = inbound.sms_received(from_number="+8613900139000", body="TAKE 12", message_sid="SM1")
    assert reply == "Done: the shift is yours."
    assert seen == [("+8613900139000", "TAKE 12")]
