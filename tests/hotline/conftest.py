"""Call-routing scenes: a hotline on the fixtures' number, a frozen clock, signed webhooks,
and a fake Twilio transport (tests/support/twilio.py)."""

from __future__ import annotations

import pytest

from hotline.sms import backends
from hotline.telephony import client as twilio
from tests.support import factories as f
from tests.support.twilio import HOTLINE_NUMBER, NOW, FakeTwilioHttp, signed_post


@pytest.fixture(autouse=True)
def fake_twilio(monkeypatch):
    fake = FakeTwilioHttp()
    monkeypatch.setattr(twilio, "http_client", fake)
    backends.outbox.clear()
    return fake


@pytest.fixture
def fake_wecom(settings, monkeypatch):
    """WeCom set up, its API replaced by a fake whose directory knows the user "zhao"."""
    from django.core.cache import cache

    from hotline.wecom import client as wecom
    from tests.support.wecom import FakeWeCom

    settings.WECOM_CORP_ID = "ww0000"
    settings.WECOM_AGENT_ID = "1000002"
    settings.WECOM_SECRET = "wecom-secret"
    fake = FakeWeCom(members={"zhao"})
    monkeypatch.setattr(wecom, "transport", fake)
    cache.clear()  # the access token
    return fake


@pytest.fixture
def clock_start():
    """Call scenes start on the fixtures' Monday, 10:00 Shanghai (see tests/support/twilio.py)."""
    return NOW


@pytest.fixture
def tw(client):
    def post(path, data, **kw):
        return signed_post(client, path, data, **kw)

    return post


@pytest.fixture
def scene(db, clock):
    """The fixtures' hotline, a published roster and a shift 08:00–14:00 covering NOW."""

    class Scene:
        hotline = f.hotline(
            phone_number=HOTLINE_NUMBER, emergency_numbers="120, 110", ring_batch_size=2
        )
        roster = f.roster(hotline_=hotline, status="published")
        shift = f.shift(
            roster_=roster,
            starts_at=f.at(2026, 3, 2, 8),
            hours=6,
            required_counsellors=50,
            required_family_educators=50,
            required_supervisors=5,
        )

        def on_shift(self, *roles, shift_=None, role=None, **kw):
            v = f.volunteer(roles=roles or ("counsellor",), **kw)
            f.assignment(
                shift_=shift_ or self.shift,
                volunteer_=v,
                role=role or (roles[0] if roles else "counsellor"),
            )
            return v

    return Scene()
