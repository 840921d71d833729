"""What each channel hands its provider, found unpinned by a `make mutants` run of
hotline/sms/channels.py (issue 19): the alert call placed to the right number from the
right caller ID with the right TwiML URLs and ring time, a refusal told apart as for good
or for now; the WeCom card's recipient and words; the order of channels a person's
messages try. Each test names the mutants it kills (`hotline.sms.channels.x…`)."""

import datetime as dt
import json

import pytest
from twilio.http.response import Response

from hotline.models import Message
from hotline.sms import backends, channels
from hotline.sms.backends import SendError
from hotline.telephony import client as twilio
from hotline.wecom import client as wecom
from tests.support import factories as f
from tests.support.twilio import FakeTwilioHttp

US = "+14155550199"
OLD = "+14155550111"  # the number the message was queued to, before the person changed it
HOTLINE = "+14155550000"
CA = "CA" + "7" * 32


class TwilioWithCalls(FakeTwilioHttp):
    """The fake transport, also answering a list of calls (a lookup) with `listed`, and
    keeping each list request's query."""

    def __init__(self):
        super().__init__()
        self.listed: list[dict] = []
        self.queries: list[dict] = []

    def request(self, method, uri, params=None, data=None, **kw):
        if method == "GET" and uri.endswith("/Calls.json"):
            self.queries.append(dict(params or {}))
            page = {"calls": self.listed, "next_page_uri": None, "uri": uri}
            return Response(200, json.dumps(page))
        return super().request(method, uri, params=params, data=data, **kw)


@pytest.fixture(autouse=True)
def fake_twilio(monkeypatch):
    fake = TwilioWithCalls()
    monkeypatch.setattr(twilio, "http_client", fake)
    backends.outbox.clear()
    return fake


def message(*, recipient=None, to=OLD, channel="voice", **kw) -> Message:
    kw.setdefault("from_number", HOTLINE)
    return Message.objects.create(
        dedupe_key=f"k{Message.objects.count()}",
        to=to,
        body=kw.pop("body", "Your shift starts at 20:00."),
        purpose=kw.pop("purpose", "reminder"),
        recipient=recipient,
        channel=channel,
        **kw,
    )


def placed(fake) -> list[dict]:
    return [d for m, u, d in fake.requests if m == "POST" and u.endswith("/Calls.json")]


# --- the alert call --------------------------------------------------------------------------


def test_alert_call_rings_the_persons_own_number_with_the_alert_webhooks(db, settings, fake_twilio):
    """Kills VoiceChannel.send 1–4 (whose number), 15–24 (the arguments handed on) and
    voice_urls 1–7 (the base URL's slash, the message's id in both URLs)."""
    settings.TWILIO_WEBHOOK_BASE_URL = "https://hooks.example.org/"
    settings.VOICE_ALERT_RING_SECONDS = 25
    person = f.volunteer(phone_number=US)
    m = message(recipient=person, params={"caller_id": "+14155550777"})
    sid = channels.send(m)
    (call,) = placed(fake_twilio)
    assert sid == f"CA{fake_twilio.count:032d}"  # the call's SID, to match its callbacks
    assert call["To"] == US  # today's number, not the one the message was queued to
    assert call["From"] == "+14155550777"  # the hotline's own number, from the alert
    assert call["Url"] == f"https://hooks.example.org/twilio/voice/alert?m={m.pk}"
    assert call["StatusCallback"] == (
        f"https://hooks.example.org/twilio/voice/alert-status?m={m.pk}"
    )
    assert call["Timeout"] == 25


def test_alert_call_without_a_recipient_rings_the_messages_number(db, fake_twilio):
    m = message(to=US)
    channels.VoiceChannel().send(m)
    assert fake_twilio.dialled() == [US]


def test_alert_call_urls_without_a_webhook_base_are_the_sites(db, settings, fake_twilio):
    """Kills voice_urls' `base + path if base else site_url(path)` turned round."""
    settings.TWILIO_WEBHOOK_BASE_URL = ""
    settings.SITE_URL = "https://roster.example.org"
    m = message(to=US)
    channels.send(m)
    (call,) = placed(fake_twilio)
    assert call["Url"] == f"https://roster.example.org/twilio/voice/alert?m={m.pk}"
    assert call["StatusCallback"] == (
        f"https://roster.example.org/twilio/voice/alert-status?m={m.pk}"
    )


@pytest.mark.parametrize("params", [{}, {"caller_id": ""}])
def test_alert_call_without_a_caller_id_comes_from_the_sms_sender(db, fake_twilio, params):
    m = message(to=US, from_number="+14155550888", params=params)
    channels.send(m)
    assert placed(fake_twilio)[0]["From"] == "+14155550888"


@pytest.mark.parametrize("sender", ["", "MG" + "0" * 32])
def test_alert_call_with_no_number_to_call_from_fails_for_good(db, fake_twilio, sender):
    """A Messaging Service SID cannot place a call: nothing dialled, no retry."""
    m = message(to=US, from_number=sender)
    with pytest.raises(SendError) as refused:
        channels.send(m)
    assert str(refused.value) == "no number to call from" and refused.value.permanent is True
    assert placed(fake_twilio) == []


