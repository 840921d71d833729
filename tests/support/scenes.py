"""Shared scenes for the volunteer self-service tests: a frozen clock that the whole of
Django sees (auto_now included), a DST-zone hotline, a published roster."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.cache import cache

from hotline.models import Message
from hotline.sms import backends
from tests.support import factories as f

LONDON = zoneinfo.ZoneInfo("Europe/London")
# Saturday before the 2027 spring change (Sunday 28 March, 01:00 UTC clocks go to 02:00 BST).
NOW = dt.datetime(2027, 3, 20, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw) -> dt.datetime:
        self.now += dt.timedelta(**kw)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock(NOW)
    monkeypatch.setattr("django.utils.timezone.now", c)
    # Built feeds are cached by ETag; under a frozen clock two tests' ETags could agree.
    cache.clear()
    return c


class Outbox:
    """The SMS queued in the outbox (Message rows: tests run inside a transaction, so the
    after-commit delivery never runs); iterate for dicts with to, body, dedupe_key."""

    def __iter__(self):
        return iter(Message.objects.order_by("id").values("to", "body", "dedupe_key", "purpose"))

    def __len__(self):
        return Message.objects.count()


@pytest.fixture
def outbox():
    backends.outbox.clear()
    yield Outbox()
    backends.outbox.clear()


def london_hotline(**kw):
    kw.setdefault("name", "London Line")
    kw.setdefault("time_zone", "Europe/London")
    kw.setdefault("language", "en")
    return f.hotline(**kw)


def published_roster(hotline_, first_day=dt.date(2027, 3, 15), days=28):
    return f.roster(
        hotline_=hotline_,
        first_day=first_day,
        last_day=first_day + dt.timedelta(days=days - 1),
        status="published",
    )


def local(*args, tz=LONDON) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)
