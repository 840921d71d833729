"""The solver and the rule layer agree: on random rosters in the database, every
assignment the builder proposes is accepted by `scheduling.rules` (no refusal at save
time), and the saved roster passes the solver's independent `check_solution`.

Random but seeded: windows (some crossing midnight), time off, weekly limits, crisis
training, mixed roles, busy time on another hotline and on another roster of the same
hotline, locked manual assignments, back-to-back settings, and a DST change.
"""

import datetime as dt
import random

import pytest

from scheduling import services
from scheduling.builder import roster_build, roster_instance
from scheduling.models import Assignment, Shift, ShiftPattern
from scheduling.rules import RuleViolation, check_assignment
from scheduling.solver import check_solution
from tests.support import factories as f

pytestmark = pytest.mark.django_db

ROLES = ("counsellor", "family_educator", "supervisor")
# Europe/London changes to summer time on 2026-03-29: rosters starting on the 23rd cross it.
ZONES = ("Asia/Shanghai", "Europe/London")
BEFORE_EVERYTHING = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _patterns(rng, hotline):
    layouts = [
        [(dt.time(8), dt.time(14)), (dt.time(14), dt.time(20)), (dt.time(20), dt.time(8))],
        [(dt.time(9), dt.time(17)), (dt.time(17), dt.time(23))],
        [(dt.time(8), dt.time(20)), (dt.time(20), dt.time(8))],
    ]
    for start, end in rng.choice(layouts):
        counsellors = rng.randint(1, 2)
        ShiftPattern.objects.create(
            hotline=hotline,
            name=f"{start:%H}-{end:%H}",
            start_time=start,
            end_time=end,
            weekdays=list(range(7)),
            required_counsellors=counsellors,
            crisis_trained_required=rng.randint(0, 1),
            required_family_educators=rng.randint(0, 1),
            required_supervisors=rng.choice((0, 0, 1)),
        )


def _volunteers(rng, count):
    people = []
    for i in range(count):
        roles = rng.sample(ROLES, rng.choice((1, 1, 2)))
        people.append(
            f.volunteer(
                roles=roles,
                crisis_trained=rng.random() < 0.4,
                max_shifts_per_week=rng.randint(1, 4),
                display_name=f"R{i}",
            )
        )
    return people


def _availability(rng, people, tz, first_day):
    for v in people:
        kind = rng.random()
        if kind < 0.3:
            continue  # no windows: available any time
        for weekday in rng.sample(range(7), rng.randint(2, 6)):
            start = rng.choice((0, 6, 8, 12, 17, 20))
            end = rng.choice((0, 8, 14, 20, 23))
            f.availability(
                volunteer_=v,
                weekday=weekday,
                start=dt.time(start),
                end=dt.time(end),
                kind=rng.choice(("available", "available", "preferred")),
            )
        if rng.random() < 0.4:
            day = first_day + dt.timedelta(days=rng.randint(0, 10))
            starts = dt.datetime.combine(day, dt.time(rng.randint(0, 20)), tzinfo=tz)
            f.time_off(
                volunteer_=v,
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=rng.randint(4, 60)),
            )


