"""Alibaba Cloud SMS through the official SDK against a local fake endpoint: each kind maps
to its registered template and variables, no links, and refusals fall back or fail."""

import json

import pytest

from hotline.models import Message
from hotline.sms import outbox as sms
from tests.support import factories as f
from tests.support.aliyun import FakeAliyun


@pytest.fixture
def aliyun(settings):
    fake = FakeAliyun()
    settings.SMS_BACKEND = "aliyun"
    settings.ALIYUN_SMS_ENDPOINT = fake.endpoint
    settings.ALIYUN_ACCESS_KEY_ID = "LTAI-test"
    settings.ALIYUN_ACCESS_KEY_SECRET = "secret"
    settings.ALIYUN_SMS_SIGN_NAME = "心理援助热线"
    settings.ALIYUN_SMS_TEMPLATES = {
        "escalation": "SMS_100000001",
        "reminder": "SMS_100000002",
        "notice": "SMS_100000009",
    }
    yield fake
    fake.close()


def test_escalation_alert_uses_its_template_and_variables(
    db, aliyun, django_capture_on_commit_callbacks
):
    v = f.volunteer(phone_number="+8613800000123", channels=["sms"])
    with django_capture_on_commit_callbacks(execute=True):
        m = sms.sms_send(
            to=v.phone_number,
            body="Reply ACK 4821 to take it. http://x/crisis/escalations/1/",
            dedupe_key="esc:1:t1:r1:v1",
            purpose="escalation",
            recipient=v,
            params={"hotline": "信阳心理热线", "code": "4821", "escalation": 1},
        )
    (sent,) = aliyun.requests
    assert sent["Action"] == "SendSms" and sent["PhoneNumbers"] == "13800000123"
    assert "LTAI-test" in sent["Authorization"]  # signed with the account's key
    assert sent["SignName"] == "心理援助热线" and sent["TemplateCode"] == "SMS_100000001"
    assert json.loads(sent["TemplateParam"]) == {"hotline": "信阳心理热线", "code": "4821"}
    m.refresh_from_db()
    assert (m.status, m.twilio_sid) == ("sent", "900001^0")


def test_other_kinds_use_their_template_with_the_plain_text(
    db, aliyun, django_capture_on_commit_callbacks
):
    v = f.volunteer(channels=["sms"])
    with django_capture_on_commit_callbacks(execute=True):
        sms.sms_send(
            to=v.phone_number,
            body="Shift at 20:00. Details: http://x/me/",
            dedupe_key="r1",
            purpose="reminder",
            recipient=v,
        )
        sms.sms_send(
            to=v.phone_number,
            body="Voicemail waiting. http://x/",
            dedupe_key="vm1",
            purpose="voicemail",
        )
    reminder, voicemail = aliyun.requests
    assert reminder["TemplateCode"] == "SMS_100000002"
    assert json.loads(reminder["TemplateParam"]) == {"text": "Shift at 20:00."}
    assert voicemail["TemplateCode"] == "SMS_100000009"  # no own template: `notice`
    assert "http" not in voicemail["TemplateParam"]


def test_template_refused_moves_to_the_next_channel(
    db, aliyun, settings, django_capture_on_commit_callbacks
):
    settings.WECOM_CORP_ID, settings.WECOM_AGENT_ID, settings.WECOM_SECRET = "", "", ""
    aliyun.answer = {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "template mismatch"}
    v = f.volunteer(phone_number="+14155550123", channels=["sms", "voice"])
    with django_capture_on_commit_callbacks(execute=True):
        m = sms.sms_send(
            to=v.phone_number,
            body="x",
            dedupe_key="t1",
            purpose="escalation",
            recipient=v,
            params={"hotline": "H", "code": "1234", "escalation": 1},
        )
    m.refresh_from_db()
    assert m.channel == "voice"
    assert "isv.SMS_TEMPLATE_ILLEGAL" in m.channel_log[0]["outcome"]


def test_template_refused_on_the_last_channel_fails_for_good(
    db, aliyun, django_capture_on_commit_callbacks
):
    aliyun.answer = {"Code": "isv.SMS_TEMPLATE_ILLEGAL", "Message": "template mismatch"}
    v = f.volunteer(channels=["sms"])
    with django_capture_on_commit_callbacks(execute=True):
        m = sms.sms_send(
            to=v.phone_number, body="x", dedupe_key="t2", purpose="reminder", recipient=v
        )
    m.refresh_from_db()
    assert m.status == Message.Status.FAILED and m.attempts == 1


def test_rate_limit_is_retried_later(db, aliyun, django_capture_on_commit_callbacks):
    aliyun.answer = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "too many"}
    v = f.volunteer(channels=["sms"])
    with django_capture_on_commit_callbacks(execute=True):
        m = sms.sms_send(
            to=v.phone_number, body="x", dedupe_key="t3", purpose="reminder", recipient=v
        )
    m.refresh_from_db()
    assert m.status == Message.Status.QUEUED and m.next_attempt_at is not None


def test_kind_without_any_template_fails_with_a_clear_error(
    db, aliyun, settings, django_capture_on_commit_callbacks
):
    settings.ALIYUN_SMS_TEMPLATES = {"escalation": "SMS_1"}
    with django_capture_on_commit_callbacks(execute=True):
        m = sms.sms_send(to="+8613800000999", body="x", dedupe_key="t4", purpose="swap")
    m.refresh_from_db()
    assert m.status == "failed" and "no Alibaba Cloud template" in m.last_error
    assert aliyun.requests == []


def test_drop_ask_uses_the_swap_template_with_the_shift(
    db, aliyun, settings, django_capture_on_commit_callbacks
):
    settings.ALIYUN_SMS_TEMPLATES = {**settings.ALIYUN_SMS_TEMPLATES, "swap": "SMS_100000003"}
    v = f.volunteer(channels=["sms"])
    with django_capture_on_commit_callbacks(execute=True):
        sms.sms_send(
            to=v.phone_number,
            body="Can you take a hotline shift? Wed 20:00. Reply TAKE 7, or open http://x/swaps/",
            dedupe_key="drop:7:ask:1",
            purpose="swap",
            recipient=v,
            params={"drop": 7, "shift": "Wed 2027-03-24 20:00–08:00 Line A", "link": "http://x/"},
        )
    (sent,) = aliyun.requests
    assert sent["TemplateCode"] == "SMS_100000003"
    assert json.loads(sent["TemplateParam"]) == {"shift": "Wed 2027-03-24 20:00–08:00 Line A"}
