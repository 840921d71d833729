"""Busy times from a volunteer's calendar file (.ics), for importing as time off.

An upload is the volunteer's own export, but it is read as if an attacker wrote it: a few
hundred bytes of recurrence can ask for millions of occurrences, and a general-purpose
parser spends seconds on a 1 MB file. Every cost is bounded, and checked while the work is
done rather than after it:

1. one pass over the lines (`_read`) bounds the size, the lines, the length of a line, the
   components and their nesting, the events, the recurrence rules (parsed and refused here
   when more frequent than daily) and the listed dates (EXDATE/RDATE), and keeps only the
   dozen properties a busy time needs (never titles, places or notes);
2. VTIMEZONE definitions are not expanded: a TZID is read as an IANA or Windows zone name,
   else as the fixed offset its definition gives, else in the volunteer's zone;
3. recurrences are expanded by `recurrence.occurrences` under one `Budget` (work steps and a
   deadline shared by the whole file), and busy times are counted as they come: the first
   limit reached stops everything with a readable reason. Reading and expanding use at most
   CPU_SHARE of a core (the budget sleeps between slices), so calls answered meanwhile by
   the server's other processes keep their share of a small machine.

The limits are constants here (docs/security-imports-webhooks.md lists them); the largest file
they allow is read and expanded in a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from django.utils.translation import gettext as _

from scheduling.availability import recurrence

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_SPANS = 2000  # busy times kept, in the year ahead
MAX_OCCURRENCES = 5000  # occurrences in the year ahead, duplicates included
MAX_LINES = 60_000  # physical lines
MAX_LINE_BYTES = 32 * 1024  # one content line, unfolded
MAX_COMPONENTS = 10_000  # BEGIN:… blocks of every kind
MAX_EVENTS = 5000  # VEVENTs, each exception (RECURRENCE-ID) included
MAX_DEPTH = 4  # VCALENDAR > VEVENT > VALARM is 3
MAX_RULES_PER_EVENT = 3
MAX_LISTED_DATES = 5000  # EXDATE and RDATE values in the whole file
MAX_ZONES = 50  # distinct TZIDs
MAX_STEPS = 50_000  # days looked at while expanding every rule of the file, plus occurrences
MAX_SECONDS = 2.0  # CPU time reading and expanding (a backstop: the other limits come first)
CPU_SHARE = 0.5  # of one core, at most, while reading and expanding (the rest for calls)
IMPORT_DAYS_AHEAD = 366


class CalendarImportError(ValueError):
    """The upload cannot be imported; the message says why, for the volunteer."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_IMPORT_BYTES
    max_spans: int = MAX_IMPORT_SPANS
    max_occurrences: int = MAX_OCCURRENCES
    max_lines: int = MAX_LINES
    max_line_bytes: int = MAX_LINE_BYTES
    max_components: int = MAX_COMPONENTS
    max_events: int = MAX_EVENTS
    max_depth: int = MAX_DEPTH
    max_rules_per_event: int = MAX_RULES_PER_EVENT
    max_listed_dates: int = MAX_LISTED_DATES
    max_zones: int = MAX_ZONES
    max_steps: int = MAX_STEPS
    max_seconds: float = MAX_SECONDS
    cpu_share: float = CPU_SHARE


LIMITS = Limits()

# What a busy time needs from a VEVENT; everything else (SUMMARY, DESCRIPTION, LOCATION,
# ATTENDEE, VALARM, …) is never even decoded.
WANTED = {
    "UID",
    "DTSTART",
    "DTEND",
    "DURATION",
    "RRULE",
    "RDATE",
    "EXDATE",
    "RECURRENCE-ID",
    "STATUS",
    "TRANSP",
}
NAME = re.compile(r"^[A-Za-z0-9-]+")
FOLD = re.compile(rb"\r?\n[ \t]")
FIRST_LINE = re.compile(rb"\s*([^\n]*)")
# Lines decoded at all: the wanted VEVENT properties, the component bounds, and the two a
# VTIMEZONE is read for. Each alternative ends at a `;` or `:`, so no name is a prefix match.
KEPT_LINE = re.compile(
    rb"(?im)^("
    + b"|".join(
        re.escape(n.encode()) for n in sorted({*WANTED, "BEGIN", "END", "TZID", "TZOFFSETTO"})
    )
    + rb")([;:][^\n]*)"
)
PARAM = re.compile(r";([A-Za-z0-9-]+)=(\"[^\"]*\"|[^;]*)")
DATE = re.compile(r"^(\d{4})(\d\d)(\d\d)$")
DATE_TIME = re.compile(r"^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(Z?)$")
DURATION = re.compile(
    r"^([+-])?P(?:(\d{1,6})W|(?:(\d{1,6})D)?(?:T(?:(\d{1,7})H)?(?:(\d{1,9})M)?(?:(\d{1,10})S)?)?)$"
)
OFFSET = re.compile(r"^([+-])(\d\d)(\d\d)(\d\d)?$")


