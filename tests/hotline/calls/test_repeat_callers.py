"""Repeat callers: the caller hash counts earlier calls from the same number in 30 days,
shown on the calls page and in the API, without ever showing the number."""

import datetime as dt

import pytest

from hotline.calls.services import caller_hash
from hotline.models import Call
from tests.support import factories as f

pytestmark = pytest.mark.django_db

NOW = f.at(2026, 3, 2, 10)
MOTHER = "+8613800138000"


def _call(n: int, *, number: str | None, days_ago: float, **kw) -> Call:
    return Call.objects.create(
        call_sid=f"CA{n:032d}",
        hotline=kw.pop("hotline"),
        arrived_at=NOW - dt.timedelta(days=days_ago),
        caller_hash=caller_hash(number) if number else "",
        caller_last4=number[-4:] if number else "",
        outcome="answered",
        **kw,
    )


@pytest.fixture
def history():
    hotline = f.hotline()
    return {
        "too_old": _call(1, number=MOTHER, days_ago=55, hotline=hotline),
        "first": _call(2, number=MOTHER, days_ago=20, hotline=hotline),
        "second": _call(3, number=MOTHER, days_ago=3, hotline=hotline),
        "third": _call(4, number=MOTHER, days_ago=0, hotline=hotline),
        "stranger": _call(5, number="+8613900000001", days_ago=1, hotline=hotline),
        "withheld": _call(6, number=None, days_ago=2, hotline=hotline),
        "withheld_again": _call(7, number=None, days_ago=0.5, hotline=hotline),
    }


def test_api_counts_earlier_calls_from_the_same_number_in_30_days(coordinator_api, history):
    rows = coordinator_api.get("/api/v1/calls/").json()["results"]
    earlier = {row["call_sid"]: row["earlier_calls_30d"] for row in rows}
    assert earlier == {
        history["too_old"].call_sid: 0,
        history["first"].call_sid: 0,  # 35 days between them: outside its window
        history["second"].call_sid: 1,
        history["third"].call_sid: 2,
        history["stranger"].call_sid: 0,
        history["withheld"].call_sid: 0,  # withheld numbers are not one caller
        history["withheld_again"].call_sid: 0,
    }
    detail = coordinator_api.get(f"/api/v1/calls/{history['third'].pk}/").json()
    assert detail["earlier_calls_30d"] == 2
    assert MOTHER not in str(rows) and caller_hash(MOTHER) not in str(rows)


def test_calls_page_shows_repeat_callers(client, coordinator, history):
    client.force_login(coordinator)
    body = client.get("/calls/").content.decode()
    assert "2 earlier calls in 30 days" in body
    assert "1 earlier call in 30 days" in body
    assert body.count("earlier call") == 2


def test_calls_page_says_it_in_chinese(client, coordinator, history):
    client.force_login(coordinator)
    body = client.get("/calls/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "此前 30 天内来电 2 次" in body
