"""Our RRULE expansion: the same occurrences as dateutil on ordinary rules, and bounded work
on hostile ones (where dateutil walks to the year 9999 without yielding)."""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pytest
from dateutil.rrule import rrulestr

from scheduling.availability.recurrence import (
    Budget,
    BudgetExceeded,
    RecurrenceError,
    occurrences,
    parse_rule,
)

ORDINARY = [
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3",
    "FREQ=DAILY;BYDAY=MO,WE,FR",
    "FREQ=DAILY;BYMONTH=2,3;BYMONTHDAY=1,-1",
    "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0,30",
    "FREQ=DAILY;COUNT=10",
    "FREQ=DAILY;UNTIL=20260610T000000",
    "FREQ=WEEKLY",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
    "FREQ=WEEKLY;BYDAY=MO,SU;WKST=SU;INTERVAL=2",
    "FREQ=WEEKLY;BYDAY=SA;BYMONTH=6,7",
    "FREQ=WEEKLY;BYDAY=MO;BYHOUR=8,12,18",
    "FREQ=WEEKLY;COUNT=30;BYDAY=MO,TH",
    "FREQ=MONTHLY",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYMONTHDAY=-1",
    "FREQ=MONTHLY;BYDAY=2TU",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
    "FREQ=MONTHLY;INTERVAL=2;BYDAY=1MO,3MO",
    "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1,2,-1",
    "FREQ=YEARLY",
    "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "FREQ=YEARLY;BYYEARDAY=1,100,-1",
    "FREQ=YEARLY;BYDAY=20MO",
    "FREQ=YEARLY;BYMONTH=1,7",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=YEARLY;INTERVAL=4;COUNT=5",
]
STARTS = [
    dt.datetime(2019, 1, 31, 9, 30),
    dt.datetime(2024, 2, 29, 19, 0),
    dt.datetime(2026, 3, 2, 8, 15),
    dt.datetime(2010, 12, 31, 23, 0),
]
WINDOW = (dt.datetime(2026, 3, 1), dt.datetime(2027, 3, 1))


def ours(rule_text, start, window=WINDOW, steps=10**7):
    rule = parse_rule(rule_text)
    found = occurrences(
        rule,
        start,
        window_start=window[0] - dt.timedelta(days=2),
        window_end=window[1],
        until=rule.until,
        budget=Budget(steps=steps, seconds=60),
    )
    return [x for x in found if window[0] <= x < window[1]]


@pytest.mark.parametrize(("text", "start"), list(itertools.product(ORDINARY, STARTS)))
def test_same_occurrences_as_dateutil(text, start):
    theirs = rrulestr(text, dtstart=start)
    expected = [x for x in theirs.between(*WINDOW, inc=True) if x < WINDOW[1]]
    # RFC 5545: DTSTART is the first occurrence even when the rule does not produce it.
    if WINDOW[0] <= start < WINDOW[1] and start not in expected:
        expected = sorted([start, *expected])
    assert ours(text, start) == expected


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",  # never: dateutil walks to 9999 (≈5 s)
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=1000",
        "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=9",
        "FREQ=WEEKLY;BYDAY=MO;BYMONTH=2;BYMONTHDAY=30",
    ],
)
def test_rules_that_never_match_cost_a_bounded_number_of_steps(text):
    budget = Budget(steps=10**6, seconds=60)
    started = time.thread_time()
    found = list(
        occurrences(
            parse_rule(text),
            dt.datetime(1990, 1, 1, 9),
            window_start=WINDOW[0],
            window_end=WINDOW[1],
            until=None,
            budget=budget,
        )
    )
    assert found == [dt.datetime(1990, 1, 1, 9)]  # DTSTART only
    # COUNT walks from DTSTART (36 years of days), the others skip to the window.
    used = 10**6 - budget.left
    assert used <= (14_000 if "COUNT" in text else 800), used
    assert time.thread_time() - started < 0.5


def test_budget_stops_expansion_at_the_first_limit():
    budget = Budget(steps=1000, seconds=60)
    with pytest.raises(BudgetExceeded) as exc:
        list(
            occurrences(
                parse_rule("FREQ=DAILY;COUNT=100000"),
                dt.datetime(1900, 1, 1),
                window_start=WINDOW[0],
                window_end=WINDOW[1],
                until=None,
                budget=budget,
            )
        )
    assert exc.value.kind == "work"


def test_budget_deadline_in_cpu_time():
    ticks = iter(range(100))
    budget = Budget(steps=10**9, seconds=5, clock=lambda: next(ticks))
    with pytest.raises(BudgetExceeded) as exc:
        for _ in range(5000):
            budget.spend()
    assert exc.value.kind == "time"


def test_without_count_a_rule_from_long_ago_starts_at_the_window():
    budget = Budget(steps=10**6, seconds=60)
    found = list(
        occurrences(
            parse_rule("FREQ=DAILY"),
            dt.datetime(1950, 6, 1, 7),
            window_start=WINDOW[0],
            window_end=WINDOW[1],
            until=None,
            budget=budget,
        )
    )
    assert found[1] == dt.datetime(2026, 3, 1, 7) and found[-1] == dt.datetime(2027, 2, 28, 7)
    assert 10**6 - budget.left < 400  # not 77 years of days


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("FREQ=SECONDLY", "too_frequent"),
        ("FREQ=MINUTELY;INTERVAL=5", "too_frequent"),
        ("FREQ=HOURLY", "too_frequent"),
        ("FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12;BYMINUTE=0,30", "too_frequent"),
        ("FREQ=YEARLY;BYWEEKNO=20", "unsupported"),
        ("FREQ=SOMETIMES", "invalid"),
        ("FREQ=DAILY;BYDAY=1MO", "invalid"),
        ("FREQ=DAILY;BYMONTHDAY=40", "invalid"),
        ("FREQ=DAILY;INTERVAL=0", "invalid"),
        ("FREQ=DAILY;UNTIL=tomorrow", "invalid"),
        ("FREQ=DAILY;FREQ=WEEKLY", "invalid"),
        ("FREQ=DAILY;BYHOUR=" + ",".join(["1"] * 500), "invalid"),
    ],
)
def test_rules_refused_with_a_reason(text, code):
    with pytest.raises(RecurrenceError) as exc:
        parse_rule(text)
    assert exc.value.code == code


def test_budget_paces_the_work_to_its_share_of_a_core():
    cpu = [0.0]
    slept = []

    def clock():
        cpu[0] += 0.001  # every clock read: 1 ms of CPU went by
        return cpu[0]

    budget = Budget(
        steps=10**9, seconds=60, share=0.5, slice_seconds=0.005, clock=clock, sleep=slept.append
    )
    for _ in range(32 * 100):
        budget.tick()
    # Half a core: as long asleep as working, in slices of about 5 ms.
    assert sum(slept) == pytest.approx(cpu[0], rel=0.35)
    assert all(0.004 <= s <= 0.01 for s in slept)