@pytest.mark.parametrize("number", ["", "+8613800000001"])
def test_alert_call_to_a_number_the_provider_cannot_call_fails_for_good(db, fake_twilio, number):
    person = f.volunteer(phone_number=number or US)
    if not number:
        person.phone_number = ""  # a number removed since the message was queued
    m = message(recipient=person, to=US)
    with pytest.raises(SendError) as refused:
        channels.send(m)
    assert str(refused.value) == "the voice provider cannot call this number"
    assert refused.value.permanent is True
    assert placed(fake_twilio) == []


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (404, True), (503, False)])
def test_a_refused_alert_call_is_for_good_only_when_twilio_says_4xx(
    db, fake_twilio, status, permanent
):
    fake_twilio.fail[US] = status
    m = message(to=US)
    with pytest.raises(SendError) as refused:
        channels.send(m)
    assert str(refused.value).startswith(f"Twilio {status} 13223")
    assert refused.value.permanent is permanent


# --- did the provider already get it? --------------------------------------------------------


def test_lookup_asks_twilio_for_a_call_to_the_person_since_the_message_was_claimed(
    db, settings, fake_twilio
):
    """Kills VoiceChannel.lookup 1–10: whose number, since when, the provider's answer."""
    import datetime as dt

    settings.TWILIO_VOICE_BACKEND = "twilio"
    claimed = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
    person = f.volunteer(phone_number=US)
    m = message(recipient=person, claimed_at=claimed)
    fake_twilio.listed = [{"sid": CA, "to": US, "status": "ringing"}]
    assert channels.lookup(m) == CA
    (query,) = fake_twilio.queries
    assert query["To"] == US
    assert query["StartTime>"] == "2026-03-02T11:59:00Z"

    fake_twilio.listed = []
    assert channels.lookup(message(to=US, claimed_at=claimed)) is None
    assert fake_twilio.queries[-1]["To"] == US


def test_lookup_on_the_console_backend_cannot_tell(db, settings, fake_twilio):
    settings.TWILIO_VOICE_BACKEND = "console"
    fake_twilio.listed = [{"sid": CA, "to": US, "status": "ringing"}]
    assert channels.lookup(message(to=US)) is None
    assert fake_twilio.queries == []


# --- WeCom -----------------------------------------------------------------------------------


def test_wecom_card_goes_to_the_persons_user_id_with_the_alerts_words(db, fake_wecom):
    """Kills WeComChannel.send 1–13: recipient, title, description, link, button, msgid."""
    person = f.volunteer(phone_number=US, wecom_user_id="zhao", language="en")
    params = {"hotline": "Xinyang line", "code": "4821", "action_link": "https://x/take/1"}
    m = message(recipient=person, channel="wecom", purpose="escalation", params=params)
    assert channels.send(m) == "msg1"
    (card,) = fake_wecom.accepted
    assert card["touser"] == "zhao"
    assert card["textcard"] == {
        "title": "Crisis escalation: Xinyang line",
        "description": "Code 4821. Nobody has taken it yet.",
        "url": "https://x/take/1",
        "btntxt": "Take it",
    }


def test_wecom_without_a_message_id_answers_one_of_ours(db, fake_wecom, monkeypatch):
    person = f.volunteer(wecom_user_id="zhao")
    m = message(recipient=person, channel="wecom")
    monkeypatch.setattr(wecom, "card_send", lambda **kw: "")
    assert channels.send(m) == f"wecom-{m.pk}"


@pytest.mark.parametrize("who", ["nobody", "no id"])
def test_wecom_with_no_user_id_fails_for_good_and_sends_nothing(db, fake_wecom, who):
    person = None if who == "nobody" else f.volunteer(wecom_user_id="")
    m = message(recipient=person, channel="wecom")
    with pytest.raises(SendError) as refused:
        channels.send(m)
    assert str(refused.value) == "no WeCom user id" and refused.value.permanent is True
    assert fake_wecom.cards() == []


@pytest.mark.parametrize(
    ("fault", "text", "permanent"),
    [
        ("unknown user", "WeCom has no member with the user id 'li'", True),
        ("down", "WeCom unreachable: WeCom unreachable", False),
    ],
)
def test_wecom_refusal_is_for_good_only_when_wecom_says_so(db, fake_wecom, fault, text, permanent):
    person = f.volunteer(wecom_user_id="li" if fault == "unknown user" else "zhao")
    fake_wecom.down = fault == "down"
    with pytest.raises(SendError) as refused:
        channels.send(message(recipient=person, channel="wecom"))
    assert str(refused.value) == text and refused.value.permanent is permanent


def test_wecom_cannot_be_asked_whether_it_got_a_card(db):
    m = message(recipient=f.volunteer(wecom_user_id="zhao"), channel="wecom")
    assert channels.lookup(m) == backends.UNKNOWN


