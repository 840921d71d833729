"""simulate_call drives the real webhooks: answered, and voicemail."""

from io import StringIO

from django.core.management import call_command

from hotline.models import Call, CallbackRequest
from tests.support.twilio import HOTLINE_NUMBER


def run(**kw):
    out = StringIO()
    call_command("simulate_call", to=HOTLINE_NUMBER, stdout=out, **kw)
    return out.getvalue()


def test_simulate_answered_by_a_named_volunteer(scene):
    scene.on_shift("counsellor")
    chosen = scene.on_shift("counsellor", user_kw={"username": "li"})
    out = run(answered_by="li")
    call = Call.objects.get()
    assert call.outcome == "answered" and call.answered_by == chosen
    assert "<Enqueue" in out and "<Conference" in out and "answered by" in out


def test_simulate_nobody_answers_leaves_voicemail_and_callback(scene, fake_twilio):
    scene.on_shift("counsellor")
    out = run(nobody_answers=True)
    call = Call.objects.get()
    assert call.outcome == "voicemail" and call.recording_sid
    assert CallbackRequest.objects.get().number == "+8613800138000"
    assert "<Record" in out and "+8613800138000" not in out
    assert fake_twilio.requests == []  # the console transport, never the network


def test_simulate_unknown_number(scene):
    out = StringIO()
    call_command("simulate_call", to="+8610000000000", stdout=out, stderr=StringIO())
    assert "not in service" in out.getvalue() and not Call.objects.exists()
