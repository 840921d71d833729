"""Bad input is a 400 with a reason, never a 500: dates outside 2000–2100 in filters and
bodies, rosters in year 1 or 9999, shifts outside their roster's days or longer than a day,
deeply nested JSON."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from scheduling.models import Roster, Shift, TimeOff
from tests.support import factories as f

pytestmark = pytest.mark.django_db

FAR = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59Z",
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
]


@pytest.fixture
def api():
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(f.user(is_superuser=True, is_staff=True))
    return client


@pytest.fixture
def roster():
    return f.roster(hotline_=f.hotline())  # 2026-03-02 … 2026-03-08, Asia/Shanghai


@pytest.mark.parametrize("value", FAR)
@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v1/shifts/", "starts_after"),
        ("/api/v1/shifts/", "starts_before"),
        ("/api/v1/calls/", "arrived_after"),
    ],
)
def test_far_dates_in_filters_are_a_400(api, url, name, value):
    response = api.get(url, {name: value})
    assert response.status_code == 400
    assert "2000" in str(response.json())


def test_dates_inside_the_bounds_still_filter(api):
    response = api.get("/api/v1/shifts/", {"starts_after": "2026-03-01T00:00:00+08:00"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("first", "last"),
    [("0001-01-01", "0001-01-07"), ("9999-12-25", "9999-12-31"), ("1999-12-30", "2000-01-02")],
)
def test_rosters_in_far_years_refused(api, roster, first, last):
    response = api.post(
        "/api/v1/rosters/",
        {"hotline": roster.hotline_id, "first_day": first, "last_day": last},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) & {"first_day", "last_day"}
    assert Roster.objects.count() == 1


def _shift(api, roster, starts, ends):
    return api.post(
        "/api/v1/shifts/",
        {
            "roster": roster.pk,
            "starts_at": starts,
            "ends_at": ends,
            "requirements": {"counsellor": 1},
        },
        format="json",
    )


def test_shift_outside_its_rosters_days_refused(api, roster):
    before = _shift(api, roster, "2026-03-01T20:00:00+08:00", "2026-03-02T02:00:00+08:00")
    after = _shift(api, roster, "2026-03-09T08:00:00+08:00", "2026-03-09T12:00:00+08:00")
    for response in (before, after):
        assert response.status_code == 400 and "starts_at" in response.json()["errors"]
    # The last day's night shift may run past midnight.
    night = _shift(api, roster, "2026-03-08T20:00:00+08:00", "2026-03-09T08:00:00+08:00")
    assert night.status_code == 201
    assert Shift.objects.count() == 1


def test_shift_at_most_a_day_long(api, roster):
    year = _shift(api, roster, "2026-03-02T08:00:00+08:00", "2027-03-02T08:00:00+08:00")
    assert year.status_code == 400 and "ends_at" in year.json()["errors"]
    day = _shift(api, roster, "2026-03-02T08:00:00+08:00", "2026-03-03T08:00:00+08:00")
    assert day.status_code == 201


def test_moving_a_shift_out_of_its_roster_refused(api, roster):
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 3, 8))
    response = api.patch(
        f"/api/v1/shifts/{shift.pk}/", {"starts_at": "2026-04-03T08:00:00+08:00"}, format="json"
    )
    assert response.status_code == 400
    shift.refresh_from_db()
    assert shift.starts_at == f.at(2026, 3, 3, 8)


def test_time_off_in_far_years_refused(api):
    volunteer = f.volunteer()
    response = api.post(
        "/api/v1/time-off/",
        {"volunteer": volunteer.pk, "starts_at": FAR[1], "ends_at": "2026-03-02T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 400 and not TimeOff.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        '{"hotline": 1, "first_day": ' + "[" * 50 + "]" * 50 + "}",
    ],
    ids=["deep-list", "deep-object", "fifty-levels"],
)
@pytest.mark.parametrize("url", ["/api/v1/rosters/", "/api/v1/shifts/", "/api/v1/auth/token/"])
def test_deeply_nested_json_is_a_400(api, body, url):
    response = api.generic("POST", url, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_ordinary_nesting_still_parses(api, roster):
    response = _shift(api, roster, "2026-03-02T08:00:00+08:00", "2026-03-02T12:00:00+08:00")
    assert response.status_code == 201


def test_refusals_in_chinese(api, roster):
    response = api.post(
        "/api/v1/shifts/",
        {
            "roster": roster.pk,
            "starts_at": "2026-03-02T08:00:00+08:00",
            "ends_at": "2026-03-04T08:00:00+08:00",
            "requirements": {"counsellor": 1},
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert "最长 24 小时" in str(response.json())
    response = api.get("/api/v1/shifts/", {"starts_after": FAR[0]}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "2000 年" in str(response.json())
    response = api.generic(
        "POST",
        "/api/v1/rosters/",
        "[" * 5000 + "]" * 5000,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert "嵌套" in response.json()["detail"]
