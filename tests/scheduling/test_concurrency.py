"""Two writers at once on PostgreSQL: the row locks let exactly one through."""

import pytest

from scheduling import rules, services
from scheduling.rules import RuleViolation
from tests.support import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_last_seat_two_writers_exactly_one_wins():
    coordinator = f.coordinator_user()
    shift = f.shift(required_counsellors=1)
    first, second = f.volunteer(), f.volunteer()
    results = f.race(
        [
            lambda v=v: services.assignment_create(
                shift=shift, volunteer=v, role="counsellor", by=coordinator
            )
            for v in (first, second)
        ]
    )
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1, results
    assert len(lost) == 1 and isinstance(lost[0], RuleViolation), results
    assert lost[0].code == rules.CAPACITY
    assert shift.assignments.filter(status="active").count() == 1


def test_one_volunteer_two_overlapping_shifts_at_once_exactly_one():
    coordinator = f.coordinator_user()
    roster = f.roster()
    a = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8))
    b = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 10))
    volunteer = f.volunteer()
    results = f.race(
        [
            lambda s=s: services.assignment_create(
                shift=s, volunteer=volunteer, role="counsellor", by=coordinator
            )
            for s in (a, b)
        ]
    )
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(lost) == 1 and isinstance(lost[0], RuleViolation), results
    assert lost[0].code == rules.OVERLAP
    assert volunteer.assignments.filter(status="active").count() == 1


def test_two_volunteers_claiming_one_offer_exactly_one_gets_it(monkeypatch):
    import datetime as dt

    from scheduling import swaps
    from scheduling.models import Assignment, SwapRequest

    now = f.at(2026, 3, 1, 12)
    monkeypatch.setattr("django.utils.timezone.now", lambda: now)
    hotline = f.hotline(auto_approve_swaps=True)
    roster = f.roster(hotline_=hotline, status="published")
    shift = f.shift(
        roster_=roster, starts_at=now + dt.timedelta(days=2), required_family_educators=0
    )
    giver = f.volunteer()
    offered = f.assignment(shift_=shift, volunteer_=giver)
    swap = swaps.swap_offer(assignment=offered, volunteer=giver, now=now)
    takers = [f.volunteer(), f.volunteer()]

    results = f.race(
        [lambda v=v: swaps.swap_claim(swap=swap, volunteer=v, now=now) for v in takers]
    )

    assert sum(isinstance(r, SwapRequest) for r in results) == 1, results
    assert sum(isinstance(r, RuleViolation) for r in results) == 1, results
    active = Assignment.objects.filter(shift=shift, status="active")
    assert active.count() == 1 and active.get().volunteer in takers


def test_assignment_write_never_locks_the_hotline_row():
    """Call routing locks the hotline row to plan ring batches: a roster write (an auto-fill
    saves a whole roster in one transaction) must not make a caller wait for it."""
    from django.db import connection, connections, transaction

    from hotline.models import Hotline

    shift = f.shift(required_counsellors=2)
    volunteer = f.volunteer()
    with transaction.atomic():
        services.assignment_create(shift=shift, volunteer=volunteer, role="counsellor")
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {Hotline._meta.db_table} WHERE id = %s FOR UPDATE NOWAIT",  # noqa: S608 - a model table name
                    [shift.roster.hotline_id],
                )
                assert cursor.fetchone() is not None
        finally:
            other.close()
    assert connection.in_atomic_block is False
