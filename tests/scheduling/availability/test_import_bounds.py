"""Imports that cannot hurt the line: a hostile calendar file is refused within a second and
small memory, at the first limit it meets; ordinary files import fast and right; nothing is
parsed inside a transaction; a volunteer imports at most CALENDAR_IMPORTS_PER_HOUR files."""

from __future__ import annotations

import datetime as dt
import time
import tracemalloc
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from scheduling.availability import ics_import
from scheduling.availability import services as availability
from scheduling.models import TimeOff
from tests.support import factories as f
from tests.support.calendars import largest_calendar
from tests.support.scenes import NOW

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
IMPORT = "/api/v1/me/calendar/import/"
# What a hostile import may cost: refused in well under a second of this process's CPU
# (measured: a few ms; CPU rather than wall time, so a busy machine does not fail the test) and
# with the Python heap growing by less than this (tracemalloc peak over the whole request).
MEMORY_BOUND = 4 * 1024 * 1024


def calendar(*events: str, before: str = "") -> bytes:
    body = "".join(events)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        + before
        + body
        + "END:VCALENDAR\r\n"
    ).encode()


def event(uid: str, start: str, end: str, *extra: str) -> str:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20270101T000000Z",
        f"DTSTART;TZID=Asia/Shanghai:{start}",
        f"DTEND;TZID=Asia/Shanghai:{end}",
        "SUMMARY:Private title",
        *extra,
        "END:VEVENT",
    ]
    return "\r\n".join(lines) + "\r\n"


# A few hundred bytes each, as in the report: fine-grained, open-ended recurrences.
HOSTILE = {
    "secondly": calendar(event("a", "20270320T090000", "20270320T090001", "RRULE:FREQ=SECONDLY")),
    "minutely": calendar(event("a", "20270320T090000", "20270320T090100", "RRULE:FREQ=MINUTELY")),
    "daily at every minute": calendar(
        event(
            "a",
            "20270320T090000",
            "20270320T090100",
            "RRULE:FREQ=DAILY;BYHOUR="
            + ",".join(str(h) for h in range(24))
            + ";BYMINUTE="
            + ",".join(str(m) for m in range(60)),
        )
    ),
    "one rule repeated in 200 events": calendar(
        *(
            event(f"e{i}", "20270320T090000", "20270320T100000", "RRULE:FREQ=DAILY")
            for i in range(200)
        )
    ),
    "count in the millions from long ago": calendar(
        event("a", "18000101T090000", "18000101T100000", "RRULE:FREQ=DAILY;COUNT=10000000")
    ),
}


@pytest.fixture
def amy(clock):
    return f.volunteer(display_name="Amy")


@pytest.fixture
def amy_api(amy):
    api = APIClient()
    api.force_authenticate(amy.user)
    return api


def upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("cal.ics", data, content_type="text/calendar")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_recurrence_refused_within_a_second_and_bounded_memory(amy_api, name):
    data = HOSTILE[name]
    assert len(data) < 50_000  # small files: a few hundred bytes to a few dozen KB
    started = time.process_time()
    response = amy_api.post(IMPORT, {"file": upload(data)}, format="multipart")
    took = time.process_time() - started
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and response.json()["errors"]["file"]
    assert took < 1.0, took
    # Again, measuring memory this time (tracemalloc slows Python down several times over).
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    response = amy_api.post(IMPORT, {"file": upload(data)}, format="multipart")
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 400
    assert peak - before < MEMORY_BOUND, peak - before
    assert not TimeOff.objects.exists()


