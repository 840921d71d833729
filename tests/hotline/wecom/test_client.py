"""The WeCom client through a fake transport: tokens cached, refreshed when WeCom says they
expired; a text card to one member; an unknown member and bad credentials are permanent."""

import pytest

from hotline.wecom import client as wecom
from tests.support.wecom import FakeWeCom


@pytest.fixture
def fake(settings, monkeypatch):
    settings.WECOM_CORP_ID = "ww0000"
    settings.WECOM_AGENT_ID = "1000002"
    settings.WECOM_SECRET = "wecom-secret"
    settings.WECOM_API_BASE = "http://127.0.0.1:18699"
    fake = FakeWeCom()
    monkeypatch.setattr(wecom, "transport", fake)
    from django.core.cache import cache

    cache.clear()
    return fake


def send(user_id="zhao"):
    return wecom.card_send(
        user_id=user_id, title="Crisis", description="Code 4821", url="https://x/t/1", button="Take"
    )


def test_card_goes_to_the_member_through_the_configured_base(fake):
    msgid = send()
    assert msgid == "msg1"
    (card,) = fake.accepted
    assert card["touser"] == "zhao" and card["msgtype"] == "textcard"
    assert card["agentid"] == 1000002
    assert card["textcard"] == {
        "title": "Crisis",
        "description": "Code 4821",
        "url": "https://x/t/1",
        "btntxt": "Take",
    }
    assert all(url.startswith("http://127.0.0.1:18699/cgi-bin/") for _, url, _, _ in fake.requests)


def test_token_is_cached_between_messages(fake):
    send()
    send()
    assert fake.tokens_issued == 1
    assert len(fake.accepted) == 2


def test_expired_token_is_refreshed_once_and_the_card_still_goes(fake):
    send()
    fake.expire_tokens()
    assert send() == "msg2"
    assert fake.tokens_issued == 2
    assert [p.get("access_token") for _, u, p, _ in fake.requests if u.endswith("/send")] == [
        "token-1",
        "token-1",
        "token-2",
    ]


def test_unknown_member_is_a_permanent_invalid_user_error(fake):
    with pytest.raises(wecom.WeComError) as err:
        send("nobody")
    assert err.value.permanent and err.value.invalid_user
    assert "nobody" in str(err.value)
    assert fake.accepted == []


def test_wrong_secret_is_permanent(fake, settings):
    settings.WECOM_SECRET = "wrong"
    with pytest.raises(wecom.WeComError) as err:
        send()
    assert err.value.permanent and not err.value.invalid_user


def test_unreachable_is_retryable(fake):
    fake.down = True
    with pytest.raises(wecom.WeComError) as err:
        send()
    assert not err.value.permanent


def test_rate_limit_is_retryable(fake):
    fake.errcode = 45009
    with pytest.raises(wecom.WeComError) as err:
        send()
    assert not err.value.permanent


def test_not_configured_is_permanent(settings):
    settings.WECOM_CORP_ID = ""
    with pytest.raises(wecom.WeComError) as err:
        send()
    assert err.value.permanent
