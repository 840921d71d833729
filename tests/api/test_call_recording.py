"""GET /api/v1/calls/{id}/recording/ and the `recording` field of calls and callbacks: our
own endpoint's URL for those who may hear the voicemail, null for others; never Twilio's."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from hotline.calls.recordings import AUDIT_ACTION
from hotline.models import AuditLog, Call, CallbackRequest
from hotline.telephony import client as telephony
from tests.support import factories as f
from tests.support.twilio import FakeTwilioHttp

NOW = f.at(2026, 3, 2, 10)
RECORDING = "RE" + "4" * 32
AUDIO = b"ID3" + bytes(5000)


@pytest.fixture
def fake_twilio(monkeypatch):
    fake = FakeTwilioHttp()
    fake.recordings[RECORDING] = AUDIO
    monkeypatch.setattr(telephony, "http_client", fake)
    return fake


@pytest.fixture
def scene(db, supervisor, volunteer, fake_twilio):
    hotline = f.hotline()
    roster = f.roster(hotline_=hotline, status="published")
    f.assignment(
        shift_=f.shift(roster_=roster, required_supervisors=1),
        volunteer_=supervisor,
        role="supervisor",
    )
    voicemail = Call.objects.create(
        call_sid="CA" + "6" * 32,
        hotline=hotline,
        arrived_at=NOW,
        outcome="voicemail",
        recording_sid=RECORDING,
    )
    CallbackRequest.objects.create(
        call=voicemail, hotline=hotline, number="+8613800136666", requested_at=NOW
    )
    elsewhere = Call.objects.create(
        call_sid="CA" + "7" * 32,
        hotline=f.hotline(),
        arrived_at=NOW,
        outcome="voicemail",
        recording_sid=RECORDING,
    )
    # a call the supervisor answered on a hotline they do not supervise: visible, not audible
    answered = Call.objects.create(
        call_sid="CA" + "8" * 32,
        hotline=elsewhere.hotline,
        arrived_at=NOW,
        outcome="answered",
        answered_by=supervisor,
        recording_sid=RECORDING,
    )
    return {"voicemail": voicemail, "elsewhere": elsewhere, "answered": answered}


def _as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def path(call) -> str:
    return f"/api/v1/calls/{call.pk}/recording/"


def test_coordinator_streams_the_recording(scene, coordinator_api, coordinator, fake_twilio):
    response = coordinator_api.get(path(scene["voicemail"]), HTTP_ACCEPT="audio/mpeg")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == AUDIO
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Cache-Control"] == "private, no-store"
    entry = AuditLog.objects.get(action=AUDIT_ACTION)
    assert (entry.actor, entry.object_id, entry.detail) == (
        coordinator,
        scene["voicemail"].pk,
        {"via": "api"},
    )
    assert "/Recordings/" + RECORDING in fake_twilio.media_requests[0][0]


def test_supervisor_hears_their_hotlines_only(scene, supervisor):
    api = _as(supervisor.user)
    assert api.get(path(scene["voicemail"])).status_code == 200
    for call in (scene["elsewhere"], scene["answered"]):
        response = api.get(path(call))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_volunteer_and_outsider_get_404_like_a_missing_call(scene, volunteer_api, outsider):
    for api in (volunteer_api, _as(outsider)):
        assert api.get(path(scene["voicemail"])).status_code == 404
        assert api.get("/api/v1/calls/999999/recording/").status_code == 404
    assert not AuditLog.objects.filter(action=AUDIT_ACTION).exists()


def test_anonymous_is_refused(scene, api):
    assert api.get(path(scene["voicemail"])).status_code in (401, 403)


def test_twilio_failures_are_json_errors(scene, coordinator_api, fake_twilio):
    fake_twilio.media_status = 500
    response = coordinator_api.get(path(scene["voicemail"]))
    assert response.status_code == 502 and response.json()["code"] == "recording_unavailable"
    fake_twilio.media_status = None
    fake_twilio.recordings.clear()
    response = coordinator_api.get(path(scene["voicemail"]))
    assert response.status_code == 410 and response.json()["code"] == "recording_gone"


def test_recording_field_is_our_url_or_null(scene, coordinator_api, supervisor):
    rows = {r["id"]: r for r in coordinator_api.get("/api/v1/calls/").json()["results"]}
    assert rows[scene["voicemail"].pk]["recording"] == (
        f"http://testserver{path(scene['voicemail'])}"
    )
    rows = {r["id"]: r for r in _as(supervisor.user).get("/api/v1/calls/").json()["results"]}
    assert rows[scene["voicemail"].pk]["recording"].endswith(path(scene["voicemail"]))
    assert rows[scene["answered"].pk]["recording"] is None  # seen, not theirs to hear
    detail = coordinator_api.get(f"/api/v1/calls/{scene['voicemail'].pk}/").json()
    assert detail["recording"].endswith(path(scene["voicemail"]))
    callbacks = coordinator_api.get("/api/v1/callbacks/").json()["results"]
    assert [c["recording"] for c in callbacks] == [f"http://testserver{path(scene['voicemail'])}"]
    everything = str(coordinator_api.get("/api/v1/calls/").json()) + str(callbacks)
    assert "api.twilio.com" not in everything and RECORDING not in everything