def test_rule_that_never_matches_costs_little_and_imports_nothing(amy_api):
    # dateutil (and the library this import used before) spends ≈5 s on this one line.
    data = calendar(
        event("a", "19000101T090000", "19000101T100000", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")
    )
    started = time.process_time()
    response = amy_api.post(IMPORT, {"file": upload(data)}, format="multipart")
    assert response.status_code == 201 and response.json() == {"imported": 0}
    assert time.process_time() - started < 1.0


def test_hostile_import_refused_in_the_users_language(amy_api):
    response = amy_api.post(
        IMPORT,
        {"file": upload(HOSTILE["secondly"])},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert "重复频率高于每天一次" in response.json()["errors"]["file"][0]


def test_hostile_import_on_the_availability_page_shows_why(amy, client):
    client.force_login(amy.user)
    response = client.post(
        reverse("scheduling:my-availability"),
        {"action": "import", "file": upload(HOSTILE["minutely"])},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "repeats more often than once a day" in response.content.decode()


def ordinary_file() -> tuple[bytes, set]:
    """200 daily-repeating events (a week of mornings each, over the coming months), and the
    busy times they must give."""
    events, expected = [], set()
    first = dt.datetime(2027, 3, 22, 7, 0, tzinfo=SHANGHAI)
    for i in range(200):
        start = first + dt.timedelta(days=i, hours=i % 12)
        end = start + dt.timedelta(minutes=45)
        events.append(
            event(
                f"class-{i}@example.org",
                f"{start:%Y%m%dT%H%M%S}",
                f"{end:%Y%m%dT%H%M%S}",
                "RRULE:FREQ=DAILY;COUNT=7",
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                "TRIGGER:-PT10M",
                "END:VALARM",
            )
        )
        for day in range(7):
            s = start + dt.timedelta(days=day)
            expected.add((s.astimezone(dt.UTC), (s + dt.timedelta(minutes=45)).astimezone(dt.UTC)))
    return calendar(*events), expected


def test_ordinary_file_of_200_daily_events_imports_fast_and_right(amy):
    data, expected = ordinary_file()
    started = time.thread_time()
    created = availability.time_off_import(volunteer=amy, data=data, now=NOW)
    assert time.thread_time() - started < 1.0  # measured ≈ 0.05 s
    assert {(o.starts_at, o.ends_at) for o in created} == expected
    assert len(created) == 1400
    assert not TimeOff.objects.filter(reason__icontains="Private").exists()


def test_largest_allowed_file_reads_in_a_fraction_of_a_second():
    """1 MB of ordinary events with titles, notes and alarms (what the bench imports)."""
    data = largest_calendar()
    assert ics_import.MAX_IMPORT_BYTES - 4096 < len(data) <= ics_import.MAX_IMPORT_BYTES
    started = time.thread_time()
    spans = ics_import.busy_times(data, now=NOW, tz=SHANGHAI)
    assert time.thread_time() - started < 1.0
    assert 1000 < len(spans) <= ics_import.MAX_IMPORT_SPANS


EXCEPTIONS = calendar(
    event(
        "series@x",
        "20270322T190000",
        "20270322T210000",
        "RRULE:FREQ=WEEKLY;UNTIL=20270419T110000Z",
        "EXDATE;TZID=Asia/Shanghai:20270329T190000",
        "RDATE;VALUE=PERIOD:20270401T010000Z/PT3H",
    ),
    # The 5 April practice moved to 6 April 08:00, the 12 April one cancelled.
    event(
        "series@x",
        "20270406T080000",
        "20270406T090000",
        "RECURRENCE-ID;TZID=Asia/Shanghai:20270405T190000",
    ),
    event(
        "series@x",
        "20270412T190000",
        "20270412T210000",
        "RECURRENCE-ID;TZID=Asia/Shanghai:20270412T190000",
        "STATUS:CANCELLED",
    ),
    # Outlook's zone name, and a custom zone with one offset.
    event("win@x", "20270501T090000", "20270501T100000").replace(
        "Asia/Shanghai", "China Standard Time"
    ),
    event("custom@x", "20270502T090000", "20270502T100000").replace("Asia/Shanghai", "My Zone"),
    "BEGIN:VEVENT\r\nUID:allday@x\r\nDTSTART;VALUE=DATE:20270601\r\nDURATION:P2D\r\nEND:VEVENT\r\n",
    before=(
        "BEGIN:VTIMEZONE\r\nTZID:My Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
        "RRULE:FREQ=SECONDLY\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\n"
        "END:VTIMEZONE\r\n"
    ),
)


def test_exceptions_extra_dates_and_zones_read_right():
    spans = ics_import.busy_times(EXCEPTIONS, now=NOW, tz=SHANGHAI)
    local = [(s.astimezone(SHANGHAI), e - s) for s, e in spans]
    assert local == [
        (f.at(2027, 3, 22, 19), dt.timedelta(hours=2)),  # 29 March excluded
        (f.at(2027, 4, 1, 9), dt.timedelta(hours=3)),  # RDATE period (01:00Z)
        (f.at(2027, 4, 6, 8), dt.timedelta(hours=1)),  # the moved one, not 5 April
        # 12 April cancelled; UNTIL 19 April 19:00 local includes 19 April.
        (f.at(2027, 4, 19, 19), dt.timedelta(hours=2)),
        (f.at(2027, 5, 1, 9), dt.timedelta(hours=1)),  # China Standard Time = Shanghai
        (f.at(2027, 5, 2, 14), dt.timedelta(hours=1)),  # 09:00 at +03:00
        (f.at(2027, 6, 1, 0), dt.timedelta(days=2)),
    ]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            b"BEGIN:VCALENDAR\r\n" + b"X-A:b\r\n" * 60_001 + b"END:VCALENDAR\r\n",
            "more than 60000 lines",
        ),
        (calendar("X-LONG:" + "a" * 40_000 + "\r\n"), "longer than 32768"),
        (calendar("X-FOLDED:a\r\n" + (" " + "b" * 70 + "\r\n") * 500), "longer than 32768"),
        (
            calendar(
                "BEGIN:A\r\nBEGIN:B\r\nBEGIN:C\r\nBEGIN:D\r\nEND:D\r\nEND:C\r\nEND:B\r\nEND:A\r\n"
            ),
            "nested too deeply",
        ),
        (calendar("BEGIN:X\r\nEND:X\r\n" * 10_001), "more than 10000 parts"),
        (calendar("BEGIN:VEVENT\r\nEND:VEVENT\r\n" * 5001), "more than 5000 events"),
        (
            calendar(
                event(
                    "a",
                    "20270320T090000",
                    "20270320T100000",
                    *["EXDATE:" + ",".join(["20270321T090000"] * 1000)] * 6,
                )
            ),
            "more than 5000 extra or excluded dates",
        ),
        (
            calendar(
                event("a", "20270320T090000", "20270320T100000", *["RRULE:FREQ=DAILY;COUNT=2"] * 4)
            ),
            "broken recurrence",
        ),
        (calendar(event("a", "20270230T090000", "20270230T100000")), "broken recurrence or date"),
        (calendar("BEGIN:VEVENT\r\n"), "not an iCalendar"),
        (b"BEGIN:VEVENT\r\nEND:VEVENT\r\n", "not an iCalendar"),
    ],
)
def test_each_limit_refused_with_its_reason(data, words):
    assert len(data) <= ics_import.MAX_IMPORT_BYTES
    started = time.thread_time()
    with pytest.raises(ics_import.CalendarImportError) as exc:
        ics_import.busy_times(data, now=NOW, tz=SHANGHAI)
    assert words in str(exc.value)
    assert time.thread_time() - started < 1.0


