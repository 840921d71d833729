"""The `scheduling` app's models, one module per sub-domain; import them from here.

Django finds an app's models through this package, so every model module is imported below.
"""

from scheduling.models.availability import AVAILABILITY_KINDS, Availability, TimeOff
from scheduling.models.builder import AutofillRun
from scheduling.models.feeds import CalendarToken
from scheduling.models.notices import AssignmentNotice, ReminderPreference
from scheduling.models.rosters import (
    PENDING_REQUIREMENT_FIELDS,
    REQUIREMENT_FIELDS,
    Assignment,
    Requirements,
    Roster,
    Shift,
    ShiftPattern,
)
from scheduling.models.swaps import SWAP_KINDS, DropAsk, SwapRequest

__all__ = [
    "AVAILABILITY_KINDS",
    "PENDING_REQUIREMENT_FIELDS",
    "REQUIREMENT_FIELDS",
    "SWAP_KINDS",
    "Assignment",
    "AssignmentNotice",
    "Availability",
    "AutofillRun",
    "CalendarToken",
    "DropAsk",
    "ReminderPreference",
    "Requirements",
    "Roster",
    "Shift",
    "ShiftPattern",
    "SwapRequest",
    "TimeOff",
]
