"""Import of busy times from an .ics upload: recurring events expanded, replaced on
re-import, and bad uploads refused with nothing imported."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from scheduling.availability import ics_import
from scheduling.availability import services as availability
from scheduling.models import Availability, TimeOff
from tests.support import factories as f
from tests.support.scenes import NOW

pytestmark = pytest.mark.django_db

WEEKLY = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:choir@example.org\r
DTSTAMP:20270101T000000Z\r
DTSTART;TZID=Asia/Shanghai:20270301T190000\r
DTEND;TZID=Asia/Shanghai:20270301T210000\r
RRULE:FREQ=WEEKLY;COUNT=6\r
SUMMARY:Choir practice (private)\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:free@example.org\r
DTSTAMP:20270101T000000Z\r
DTSTART:20270325T010000Z\r
DTEND:20270325T020000Z\r
TRANSP:TRANSPARENT\r
SUMMARY:Free time\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:trip@example.org\r
DTSTAMP:20270101T000000Z\r
DTSTART;VALUE=DATE:20270402\r
DTEND;VALUE=DATE:20270404\r
SUMMARY:Trip\r
END:VEVENT\r
END:VCALENDAR\r
"""

BROKEN_RULE = WEEKLY.replace(b"RRULE:FREQ=WEEKLY;COUNT=6", b"RRULE:FREQ=SOMETIMES;BYDAY=XX")

SHANGHAI = f.SHANGHAI


@pytest.fixture
def amy(clock):
    return f.volunteer(display_name="Amy")


def test_weekly_recurring_event_expanded_into_time_off(amy, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    created = availability.time_off_import(volunteer=amy, data=WEEKLY, now=NOW)
    spans = sorted((o.starts_at, o.ends_at) for o in created)
    # From today (20 March) on: the weekly 19:00 practice on 22 and 29 March and 5 April
    # (earlier ones are past), plus the two-day trip; the "free" event is skipped.
    assert [s.astimezone(SHANGHAI) for s, _e in spans] == [
        f.at(2027, 3, 22, 19),
        f.at(2027, 3, 29, 19),
        f.at(2027, 4, 2, 0),
        f.at(2027, 4, 5, 19),
    ]
    assert all(o.imported for o in TimeOff.objects.filter(volunteer=amy))
    assert not TimeOff.objects.filter(reason__icontains="choir").exists()  # titles stay private


def test_reimport_replaces_previous_import_but_keeps_manual_time_off(amy):
    manual = f.time_off(volunteer_=amy, starts_at=f.at(2027, 5, 1, 0), ends_at=f.at(2027, 5, 2, 0))
    availability.time_off_import(volunteer=amy, data=WEEKLY, now=NOW)
    single = WEEKLY.replace(b"RRULE:FREQ=WEEKLY;COUNT=6\r\n", b"")
    availability.time_off_import(volunteer=amy, data=single, now=NOW)
    imported = TimeOff.objects.filter(volunteer=amy, imported=True)
    assert imported.count() == 1  # only the trip (the single practice on 1 March is past)
    assert TimeOff.objects.filter(pk=manual.pk).exists()


@pytest.mark.parametrize(
    "data, words",
    [
        (b"this is not a calendar", "not an iCalendar"),
        (BROKEN_RULE, "broken recurrence"),
        (
            b"BEGIN:VCALENDAR\r\n" + b"X-PAD:" + b"a" * (1024 * 1024) + b"\r\nEND:VCALENDAR\r\n",
            "larger than 1 MB",
        ),
    ],
)
def test_bad_upload_refused_and_nothing_imported(amy, data, words):
    availability.time_off_import(volunteer=amy, data=WEEKLY, now=NOW)
    before = list(TimeOff.objects.filter(volunteer=amy).values_list("pk", flat=True))
    with pytest.raises(ics_import.CalendarImportError) as exc:
        availability.time_off_import(volunteer=amy, data=data, now=NOW)
    assert words in str(exc.value)
    assert list(TimeOff.objects.filter(volunteer=amy).values_list("pk", flat=True)) == before


def test_import_page_shows_clear_error(amy, client):
    client.force_login(amy.user)
    upload = SimpleUploadedFile("cal.ics", b"garbage", content_type="text/calendar")
    response = client.post(
        reverse("scheduling:my-availability"), {"action": "import", "file": upload}
    )
    assert response.status_code == 400
    assert "not an iCalendar" in response.content.decode()
    assert not TimeOff.objects.filter(volunteer=amy).exists()


def test_availability_page_adds_window_and_time_off(amy, client):
    client.force_login(amy.user)
    url = reverse("scheduling:my-availability")
    assert (
        client.post(
            url,
            {
                "action": "window",
                "weekday": 0,
                "start_time": "18:00",
                "end_time": "22:00",
                "kind": "preferred",
            },
        ).status_code
        == 302
    )
    assert Availability.objects.get(volunteer=amy).kind == "preferred"
    assert (
        client.post(
            url,
            {
                "action": "time_off",
                "starts_at": "2027-04-01T00:00",
                "ends_at": "2027-04-03T00:00",
                "reason": "exam",
            },
        ).status_code
        == 302
    )
    assert TimeOff.objects.get(volunteer=amy).reason == "exam"
    page = client.get(url).content.decode()
    assert "Monday" in page and "exam" in page
    assert (
        client.post(
            url,
            {
                "action": "window",
                "weekday": 0,
                "start_time": "18:00",
                "end_time": "18:00",
                "kind": "available",
            },
        ).status_code
        == 400
    )


def test_api_import(amy):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(amy.user)
    upload = SimpleUploadedFile("cal.ics", WEEKLY, content_type="text/calendar")
    response = api.post("/api/v1/me/calendar/import/", {"file": upload}, format="multipart")
    assert response.status_code == 201 and response.json()["imported"] >= 1
    bad = SimpleUploadedFile("cal.ics", BROKEN_RULE, content_type="text/calendar")
    response = api.post("/api/v1/me/calendar/import/", {"file": bad}, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