def _not_a_calendar() -> CalendarImportError:
    return CalendarImportError(_("This file is not an iCalendar (.ics) file."))


def _broken(detail: str) -> CalendarImportError:
    return CalendarImportError(
        _("The calendar could not be read (a broken recurrence or date?): %(error)s")
        % {"error": detail[:200]}
    )


def _too_much_work() -> CalendarImportError:
    return CalendarImportError(
        _(
            "The calendar's repeating events take too long to work out. Export a shorter "
            "period (for example the next three months) and try again."
        )
    )


def _rule_refused(exc: recurrence.RecurrenceError) -> CalendarImportError:
    if exc.code == "too_frequent":
        return CalendarImportError(
            _(
                "An event repeats more often than once a day (%(rule)s); only daily, weekly, "
                "monthly and yearly repeats can be imported."
            )
            % {"rule": exc.detail[:80]}
        )
    return _broken(exc.detail)


# --- reading ----------------------------------------------------------------------------


class _Prop:
    __slots__ = ("params", "value")

    def __init__(self, value: str, params: dict[str, str]):
        self.value = value
        self.params = params


class _Event:
    __slots__ = ("exdates", "props", "rdates", "rules")

    def __init__(self):
        self.props: dict[str, _Prop] = {}
        self.rules: list[str] = []
        self.exdates: list[_Prop] = []
        self.rdates: list[_Prop] = []


def _content_line(line: str) -> tuple[str, dict[str, str], str] | None:
    """`NAME;PARAM=…;PARAM="…":value` → (NAME, {PARAM: …}, value); None when malformed.
    Linear in the line's length whatever it holds (no backtracking pattern)."""
    match = NAME.match(line)
    if match is None:
        return None
    name, rest = match.group(0), line[match.end() :]
    if rest[:1] == ":":
        return name.upper(), {}, rest[1:]
    if rest[:1] != ";":
        return None
    # The value starts at the first colon outside double quotes.
    offset = 0
    for index, part in enumerate(rest.split('"')):
        if index % 2 == 0 and ":" in part:
            colon = offset + part.index(":")
            params = {k.upper(): v.strip('"') for k, v in PARAM.findall(rest[:colon])}
            return name.upper(), params, rest[colon + 1 :]
        offset += len(part) + 1
    return None


