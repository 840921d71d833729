"""Voicemail played through us: only those who work the call's callback queue hear it (a 404
for anyone else, as for a call that does not exist), each listening is audited, the audio is
fetched from Twilio with our credentials (the fake transport here) and never cached, and
Twilio's own recording URL is never stored or shown."""

from __future__ import annotations

import datetime as dt

import pytest

from hotline.calls.recordings import AUDIT_ACTION
from hotline.models import AuditLog, Call, CallbackRequest
from tests.support import factories as f
from tests.support.crisis import coordinator_with_phone
from tests.support.rawdb import raw_database_text
from tests.support.twilio import NOW, fixture

RECORDING = "RE" + "3" * 32
AUDIO = bytes(range(256)) * 40  # 10 kB of "MP3"


@pytest.fixture
def voicemail(scene, fake_twilio):
    """A voicemail with a callback request on the scene's hotline; a supervisor on shift
    there, another supervisor working only another hotline."""
    fake_twilio.recordings[RECORDING] = AUDIO
    call = Call.objects.create(
        call_sid="CA" + "5" * 32,
        hotline=scene.hotline,
        arrived_at=NOW,
        outcome=Call.Outcome.VOICEMAIL,
        caller_last4="7777",
        recording_sid=RECORDING,
        recording_duration=41,
    )
    CallbackRequest.objects.create(
        call=call, hotline=scene.hotline, number="+8613800137777", requested_at=NOW
    )
    elsewhere = f.roster(hotline_=f.hotline(), status="published")
    far_sup = f.volunteer(roles=("supervisor",))
    f.assignment(shift_=f.shift(roster_=elsewhere), volunteer_=far_sup, role="supervisor")
    return {
        "call": call,
        "sup": scene.on_shift("supervisor", role="supervisor"),
        "far_sup": far_sup,
        "counsellor": scene.on_shift("counsellor"),
        "coordinator": coordinator_with_phone().user,
    }


def url(call) -> str:
    return f"/calls/{call.pk}/recording/"


def test_coordinator_hears_the_voicemail_streamed_through_us(client, voicemail, fake_twilio):
    client.force_login(voicemail["coordinator"])
    response = client.get(url(voicemail["call"]))
    assert response.status_code == 200 and response.streaming
    assert b"".join(response.streaming_content) == AUDIO
    response.close()
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert (
        response["Content-Disposition"]
        == f'inline; filename="voicemail-{voicemail["call"].pk}.mp3"'
    )
    # fetched from Twilio's REST API with our account's credentials, then closed
    ((uri, auth, _headers),) = fake_twilio.media_requests
    assert uri == (
        "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000"
        f"/Recordings/{RECORDING}.mp3"
    )
    assert auth == ("AC00000000000000000000000000000000", "test-auth-token")
    assert fake_twilio.closed_media == 1


def test_each_listening_is_audited_once_per_window(client, voicemail, clock):
    client.force_login(voicemail["coordinator"])
    client.get(url(voicemail["call"]))
    client.get(url(voicemail["call"]), headers={"Range": "bytes=0-1"})  # the player seeks
    (entry,) = AuditLog.objects.filter(action=AUDIT_ACTION)
    assert (entry.actor, entry.object_type, entry.object_id, entry.detail) == (
        voicemail["coordinator"],
        "call",
        voicemail["call"].pk,
        {"via": "web"},
    )
    clock.advance(minutes=11)
    client.get(url(voicemail["call"]))
    assert AuditLog.objects.filter(action=AUDIT_ACTION).count() == 2


def test_supervisor_of_the_hotline_hears_it(client, voicemail):
    client.force_login(voicemail["sup"].user)
    assert client.get(url(voicemail["call"])).status_code == 200


@pytest.mark.parametrize("who", ["far_sup", "counsellor", "outsider"])
def test_anyone_else_gets_the_same_404_as_for_no_call(client, voicemail, who, fake_twilio):
    user = f.user() if who == "outsider" else voicemail[who].user
    client.force_login(user)
    assert client.get(url(voicemail["call"])).status_code == 404
    assert client.get("/calls/999999/recording/").status_code == 404
    assert fake_twilio.media_requests == []
    assert not AuditLog.objects.filter(action=AUDIT_ACTION).exists()


def test_call_without_voicemail_is_404(client, voicemail):
    Call.objects.filter(pk=voicemail["call"].pk).update(recording_sid="")
    client.force_login(voicemail["coordinator"])
    assert client.get(url(voicemail["call"])).status_code == 404


def test_anonymous_is_sent_to_log_in(client, voicemail):
    response = client.get(url(voicemail["call"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_byte_ranges_are_passed_on(client, voicemail, fake_twilio):
    client.force_login(voicemail["coordinator"])
    response = client.get(url(voicemail["call"]), headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == AUDIO[100:200]
    assert response["Content-Range"] == f"bytes 100-199/{len(AUDIO)}"
    assert fake_twilio.media_requests[0][2] == {"Range": "bytes=100-199"}


def test_twilio_down_is_a_502_and_nothing_audited(client, voicemail, fake_twilio):
    fake_twilio.media_status = 503
    client.force_login(voicemail["coordinator"])
    response = client.get(url(voicemail["call"]))
    assert response.status_code == 502 and response["Cache-Control"] == "private, no-store"
    assert not AuditLog.objects.filter(action=AUDIT_ACTION).exists()
    assert fake_twilio.closed_media == 1


def test_recording_deleted_at_twilio_is_410(client, voicemail, fake_twilio):
    fake_twilio.recordings.clear()
    client.force_login(voicemail["coordinator"])
    assert client.get(url(voicemail["call"])).status_code == 410


def test_pages_link_our_player_never_twilio(client, voicemail):
    client.force_login(voicemail["coordinator"])
    for page in ("/calls/callbacks/", "/calls/"):
        body = client.get(page).content.decode()
        assert f'src="{url(voicemail["call"])}"' in body, page
        assert 'preload="none"' in body  # nothing is fetched (or audited) before play
        assert "api.twilio.com" not in body and RECORDING not in body
    assert not AuditLog.objects.filter(action=AUDIT_ACTION).exists()


def test_call_list_offers_no_player_to_who_may_not_hear(client, voicemail):
    Call.objects.filter(pk=voicemail["call"].pk).update(answered_by=voicemail["counsellor"])
    client.force_login(voicemail["counsellor"].user)
    body = client.get("/calls/").content.decode()
    assert "…7777" in body and "/recording/" not in body
    # seeing the call is not hearing its voicemail: that is for the callback queue's people
    assert client.get(url(voicemail["call"])).status_code == 404


def test_recorded_webhook_keeps_only_the_sid(scene, tw, voicemail):
    call = voicemail["call"]
    Call.objects.filter(pk=call.pk).update(recording_sid="")
    data = fixture("voice-record-done")
    assert tw(f"/twilio/voice/recorded?call={call.pk}", data).status_code == 200
    call.refresh_from_db()
    assert call.recording_sid == data["RecordingSid"]
    assert data["RecordingUrl"] not in raw_database_text()
    assert not hasattr(call, "recording_url")


def test_recordings_are_erased_with_their_retention(voicemail, settings):
    from hotline.crisis.retention import purge_expired

    settings.RETENTION_DAYS_RECORDING = 90
    purge_expired(now=NOW + dt.timedelta(days=91))
    voicemail["call"].refresh_from_db()
    assert voicemail["call"].recording_sid == ""
