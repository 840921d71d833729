"""Routing by what the caller needs: the hotline's second menu (a female counsellor, a
language), honoured while someone who fits is on shift, relaxed after the hotline's
preference wait rather than losing the caller."""

import pytest
from django.core.exceptions import ValidationError

from hotline.models import Call, CallAttempt
from tests.support.twilio import call_data, fixture

A = "CA" + "1" * 32
B = "CA" + "2" * 32


def press(tw, sid, digits):
    data = {**fixture("voice-gather-digits"), "CallSid": sid, "Digits": digits}
    return tw("/twilio/voice/menu", data).content.decode()


def arrive(tw, sid, service="1", wants=None):
    assert tw("/twilio/voice/incoming", call_data(sid)).status_code == 200
    body = press(tw, sid, service)
    if wants is not None:
        body = press(tw, sid, wants)
    return body


def offered(sid):
    return [
        a.volunteer
        for a in CallAttempt.objects.filter(call__call_sid=sid, result="").select_related(
            "volunteer"
        )
    ]


@pytest.fixture
def prefs(scene):
    scene.hotline.preference_options = ["female", "lang:en"]
    scene.hotline.preference_wait_seconds = 60
    scene.hotline.ring_batch_size = 3
    scene.hotline.save()
    return scene


def test_second_menu_offers_the_hotlines_options(prefs, tw, fake_twilio):
    prefs.on_shift("counsellor")
    body = arrive(tw, A, "1")
    assert "no preference, press 1" in body
    assert "female counsellor, press 2" in body and "English, press 3" in body
    assert fake_twilio.dialled() == []  # nobody rung before the caller said
    body = press(tw, A, "2")
    assert "<Enqueue" in body
    assert Call.objects.get(call_sid=A).wants == "female"


def test_without_options_there_is_no_second_menu(scene, tw):
    scene.on_shift("counsellor")
    assert "<Enqueue" in arrive(tw, A, "1")


def test_female_counsellor_asked_for_is_the_one_rung(prefs, tw, fake_twilio):
    prefs.on_shift("counsellor", gender="male")
    she = prefs.on_shift("counsellor", gender="female")
    prefs.on_shift("counsellor")  # not stated
    arrive(tw, A, "1", wants="2")
    assert offered(A) == [she]


def test_language_asked_for_is_honoured(prefs, tw):
    prefs.on_shift("counsellor", languages=["zh"])
    english = prefs.on_shift("counsellor", languages=["zh", "en"])
    arrive(tw, A, "1", wants="3")
    assert offered(A) == [english]


def test_preference_waits_for_a_busy_fit_then_is_relaxed(prefs, tw, fake_twilio, clock):
    prefs.hotline.ring_batch_size = 1
    prefs.hotline.save()
    she = prefs.on_shift("counsellor", gender="female")
    arrive(tw, B, "1", wants="1")  # another caller takes her first
    taken = CallAttempt.objects.select_related("volunteer").get(call__call_sid=B)
    assert taken.volunteer == she
    leg = {**fixture("voice-screen-answer"), "CallSid": taken.leg_sid, "Digits": "1"}
    tw(f"/twilio/voice/accept?attempt={taken.pk}", leg)  # she is talking to B
    he = prefs.on_shift("counsellor", gender="male")
    arrive(tw, A, "1", wants="2")
    assert offered(A) == []  # she is on shift, busy: the caller waits for her
    clock.advance(seconds=59)
    call = Call.objects.get(call_sid=A)
    tw(f"/twilio/voice/hold?call={call.pk}", call_data(A))
    assert offered(A) == []
    clock.advance(seconds=2)
    tw(f"/twilio/voice/hold?call={call.pk}", call_data(A))
    assert offered(A) == [he]  # relaxed rather than losing the caller


def test_preference_nobody_on_shift_fits_is_relaxed_at_once(prefs, tw):
    he = prefs.on_shift("counsellor", gender="male")
    arrive(tw, A, "1", wants="2")
    assert offered(A) == [he]


def test_no_key_in_the_second_menu_means_no_preference(prefs, tw):
    v = prefs.on_shift("counsellor")
    tw("/twilio/voice/incoming", call_data(A))
    press(tw, A, "1")
    body = tw(
        "/twilio/voice/menu", {**fixture("voice-gather-timeout"), "CallSid": A}
    ).content.decode()
    assert "<Enqueue" in body
    assert Call.objects.get(call_sid=A).wants == "" and offered(A) == [v]


@pytest.mark.parametrize("bad", [["male"], ["lang:"], ["female", "female"], "female", [1]])
def test_preference_options_are_checked(scene, bad):
    scene.hotline.preference_options = bad
    with pytest.raises(ValidationError) as err:
        scene.hotline.full_clean()
    assert "preference_options" in err.value.message_dict