@pytest.mark.django_db(transaction=True)
def test_parse_runs_with_no_transaction_open(clock, monkeypatch):
    """Parsing first, outside any transaction (it never holds SQLite's write lock); then
    one short transaction writes."""
    amy = f.volunteer(display_name="Amy")
    seen = []
    real = ics_import.busy_times

    def watched(*args, **kwargs):
        seen.append(connection.in_atomic_block)
        return real(*args, **kwargs)

    monkeypatch.setattr(ics_import, "busy_times", watched)
    availability.time_off_import(volunteer=amy, data=ordinary_file()[0], now=NOW)
    assert seen == [False]
    assert TimeOff.objects.filter(volunteer=amy).count() == 1400


def test_imports_per_hour_limited_per_volunteer(amy_api, amy, clock, settings):
    settings.CALENDAR_IMPORTS_PER_HOUR = 3
    ok = calendar(event("a", "20270401T090000", "20270401T100000"))
    for _ in range(3):
        assert amy_api.post(IMPORT, {"file": upload(ok)}, format="multipart").status_code == 201
    refused = amy_api.post(
        IMPORT, {"file": upload(ok)}, format="multipart", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert "已达上限" in refused.json()["detail"]
    assert 0 < int(refused["Retry-After"]) <= 3600
    # Someone else is not limited by Amy's imports; Amy is again next hour.
    bob = f.volunteer(display_name="Bob")
    other = APIClient()
    other.force_authenticate(bob.user)
    assert other.post(IMPORT, {"file": upload(ok)}, format="multipart").status_code == 201
    clock.advance(hours=1)
    assert amy_api.post(IMPORT, {"file": upload(ok)}, format="multipart").status_code == 201


def test_hostile_imports_count_towards_the_limit_too(amy, client, settings):
    settings.CALENDAR_IMPORTS_PER_HOUR = 2
    client.force_login(amy.user)
    url = reverse("scheduling:my-availability")
    for _ in range(2):
        r = client.post(url, {"action": "import", "file": upload(HOSTILE["secondly"])})
        assert r.status_code == 400
    r = client.post(
        url, {"action": "import", "file": upload(HOSTILE["secondly"])}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert r.status_code == 429 and "the most allowed" in r.content.decode()
    assert int(r["Retry-After"]) > 0


def test_request_larger_than_the_limit_is_refused_before_it_is_read(amy_api, settings):
    settings.REQUEST_MAX_BYTES = 64 * 1024
    big = calendar("X-PAD:" + "a" * 70_000 + "\r\n")
    response = amy_api.post(IMPORT, {"file": upload(big)}, format="multipart")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_the_write_is_one_short_transaction_touching_only_what_changed(amy):
    from django.test.utils import CaptureQueriesContext

    data, expected = ordinary_file()
    availability.time_off_import(volunteer=amy, data=data, now=NOW)
    manual = f.time_off(volunteer_=amy, starts_at=f.at(2027, 8, 1, 0), ends_at=f.at(2027, 8, 2, 0))
    with CaptureQueriesContext(connection) as same:
        availability.time_off_import(volunteer=amy, data=data, now=NOW)
    writes = [
        q["sql"] for q in same.captured_queries if "INSERT" in q["sql"] or "DELETE" in q["sql"]
    ]
    assert writes == []  # the same calendar again: nothing to write
    # One class moved two months on: one DELETE of its 7 old rows, one INSERT of 7 new.
    changed = (
        data.replace(b"class-0@", b"gone@")
        .replace(
            b"DTSTART;TZID=Asia/Shanghai:20270322T070000",
            b"DTSTART;TZID=Asia/Shanghai:20270522T065000",
        )
        .replace(
            b"DTEND;TZID=Asia/Shanghai:20270322T074500", b"DTEND;TZID=Asia/Shanghai:20270522T073500"
        )
    )
    with CaptureQueriesContext(connection) as diff:
        created = availability.time_off_import(volunteer=amy, data=changed, now=NOW)
    sql = [q["sql"] for q in diff.captured_queries]
    assert sum(s.startswith("DELETE") for s in sql) == 1
    assert sum("INSERT INTO" in s for s in sql) == 1  # one executemany
    assert created.count() == 1400
    assert TimeOff.objects.filter(pk=manual.pk).exists()  # time off entered by hand stays