def _busy_elsewhere(rng, people, hotline, first_day, tz):
    """Assignments on another hotline, and on another roster of the same hotline."""
    other = f.roster(first_day=first_day, last_day=first_day + dt.timedelta(days=13))
    neighbour = f.roster(
        hotline_=hotline,
        first_day=first_day - dt.timedelta(days=7),
        last_day=first_day - dt.timedelta(days=1),
    )
    for v in rng.sample(people, max(1, len(people) // 3)):
        day = first_day + dt.timedelta(days=rng.randint(0, 12))
        starts = dt.datetime.combine(day, dt.time(rng.choice((6, 10, 19))), tzinfo=tz)
        f.assignment(
            shift_=f.shift(roster_=other, starts_at=starts, hours=rng.choice((4, 8))), volunteer_=v
        )
    for v in rng.sample(people, max(1, len(people) // 4)):
        # Ends exactly when this roster's first shifts may start: tests back-to-back.
        starts = dt.datetime.combine(first_day, dt.time(8), tzinfo=tz) - dt.timedelta(hours=12)
        f.assignment(shift_=f.shift(roster_=neighbour, starts_at=starts, hours=12), volunteer_=v)


def _locked_manual(rng, roster, people):
    shifts = list(Shift.objects.filter(roster=roster))
    placed = 0
    for _ in range(20):
        shift, volunteer = rng.choice(shifts), rng.choice(people)
        role = rng.choice(volunteer.roles)
        try:
            services.assignment_create(
                shift=shift, volunteer=volunteer, role=role, locked=rng.random() < 0.7
            )
            placed += 1
        except RuleViolation:
            pass
        if placed >= 3:
            break


def _random_roster(seed):
    rng = random.Random(seed)
    zone = rng.choice(ZONES)
    hotline = f.hotline(
        time_zone=zone,
        min_rest_hours=rng.choice((0, 8, 11, 12)),
        allow_back_to_back=rng.random() < 0.5,
    )
    _patterns(rng, hotline)
    first_day = (
        dt.date(2026, 3, 23)
        if zone == "Europe/London"
        else dt.date(2026, 3, 2) + dt.timedelta(days=rng.randint(0, 6))
    )
    roster = services.roster_create(
        hotline=hotline,
        first_day=first_day,
        last_day=first_day + dt.timedelta(days=rng.randint(6, 12)),
    )
    people = _volunteers(rng, rng.randint(8, 16))
    _availability(rng, people, hotline.tz, first_day)
    _busy_elsewhere(rng, people, hotline, first_day, hotline.tz)
    _locked_manual(rng, roster, people)
    return roster, rng


def _saved(roster):
    return [
        {"shift": s, "volunteer": v, "role": r}
        for s, v, r in Assignment.objects.filter(
            shift__roster=roster, status=Assignment.Status.ACTIVE
        ).values_list("shift_id", "volunteer_id", "role")
    ]


@pytest.mark.parametrize("seed", range(1, 11))
def test_builder_proposals_are_all_accepted_by_the_rule_layer(seed):
    roster, rng = _random_roster(seed)
    # The instance as the solver sees it, with the locked manual assignments fixed.
    instance = roster_instance(roster, now=BEFORE_EVERYTHING)
    greedy = rng.random() < 0.3

    summary = roster_build(
        roster=roster, time_limit=1.5, greedy=greedy, seed=seed, now=BEFORE_EVERYTHING
    )

    assert summary["refused"] == [], summary["refused"]
    assert check_solution(instance, _saved(roster)) == []
    # Both sides count the same empty seats.
    assert summary["coverage"]["seats_missing"] == summary["metrics"]["unfilled_seats"]
    built = Assignment.objects.filter(
        shift__roster=roster, source=Assignment.Source.AUTO
    ).select_related("shift__roster__hotline", "volunteer")
    assert built  # else the loop below checks nothing
    for a in built:
        assert check_assignment(shift=a.shift, volunteer=a.volunteer, role=a.role, ignore=a) == []


@pytest.mark.parametrize("seed", range(11, 14))
def test_rebuild_proposals_are_all_accepted_by_the_rule_layer(seed):
    roster, _rng = _random_roster(seed)
    roster_build(roster=roster, time_limit=1, greedy=True, now=BEFORE_EVERYTHING)
    locked = set(
        Assignment.objects.filter(shift__roster=roster, locked=True, status="active").values_list(
            "pk", flat=True
        )
    )
    instance = roster_instance(roster, rebuild=True, now=BEFORE_EVERYTHING)

    summary = roster_build(
        roster=roster, rebuild=True, time_limit=1.5, seed=seed, now=BEFORE_EVERYTHING
    )

    assert summary["refused"] == [], summary["refused"]
    assert check_solution(instance, _saved(roster)) == []
    assert locked <= set(
        Assignment.objects.filter(shift__roster=roster, status="active").values_list(
            "pk", flat=True
        )
    )


def _active_triples(roster):
    return set(
        Assignment.objects.filter(
            shift__roster=roster, status=Assignment.Status.ACTIVE
        ).values_list("shift_id", "volunteer_id", "role")
    )


@pytest.mark.parametrize(
    ("seed", "strategy"), [(s, "repair") for s in range(21, 25)] + [(25, "fairest")]
)
def test_repair_proposals_are_all_accepted_by_the_rule_layer(seed, strategy):
    roster, rng = _random_roster(seed)
    roster_build(roster=roster, time_limit=1, greedy=True, now=BEFORE_EVERYTHING)
    # A few of the volunteers on it take time off over one of their unlocked shifts.
    unlocked = list(
        Assignment.objects.filter(
            shift__roster=roster, status=Assignment.Status.ACTIVE, locked=False
        ).select_related("shift", "volunteer")
    )
    off = rng.sample(unlocked, min(3, len(unlocked)))
    assert off  # else nothing is repaired
    for a in off:
        f.time_off(volunteer_=a.volunteer, starts_at=a.shift.starts_at, ends_at=a.shift.ends_at)
    before = _active_triples(roster)
    instance = roster_instance(roster, rebuild=True, now=BEFORE_EVERYTHING)

    summary = roster_build(
        roster=roster,
        rebuild=True,
        time_limit=1.5,
        seed=seed,
        strategy=strategy,
        now=BEFORE_EVERYTHING,
    )

    assert summary["refused"] == [], summary["refused"]
    assert summary["metrics"]["mode"] == strategy
    assert check_solution(instance, _saved(roster)) == []
    after = _active_triples(roster)
    # The solver's count of changes is what the database shows, and each one has a reason.
    assert summary["metrics"]["changes"] == len(before ^ after)
    assert len(summary["changes"]) == len(before ^ after)
    for a in off:
        assert (a.shift_id, a.volunteer_id, a.role) not in after
        gone = Assignment.objects.filter(pk=a.pk).get()
        assert gone.change_reason["reason_code"] == "time_off"
    for shift_id, volunteer_id, role in after - before:
        new = Assignment.objects.get(
            shift_id=shift_id, volunteer_id=volunteer_id, role=role, status="active"
        )
        assert new.change_reason["kind"] == "added" and new.change_reason["reason"]
        assert (
            check_assignment(shift=new.shift, volunteer=new.volunteer, role=role, ignore=new) == []
        )
