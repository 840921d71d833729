"""Chinese statutory holidays and make-up working days (调休), from the `chinese-calendar`
package, which follows the State Council's yearly notices.

It knows only the years whose notice has been published (and the years before); for any other
year `day_kind` answers UNKNOWN instead of guessing, and the pages say the year is not known
yet. Rosters use it to mark days on the board and to count holiday shifts like weekend shifts
in fairness (a make-up working day on a Saturday or Sunday counts as a working day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar
from django.utils.translation import gettext_lazy as _

HOLIDAY = "holiday"
MAKEUP_WORKDAY = "makeup_workday"
UNKNOWN = "unknown"

# The package's English holiday names, in the reader's language.
NAMES = {
    "New Year's Day": _("New Year's Day"),
    "Spring Festival": _("Spring Festival"),
    "Tomb-sweeping Day": _("Qingming Festival"),
    "Labour Day": _("Labour Day"),
    "Dragon Boat Festival": _("Dragon Boat Festival"),
    "National Day": _("National Day"),
    "Mid-autumn Festival": _("Mid-autumn Festival"),
    "Anti-Fascist 70th Day": _("Victory Day"),
}


# Hotlines in these zones follow the mainland calendar (the others: no holidays marked).
CHINA_ZONES = frozenset(
    {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "Asia/Urumqi", "PRC"}
)


def applies_to(time_zone: str) -> bool:
    return str(time_zone) in CHINA_ZONES


@dataclass(frozen=True)
class DayKind:
    kind: str  # HOLIDAY, MAKEUP_WORKDAY or UNKNOWN
    name: str = ""  # the holiday (also for a make-up day: the holiday it makes up for)

    @property
    def label(self) -> str:
        if self.kind == HOLIDAY:
            return str(_("public holiday: %(name)s") % {"name": self.name})
        if self.kind == MAKEUP_WORKDAY:
            return str(_("make-up working day (%(name)s)") % {"name": self.name})
        return str(_("holidays of this year not published yet"))


def day_kind(day: dt.date) -> DayKind | None:
    """HOLIDAY, MAKEUP_WORKDAY, UNKNOWN (a year the package does not know), or None for an
    ordinary day."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return DayKind(UNKNOWN)
    label = str(NAMES.get(name, name or ""))
    if on_holiday and name:
        return DayKind(HOLIDAY, label)
    if not on_holiday and name:
        return DayKind(MAKEUP_WORKDAY, label)
    return None


def days_between(first: dt.date, last: dt.date) -> dict[dt.date, DayKind]:
    """The special days of first..last (inclusive): holidays, make-up working days, and the
    days of years not known yet."""
    out = {}
    day = first
    while day <= last:
        kind = day_kind(day)
        if kind is not None:
            out[day] = kind
        day += dt.timedelta(days=1)
    return out


def counts_as_weekend(day: dt.date) -> bool | None:
    """For fairness: True on a public holiday, False on a make-up working day, None (the
    calendar's own Saturday/Sunday) otherwise."""
    kind = day_kind(day)
    if kind is None or kind.kind == UNKNOWN:
        return None
    return kind.kind == HOLIDAY