# --- the order of channels -------------------------------------------------------------------


def test_channel_order_falls_back_to_the_default_then_to_sms(db, settings):
    """Kills preferred 1–5: the kind's default, the "default" entry, SMS alone."""
    v = f.volunteer(phone_number=US)
    settings.MESSAGE_CHANNELS = {"escalation": ["voice", "sms"], "default": ["voice"]}
    assert channels.preferred(v, "escalation") == ["voice", "sms"]
    assert channels.preferred(v, "reminder") == ["voice"]
    settings.MESSAGE_CHANNELS = {"escalation": ["voice", "sms"]}
    assert channels.preferred(v, "reminder") == ["sms"]
    # the person's own order first; unknown names and repeats dropped, the order kept
    v.channels = ["fax", "voice", "sms", "voice"]
    assert channels.preferred(v, "escalation") == ["voice", "sms"]


def test_a_message_with_no_channel_goes_by_sms(db, django_capture_on_commit_callbacks):
    m = message(to=US, channel="")
    assert channels.send(m) and backends.outbox[-1]["to"] == US


def test_next_channel_follows_the_messages_order(db):
    m = message(to=US, channels=["wecom", "voice", "sms"], channel="wecom")
    assert channels.next_channel(m) == "voice"
    m.channel = "voice"
    assert channels.next_channel(m) == "sms"
    m.channel = "sms"
    assert channels.next_channel(m) is None
    m.channel, m.channels = "voice", ["sms"]
    assert channels.next_channel(m) is None


def test_sms_lookup_finds_the_text_the_provider_already_took(db):
    """A worker that died after handing the SMS over: the outbox finds it, not sends again.
    Kills SmsChannel.lookup 1."""
    m = message(to=US, channel="sms")
    sid = channels.send(m)
    assert channels.lookup(m) == sid
    assert channels.lookup(message(to=US, channel="sms", body="another text")) is None


def test_a_channel_name_the_code_does_not_know_reaches_nobody(db):
    """Kills reachable 8."""
    v = f.volunteer(phone_number=US, wecom_user_id="zhao")
    assert channels.reachable(v, "fax") is False


# --- the hourly limit ------------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def sent(person, *, ago, channel="sms", purpose="reminder") -> Message:
    return message(
        recipient=person,
        to=person.phone_number,
        channel=channel,
        purpose=purpose,
        status=Message.Status.SENT,
        sent_at=NOW - ago,
    )


def test_a_kinds_own_hourly_limit_comes_before_the_general_one(db, settings):
    """Kills hourly_limit 1 and over_limit 17."""
    settings.MESSAGE_HOURLY_LIMIT = 5
    settings.MESSAGE_HOURLY_LIMITS = {"reminder": 1}
    v = f.volunteer(phone_number=US)
    sent(v, ago=dt.timedelta(minutes=10))
    assert channels.hourly_limit("reminder") == 1 and channels.hourly_limit("swap") == 5
    assert channels.over_limit(message(recipient=v, channel="sms"), "sms", NOW) is True
    swap = message(recipient=v, channel="sms", purpose="swap")
    assert channels.over_limit(swap, "sms", NOW) is False


def test_a_text_sent_over_an_hour_ago_no_longer_counts(db, settings):
    """Kills over_limit 15 (two hours)."""
    settings.MESSAGE_HOURLY_LIMIT = 1
    v = f.volunteer(phone_number=US)
    sent(v, ago=dt.timedelta(minutes=61))
    assert channels.over_limit(message(recipient=v, channel="sms"), "sms", NOW) is False
    sent(v, ago=dt.timedelta(minutes=59))
    assert channels.over_limit(message(recipient=v, channel="sms"), "sms", NOW) is True


def test_a_message_moved_on_to_voice_does_not_count_against_itself(
    db, settings, fake_twilio, client, django_capture_on_commit_callbacks
):
    """Texted, reported undelivered by the carrier, handed to voice: the message already
    has a sent time and now the voice channel; with a limit of one an hour it must not be
    its own reason to stop (the supervisor would never be called). Kills over_limit 4."""
    from hotline.sms import outbox as sms
    from tests.support.twilio import fixture, signed_post

    settings.MESSAGE_HOURLY_LIMITS = {"escalation": 1}
    settings.SMS_BACKEND = "twilio"
    v = f.volunteer(phone_number=US, channels=["sms", "voice"])
    with django_capture_on_commit_callbacks(execute=True):
        m = sms.sms_send(
            to=US, body="Crisis on the line", dedupe_key="u1", purpose="escalation", recipient=v
        )
    m.refresh_from_db()
    report = {**fixture("sms-status-failed"), "MessageSid": m.twilio_sid, "SmsSid": m.twilio_sid}
    report["MessageStatus"] = report["SmsStatus"] = "undelivered"
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, "/twilio/sms/status", report).status_code == 200
    m.refresh_from_db()
    assert (m.channel, m.status) == ("voice", "sent")
    assert fake_twilio.dialled() == [US]
