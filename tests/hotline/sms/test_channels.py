"""One interface, several channels: each person's order with fallback, the kinds' defaults,
per-recipient hourly limits, texts without links, preferences through the API, and the
provider base URLs from settings."""

import pytest
from rest_framework.test import APIClient

from hotline.models import Message
from hotline.sms import backends, channels
from hotline.sms import outbox as sms
from hotline.telephony import client as twilio
from tests.support import factories as f
from tests.support.twilio import FakeTwilioHttp

US = "+14155550199"


@pytest.fixture(autouse=True)
def fake_twilio(monkeypatch):
    fake = FakeTwilioHttp()
    monkeypatch.setattr(twilio, "http_client", fake)
    backends.outbox.clear()
    return fake


def send(v, key, *, kind="reminder", body="Your shift starts at 20:00. http://x/me/", **kw):
    return sms.sms_send(
        to=v.phone_number, body=body, dedupe_key=key, purpose=kind, recipient=v, **kw
    )


def test_plan_follows_the_persons_order_else_the_kinds_default(db, settings):
    settings.WECOM_CORP_ID, settings.WECOM_AGENT_ID, settings.WECOM_SECRET = "ww", "1", "s"
    v = f.volunteer(phone_number=US, wecom_user_id="li")
    assert channels.plan(v, "escalation") == ["wecom", "voice", "sms"]
    assert channels.plan(v, "reminder") == ["wecom", "sms"]
    v.channels = ["sms", "voice"]
    assert channels.plan(v, "escalation") == ["sms", "voice"]
    # what cannot reach them is left out: no WeCom id, a mainland number for voice
    china = f.volunteer(phone_number="+8613800000001")
    assert channels.plan(china, "escalation") == ["sms"]
    # nothing left: SMS as the last resort
    china.channels = ["voice"]
    assert channels.plan(china, "escalation") == ["sms"]


def test_previous_rounds_channel_goes_last(db):
    v = f.volunteer(phone_number=US)
    assert channels.plan(v, "escalation", used_before="voice") == ["sms", "voice"]
    assert channels.plan(v, "escalation", used_before="sms") == ["voice", "sms"]


def test_same_key_never_makes_a_second_message(db, django_capture_on_commit_callbacks):
    v = f.volunteer()
    with django_capture_on_commit_callbacks(execute=True):
        send(v, "k1")
        send(v, "k1")
    assert Message.objects.count() == 1 and len(backends.outbox) == 1


def test_provider_refusal_moves_to_next_channel_and_is_recorded(
    db, settings, fake_twilio, django_capture_on_commit_callbacks
):
    v = f.volunteer(phone_number=US, channels=["sms", "voice"])
    settings.SMS_BACKEND = "twilio"
    fake_twilio.sms_fail[US] = 400  # Twilio refuses the SMS (e.g. a template mismatch)
    with django_capture_on_commit_callbacks(execute=True):
        m = send(v, "k2", kind="escalation")
    m.refresh_from_db()
    assert (m.channel, m.status) == ("voice", "sent")
    assert m.channel_log[0]["channel"] == "sms" and "Twilio 400" in m.channel_log[0]["outcome"]
    assert fake_twilio.dialled() == [US]


def test_last_channel_failing_fails_the_message_visibly(
    db, settings, fake_twilio, django_capture_on_commit_callbacks
):
    v = f.volunteer(phone_number=US, channels=["voice"])
    fake_twilio.fail[US] = 400
    with django_capture_on_commit_callbacks(execute=True):
        m = send(v, "k3", kind="escalation")
    m.refresh_from_db()
    assert m.status == "failed" and "Twilio 400" in m.last_error


def test_hourly_limit_per_recipient_and_kind(db, settings, django_capture_on_commit_callbacks):
    settings.MESSAGE_HOURLY_LIMIT = 2
    v = f.volunteer(channels=["sms"])
    other = f.volunteer(channels=["sms"])
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            send(v, f"lim{n}", body=f"reminder {n}")
        send(other, "lim-other")
        send(v, "lim-swap", kind="swap", body="another kind")
    statuses = dict(Message.objects.values_list("dedupe_key", "status"))
    assert statuses == {
        "lim0": "sent",
        "lim1": "sent",
        "lim2": "failed",
        "lim-other": "sent",
        "lim-swap": "sent",
    }
    assert "hourly limit of 2" in Message.objects.get(dedupe_key="lim2").last_error
    assert len(backends.outbox) == 4


def test_over_the_limit_on_one_channel_uses_the_next(
    db, settings, fake_twilio, django_capture_on_commit_callbacks
):
    settings.MESSAGE_HOURLY_LIMIT = 1
    v = f.volunteer(phone_number=US, channels=["sms", "voice"])
    with django_capture_on_commit_callbacks(execute=True):
        first = send(v, "a", body="one")
        second = send(v, "b", body="two")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.channel, second.channel) == ("sms", "voice")
    assert fake_twilio.dialled() == [US]