def _read(
    data: bytes, limits: Limits, budget: recurrence.Budget
) -> tuple[list[_Event], dict[str, set[dt.timedelta]]]:
    """The events of the file (only what busy times need), and the offsets each VTIMEZONE
    declares, checking the file's shape as it goes.

    The scanning is done by the regular-expression engine and bytes methods (C): Python
    only looks at the lines it keeps (BEGIN/END and a dozen properties), so the cost of a
    file is what a busy time needs from it, not its size."""
    if data.count(b"\n") + 1 > limits.max_lines:
        raise CalendarImportError(
            _("The file has more than %(count)d lines.") % {"count": limits.max_lines}
        )
    if max(map(len, data.split(b"\n")), default=0) > limits.max_line_bytes + 1:
        raise _too_long(limits)
    unfolded = FOLD.sub(b"", data)  # a line starting with a space or tab continues the last
    if max(map(len, unfolded.split(b"\n")), default=0) > limits.max_line_bytes + 1:
        raise _too_long(limits)
    first = FIRST_LINE.match(unfolded)
    if first is None or first.group(1).strip().upper() != b"BEGIN:VCALENDAR":
        raise _not_a_calendar()
    events: list[_Event] = []
    zones: dict[str, set[dt.timedelta]] = {}
    stack: list[str] = []
    components = listed = 0
    event: _Event | None = None
    zone_id = None
    for match in KEPT_LINE.finditer(unfolded):
        budget.tick()
        name = match.group(1).decode().upper()
        rest = match.group(2).rstrip(b"\r").decode("utf-8", "replace")
        if rest[0] == ":":
            params, value = {}, rest[1:]
        else:
            parsed = _content_line(name + rest)
            if parsed is None:
                continue  # a malformed line inside a calendar: skipped, as clients do
            _name, params, value = parsed
        if name == "BEGIN":
            kind = value.strip().upper()
            if not stack and kind != "VCALENDAR":
                raise _not_a_calendar()
            stack.append(kind)
            components += 1
            if len(stack) > limits.max_depth:
                raise CalendarImportError(_("The calendar is nested too deeply."))
            if components > limits.max_components:
                raise CalendarImportError(
                    _("The file has more than %(count)d parts.") % {"count": limits.max_components}
                )
            if kind == "VEVENT" and len(stack) == 2:
                event = _Event()
                events.append(event)
                if len(events) > limits.max_events:
                    raise CalendarImportError(
                        _("The file has more than %(count)d events.") % {"count": limits.max_events}
                    )
            elif kind == "VTIMEZONE" and len(stack) == 2:
                zone_id = None
            continue
        if name == "END":
            if not stack or stack[-1] != value.strip().upper():
                raise _not_a_calendar()
            stack.pop()
            if len(stack) < 2:
                event = None
            continue
        if not stack:
            continue  # outside every calendar: ignored
        if len(stack) == 2 and stack[-1] == "VEVENT" and event is not None:
            if name not in WANTED:
                continue
            prop = _Prop(value.strip(), params)
            if name == "RRULE":
                if len(event.rules) >= limits.max_rules_per_event:
                    raise _broken(f"more than {limits.max_rules_per_event} RRULEs in one event")
                try:  # cheap, and refuses a hostile rule before anything is expanded
                    recurrence.parse_rule(prop.value)
                except recurrence.RecurrenceError as exc:
                    raise _rule_refused(exc) from None
                event.rules.append(prop.value)
            elif name in ("EXDATE", "RDATE"):
                listed += prop.value.count(",") + 1
                if listed > limits.max_listed_dates:
                    raise CalendarImportError(
                        _("The file lists more than %(count)d extra or excluded dates.")
                        % {"count": limits.max_listed_dates}
                    )
                (event.exdates if name == "EXDATE" else event.rdates).append(prop)
            else:
                event.props.setdefault(name, prop)
        elif len(stack) >= 2 and stack[1] == "VTIMEZONE":
            if name == "TZID" and len(stack) == 2:
                zone_id = value.strip()
                if zone_id not in zones and len(zones) >= limits.max_zones:
                    raise _broken(f"more than {limits.max_zones} time zones")
                zones.setdefault(zone_id, set())
            elif name == "TZOFFSETTO" and zone_id is not None:
                offset = _offset(value)
                if offset is not None and len(zones[zone_id]) < 10:
                    zones[zone_id].add(offset)
    if stack or not components:
        raise _not_a_calendar()
    return events, zones


def _too_long(limits: Limits) -> CalendarImportError:
    return CalendarImportError(
        _("A line of the file is longer than %(count)d characters.")
        % {"count": limits.max_line_bytes}
    )


def _offset(value: str) -> dt.timedelta | None:
    match = OFFSET.match(value.strip())
    if match is None:
        return None
    sign, hours, minutes, seconds = match.groups()
    delta = dt.timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds or 0))
    return -delta if sign == "-" else delta


# --- values -----------------------------------------------------------------------------


class _Zones:
    """TZID → tzinfo: an IANA or Windows name, else the fixed offset the file's VTIMEZONE
    declares, else the volunteer's zone (as for floating times)."""

    def __init__(self, default: dt.tzinfo, declared: dict[str, set[dt.timedelta]]):
        from icalendar.timezone import tzp  # name lookup only: no VTIMEZONE is expanded

        self.default = default
        self.found: dict[str, dt.tzinfo] = {}
        self.lookup = tzp.timezone
        self.declared = declared

    def get(self, tzid: str | None) -> dt.tzinfo:
        if not tzid:
            return self.default
        zone = self.found.get(tzid)
        if zone is None:
            if len(self.found) >= MAX_ZONES:
                raise _broken(f"more than {MAX_ZONES} time zones")
            try:
                zone = self.lookup(tzid)
            except Exception:  # noqa: BLE001 - an odd name is an unknown one
                zone = None
            if zone is None:
                offsets = self.declared.get(tzid, set())
                zone = dt.timezone(next(iter(offsets))) if len(offsets) == 1 else self.default
            self.found[tzid] = zone
        return zone


