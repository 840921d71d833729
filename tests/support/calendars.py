"""Calendar files for the import tests and bench/import_load.py: the largest file the
import accepts, made of what a real export holds (titles, notes, alarms, some series)."""

from __future__ import annotations

import datetime as dt

from scheduling.availability import ics_import

HEADER = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
FOOTER = "END:VCALENDAR\r\n"


def export_event(i: int, first: dt.date) -> str:
    # Every third event is last year's (exports hold history): read, but not kept.
    day = first + dt.timedelta(days=i % 360 - (400 if i % 3 == 0 else 0))
    hour = 7 + (i // 360) % 12
    start = f"{day:%Y%m%d}T{hour:02d}0000"
    end = f"{day:%Y%m%d}T{hour + 1:02d}0000"
    series = "RRULE:FREQ=WEEKLY;COUNT=4\r\n" if i % 40 == 0 else ""
    return (
        "BEGIN:VEVENT\r\n"
        f"UID:{i:08d}-4f1c-9a7e-{i * 7919:012d}@calendar.example.org\r\n"
        "DTSTAMP:20270101T000000Z\r\nCREATED:20261201T000000Z\r\n"
        "LAST-MODIFIED:20261215T000000Z\r\n"
        f"DTSTART;TZID=Asia/Shanghai:{start}\r\nDTEND;TZID=Asia/Shanghai:{end}\r\n{series}"
        f"SUMMARY:Appointment {i}\r\n"
        f"DESCRIPTION:Notes for appointment {i}\\, with the details of who and where.\r\n"
        f"LOCATION:Room {i % 50}\r\nSEQUENCE:0\r\nSTATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\n"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT10M\r\n"
        "END:VALARM\r\nEND:VEVENT\r\n"
    )


def largest_calendar(first: dt.date = dt.date(2027, 3, 23)) -> bytes:
    """As many events as fit in MAX_IMPORT_BYTES, busy times all in the year from `first`
    (with fewer than MAX_IMPORT_SPANS of them, so the file is accepted)."""
    parts, size, i = [], len(HEADER) + len(FOOTER), 0
    while True:
        part = export_event(i, first)
        if size + len(part) > ics_import.MAX_IMPORT_BYTES:
            break
        parts.append(part)
        size += len(part)
        i += 1
    return (HEADER + "".join(parts) + FOOTER).encode()
