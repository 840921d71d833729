"""The one frozen clock of the test suite.

`clock` (a fixture in tests/conftest.py) patches `django.utils.timezone.now`, so the whole of
Django sees it (auto_now fields included). It starts at the `clock_start` fixture's moment:
a test package overrides `clock_start` to start its scenes elsewhere (tests/hotline/ starts
on the call fixtures' Monday morning).
"""

from __future__ import annotations

import datetime as dt


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, value: dt.datetime) -> dt.datetime:
        self.now = value
        return self.now

    def advance(self, **kw) -> dt.datetime:
        self.now += dt.timedelta(**kw)
        return self.now