def test_plain_text_sms_carry_no_link_and_no_reply_code(
    db, settings, django_capture_on_commit_callbacks
):
    settings.SMS_PLAIN_TEXT = True
    v = f.volunteer(channels=["sms"])
    params = {"hotline": "Xinyang line", "code": "4821", "escalation": 1, "tier": 1, "round": 1}
    with django_capture_on_commit_callbacks(execute=True):
        send(v, "p1", kind="escalation", body="Reply ACK 4821. http://x/crisis/1/", params=params)
        send(v, "p2", body="Your shift changed. Details: http://x/me/")
    esc, other = (m["body"] for m in backends.outbox)
    assert "http" not in esc and "ACK" not in esc and "4821" in esc and "WeCom" in esc
    assert other == "Your shift changed."


def test_every_provider_base_url_comes_from_settings(db, settings, fake_twilio):
    settings.TWILIO_API_BASE = "http://127.0.0.1:18650"
    twilio.send_sms(to=US, from_="+15550000000", body="hi")
    assert fake_twilio.requests[-1][1].startswith("http://127.0.0.1:18650/2010-04-01/Accounts/")


# --- preferences in the API ------------------------------------------------------------------


def test_volunteer_sets_own_channels_through_the_api(db):
    v = f.volunteer()
    api = APIClient()
    api.force_authenticate(v.user)
    assert api.get("/api/v1/me/channels/").json() == {"channels": [], "wecom_user_id": ""}
    r = api.put(
        "/api/v1/me/channels/",
        {"channels": ["wecom", "sms"], "wecom_user_id": "LiNa"},
        format="json",
    )
    assert r.status_code == 200, r.content
    v.refresh_from_db()
    assert (v.channels, v.wecom_user_id) == (["wecom", "sms"], "LiNa")


@pytest.mark.parametrize("bad", [["fax"], ["sms", "sms"]])
def test_bad_channel_order_is_refused_and_changes_nothing(db, bad):
    v = f.volunteer(channels=["sms"])
    api = APIClient()
    api.force_authenticate(v.user)
    r = api.put("/api/v1/me/channels/", {"channels": bad}, format="json")
    assert r.status_code == 400 and "channels" in r.json()["errors"]
    v.refresh_from_db()
    assert v.channels == ["sms"]


def test_coordinator_sees_and_sets_channels_on_the_volunteer(db, coordinator):
    v = f.volunteer()
    api = APIClient()
    api.force_authenticate(coordinator)
    r = api.patch(f"/api/v1/volunteers/{v.pk}/", {"channels": ["voice", "sms"]}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["channels"] == ["voice", "sms"]
    v.refresh_from_db()
    assert v.channels == ["voice", "sms"]


# --- preferences on the volunteer's own page -------------------------------------------------


def test_volunteer_sets_channels_on_their_page(db, client):
    v = f.volunteer()
    client.force_login(v.user)
    page = client.get("/me/shifts/").content.decode()
    assert "How messages reach you" in page
    r = client.post("/me/channels/", {"channel": ["voice", "sms", ""], "wecom_user_id": "LiNa"})
    assert r.status_code == 302
    v.refresh_from_db()
    assert (v.channels, v.wecom_user_id) == (["voice", "sms"], "LiNa")
    page = client.get("/me/shifts/").content.decode()
    assert '<option value="voice" selected>' in page


def test_same_channel_twice_on_the_page_is_refused(db, client):
    v = f.volunteer(channels=["sms"])
    client.force_login(v.user)
    r = client.post("/me/channels/", {"channel": ["sms", "sms"]}, follow=True)
    assert "Name each channel once." in r.content.decode()
    v.refresh_from_db()
    assert v.channels == ["sms"]


def test_carrier_reporting_undelivered_moves_to_the_next_channel(
    db, settings, fake_twilio, client, django_capture_on_commit_callbacks
):
    from tests.support.twilio import fixture, signed_post

    settings.SMS_BACKEND = "twilio"
    v = f.volunteer(phone_number=US, channels=["sms", "voice"])
    with django_capture_on_commit_callbacks(execute=True):
        m = send(v, "u1", kind="escalation")
    m.refresh_from_db()
    assert (m.channel, m.status) == ("sms", "sent")
    report = {**fixture("sms-status-failed"), "MessageSid": m.twilio_sid, "SmsSid": m.twilio_sid}
    report["MessageStatus"] = report["SmsStatus"] = "undelivered"
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, "/twilio/sms/status", report).status_code == 200
    m.refresh_from_db()
    assert (m.channel, m.status) == ("voice", "sent")
    assert "Twilio reported undelivered" in m.channel_log[0]["outcome"]
    assert fake_twilio.dialled() == [US]


def test_message_queued_by_older_code_is_a_plain_sms(db, django_capture_on_commit_callbacks):
    """A rolling upgrade: a worker still on the old code inserts without the new columns."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO hotline_message (dedupe_key, "to", from_number, body, purpose, status,'
            " attempts, last_error, next_attempt_at, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, 0, '', %s, %s, %s)",
            ["old:1", US, "+15550000000", "old text", "reminder", "queued", now, now, now],
        )
    m = Message.objects.get(dedupe_key="old:1")
    assert (m.channel, m.channels, m.channel_log, m.params) == ("sms", [], [], {})
    assert sms.message_deliver(m.pk) == "sent"
    assert backends.outbox[-1]["body"] == "old text"
