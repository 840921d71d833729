"""Checks with preloaded volunteer facts say exactly what checks that query say."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling import rules
from tests.scheduling.test_services import ALL, scene
from tests.support import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def roster():
    return f.roster(hotline_=f.hotline(min_rest_hours=11))


@pytest.mark.parametrize("rule", ALL)
def test_facts_give_the_same_violations(rule, roster):
    shift, volunteer, role = scene(rule, roster)
    queried = rules.check_assignment(shift=shift, volunteer=volunteer, role=role)
    facts = rules.volunteers_facts([volunteer], starts_at=shift.starts_at, ends_at=shift.ends_at)
    preloaded = rules.check_assignment(
        shift=shift, volunteer=volunteer, role=role, facts=facts[volunteer.pk]
    )
    assert [v.code for v in queried] == [v.code for v in preloaded]
    assert rule in [v.code for v in preloaded]
    assert [v.message for v in queried] == [v.message for v in preloaded]


def test_facts_leave_one_query_per_check(roster):
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 4, 8))
    volunteers = [f.volunteer() for _ in range(5)]
    shift.roster.hotline  # noqa: B018 - loaded once, as callers do
    facts = rules.volunteers_facts(volunteers, starts_at=shift.starts_at, ends_at=shift.ends_at)
    with CaptureQueriesContext(connection) as queries:
        for v in volunteers:
            rules.check_assignment(shift=shift, volunteer=v, role="counsellor", facts=facts[v.pk])
    assert len(queries) == len(volunteers)
