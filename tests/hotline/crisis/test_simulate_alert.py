"""simulate_alert plays an escalation's chain over the channels without provider accounts:
calls through the signed alert webhooks, fallbacks shown, a key press taking it."""

from io import StringIO

from django.core.management import call_command

from hotline.models import Escalation
from tests.support import factories as f
from tests.support.crisis import answered_call
from tests.support.twilio import NOW


def run(**kw):
    out = StringIO()
    call_command("simulate_alert", stdout=out, **kw)
    return out.getvalue()


def test_simulated_chain_ends_with_a_key_press(scene, fake_twilio):
    counsellor = scene.on_shift("counsellor")
    scene.on_shift(
        "supervisor", role="supervisor", display_name="Zhao", phone_number="+14155550111"
    )
    f.volunteer(
        roles=("supervisor",),
        display_name="Sun",
        phone_number="+14155550112",
        wecom_user_id="sun",
        user_kw={"username": "sun"},
    )
    answered_call(scene.hotline, counsellor, at=NOW, shift=scene.shift)
    out = run(hotline=scene.hotline.phone_number, press_by="sun", wecom=True, wecom_unknown="sun")
    e = Escalation.objects.get()
    assert (e.status, e.ack_channel, e.acknowledged_by.username) == ("acknowledged", "voice", "sun")
    assert "Tier 1, round 1" in out and "Tier 2, round 1" in out
    assert "Zhao: the call was not answered" in out
    assert "no member with the user id 'sun'" in out  # the WeCom fallback, shown
    assert "Sun answered and pressed 1" in out and "Acknowledged by Sun through voice" in out
    assert fake_twilio.requests == []  # console transports only, never the network


def test_simulate_unknown_escalation(db):
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        run(escalation=999)