def _when(text: str, params: dict[str, str], zones: _Zones) -> dt.datetime | dt.date:
    """A DATE (all-day) or DATE-TIME value: UTC with Z, in TZID's zone, else floating
    (read in the volunteer's zone)."""
    text = text.strip()
    match = DATE_TIME.match(text)
    if match:
        y, mo, d, h, mi, s, utc = match.groups()
        zone = dt.UTC if utc else zones.get(params.get("TZID"))
        return dt.datetime(int(y), int(mo), int(d), int(h), int(mi), min(int(s), 59), tzinfo=zone)
    match = DATE.match(text)
    if match:
        y, mo, d = match.groups()
        return dt.date(int(y), int(mo), int(d))
    raise _broken(f"{text[:40]!r} is not a date")


def _duration(text: str) -> dt.timedelta:
    match = DURATION.match(text.strip())
    if match is None or text.strip() in ("P", "PT", "+P", "-P"):
        raise _broken(f"{text[:40]!r} is not a duration")
    sign, weeks, days, hours, minutes, seconds = match.groups()
    length = dt.timedelta(
        weeks=int(weeks or 0),
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=int(seconds or 0),
    )
    return -length if sign == "-" else length


def _start_of(value: dt.datetime | dt.date, zones: _Zones) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(0), tzinfo=zones.default)


def _key(value: dt.datetime | dt.date) -> dt.datetime | dt.date:
    """How occurrences, EXDATEs and RECURRENCE-IDs are compared: UTC instants, or dates."""
    return value.astimezone(dt.UTC) if isinstance(value, dt.datetime) else value


class _Collector:
    """Busy spans in the window, counted as they are added: occurrences in the window
    (duplicates too, so a file of identical series stops early) and distinct spans."""

    def __init__(self, window: tuple[dt.datetime, dt.datetime], limits: Limits):
        self.start, self.end = window
        self.max_spans = limits.max_spans
        self.occurrences_left = limits.max_occurrences
        self.spans: set[tuple[dt.datetime, dt.datetime]] = set()

    def add(self, start: dt.datetime, end: dt.datetime) -> None:
        """`start` and `end` in UTC."""
        if end <= start or end <= self.start or start >= self.end:
            return
        self.occurrences_left -= 1
        self.spans.add((start, end))
        if len(self.spans) > self.max_spans or self.occurrences_left < 0:
            raise CalendarImportError(
                _("The file has more than %(count)d busy times in the next year.")
                % {"count": self.max_spans}
            )


def _skipped(event: _Event) -> bool:
    status = event.props.get("STATUS")
    transp = event.props.get("TRANSP")
    return (status is not None and status.value.upper() == "CANCELLED") or (
        transp is not None and transp.value.upper() == "TRANSPARENT"
    )


def _span(event: _Event, zones: _Zones) -> tuple[dt.datetime | dt.date, dt.timedelta] | None:
    """(start, how long) of an event; None when it has no start."""
    begins = event.props.get("DTSTART")
    if begins is None:
        return None
    start = _when(begins.value, begins.params, zones)
    finish = event.props.get("DTEND")
    if finish is not None:
        end = _when(finish.value, finish.params, zones)
        return start, _start_of(end, zones) - _start_of(start, zones)
    if "DURATION" in event.props:
        return start, _duration(event.props["DURATION"].value)
    return start, dt.timedelta(days=1) if not isinstance(start, dt.datetime) else dt.timedelta(0)


def _listed(props: list[_Prop], zones: _Zones) -> list:
    """EXDATE/RDATE values: aware datetimes, dates, or (start, end or length) periods."""
    found = []
    for prop in props:
        for item in prop.value.split(","):
            if "/" in item:
                first, _sep, second = item.partition("/")
                start = _when(first, prop.params, zones)
                end = (
                    _duration(second)
                    if second.strip().lstrip("+-").startswith("P")
                    else _when(second, prop.params, zones)
                )
                found.append((start, end))
            else:
                found.append(_when(item, prop.params, zones))
    return found


def _expand(event, zones, window, collector, budget, overridden) -> None:
    span = _span(event, zones)
    if span is None:
        return
    start, length = span
    first = _start_of(start, zones)
    excluded = {_key(x) for x in _listed(event.exdates, zones)} | overridden
    excluded_days = {x for x in excluded if not isinstance(x, dt.datetime)}

    def add(begin: dt.datetime, how_long: dt.timedelta) -> None:
        budget.spend()
        utc = begin.astimezone(dt.UTC)
        if excluded and (
            utc in excluded
            or (excluded_days and begin.astimezone(zones.default).date() in excluded_days)
        ):
            return
        collector.add(utc, utc + how_long)

    if not event.rules:
        add(first, length)
    zone = first.tzinfo
    local_start = first.replace(tzinfo=None)
    # Only starts from here on can reach into the window: earlier ones are skipped unseen.
    reach = window[0] - max(length, dt.timedelta(0)) - dt.timedelta(days=1)
    reach_local = reach.astimezone(zone).replace(tzinfo=None)
    window_end = window[1].astimezone(zone).replace(tzinfo=None)
    for text in event.rules:
        rule = recurrence.parse_rule(text)
        until = None
        if isinstance(rule.until, dt.datetime):
            until = (
                rule.until.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
                if rule.until_utc
                else rule.until
            )
        elif rule.until is not None:
            until = dt.datetime.combine(rule.until, dt.time.max)
        for local in recurrence.occurrences(
            rule,
            local_start,
            window_start=reach_local,
            window_end=window_end,
            until=until,
            budget=budget,
        ):
            add(local.replace(tzinfo=zone), length)
    for extra in _listed(event.rdates, zones):
        if isinstance(extra, tuple):
            begin, finish = extra
            begin = _start_of(begin, zones)
            add(
                begin,
                finish if isinstance(finish, dt.timedelta) else _start_of(finish, zones) - begin,
            )
        else:
            add(_start_of(extra, zones), length)


def busy_times(
    data: bytes, *, now: dt.datetime, tz: zoneinfo.ZoneInfo, limits: Limits = LIMITS
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Busy spans (UTC) from an .ics upload, recurring events expanded, from today to a year
    ahead. Free (TRANSP:TRANSPARENT) and cancelled events are skipped; floating times and
    all-day dates are read in `tz`. Raises CalendarImportError with a readable reason, at
    the first limit reached (see the module's docstring)."""
    if len(data) > limits.max_bytes:
        raise CalendarImportError(_("The file is larger than 1 MB."))
    budget = recurrence.Budget(
        steps=limits.max_steps, seconds=limits.max_seconds, share=limits.cpu_share
    )
    try:
        events, declared = _read(data, limits, budget)
    except recurrence.BudgetExceeded:
        raise _too_much_work() from None
    start = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(0), tzinfo=dt.UTC)
    window = (start, start + dt.timedelta(days=IMPORT_DAYS_AHEAD))
    zones = _Zones(tz, declared)
    collector = _Collector(window, limits)
    try:
        budget.spend(len(events))
        budget.check_time()  # reading counts against the deadline too
        # Exceptions to a series (RECURRENCE-ID) replace the occurrence they name.
        overridden: dict[str, set] = {}
        for event in events:
            rid = event.props.get("RECURRENCE-ID")
            if rid is not None:
                uid = event.props.get("UID", _Prop("", {})).value
                overridden.setdefault(uid, set()).add(_key(_when(rid.value, rid.params, zones)))
        for event in events:
            if "RECURRENCE-ID" in event.props:
                span = None if _skipped(event) else _span(event, zones)
                if span is not None:
                    budget.spend()
                    begin = _start_of(span[0], zones).astimezone(dt.UTC)
                    collector.add(begin, begin + span[1])
                continue
            if _skipped(event):
                continue
            uid = event.props.get("UID", _Prop("", {})).value
            _expand(event, zones, window, collector, budget, overridden.get(uid, set()))
    except recurrence.BudgetExceeded:
        raise _too_much_work() from None
    except recurrence.RecurrenceError as exc:
        raise _rule_refused(exc) from None
    except CalendarImportError:
        raise
    except (ValueError, OverflowError) as exc:  # a date out of range, 30 February, …
        raise _broken(str(exc)) from exc
    return sorted(collector.spans)
