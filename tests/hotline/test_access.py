"""hotline/access.py: every persona against every predicate, the hotline seam, and the rule
that predicates live there alone (DRF permissions and views only wrap them)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from hotline import access
from hotline.models import Call, Hotline
from tests.support import factories as f
from tests.support.crisis import answered_call

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NOW = f.at(2026, 3, 2, 10)


@pytest.fixture
def people(coordinator, volunteer, supervisor, outsider):
    return {
        "coordinator": coordinator,
        "superuser": f.user(is_superuser=True),
        "staff": f.user(is_staff=True),
        "supervisor": supervisor.user,
        "volunteer": volunteer.user,
        "inactive supervisor": f.volunteer(roles=("supervisor",), is_active=False).user,
        "inactive coordinator": f.coordinator_user(is_active=False),
        "outsider": outsider,
        "anonymous": AnonymousUser(),
    }


COORDINATORS = {"coordinator", "superuser", "staff"}
CRISIS_STAFF = COORDINATORS | {"supervisor"}


@pytest.mark.parametrize(
    ("predicate", "allowed"),
    [
        (access.is_coordinator, COORDINATORS),
        (access.is_crisis_staff, CRISIS_STAFF),
        (access.can_see_callbacks, CRISIS_STAFF),
        (access.can_manage_rosters, COORDINATORS),
        (access.can_override_rules, COORDINATORS),
        (access.can_decide_swaps, COORDINATORS),
        (access.can_see_open_slots, COORDINATORS),
        (access.can_see_failed_sms, COORDINATORS),
    ],
)
def test_predicate_by_persona(people, predicate, allowed):
    assert {name for name, user in people.items() if predicate(user)} == allowed


def test_predicates_refuse_none():
    assert not access.is_coordinator(None)
    assert not access.is_crisis_staff(None)
    assert access.volunteer_of(None) is None


def test_report_and_escalate_on_a_call(people, volunteer):
    call = answered_call(f.hotline(), volunteer, at=NOW)
    reporters = {name for name, user in people.items() if access.can_report_on(user, call)}
    assert reporters == {"volunteer"}
    escalators = {name for name, user in people.items() if access.can_escalate(user, call)}
    assert escalators == CRISIS_STAFF | {"volunteer"}
    volunteer.is_active = False
    volunteer.save()
    call = Call.objects.get(pk=call.pk)
    user = type(volunteer.user).objects.get(pk=volunteer.user_id)  # a fresh user, no cache
    assert not access.can_report_on(user, call) and not access.can_escalate(user, call)


def test_volunteer_of_and_active_volunteer_of(people, volunteer, coordinator):
    assert access.volunteer_of(volunteer.user) == volunteer
    assert access.volunteer_of(coordinator) is None
    inactive = people["inactive supervisor"]
    assert access.volunteer_of(inactive) is not None
    assert access.active_volunteer_of(inactive) is None


def test_hotlines_of_no_organisation_managed_by_every_coordinator_none_for_others(people):
    hotlines = [f.hotline(), f.hotline()]
    for name, user in people.items():
        managed = set(Hotline.objects.filter(access.managed_hotlines_q(user)))
        assert managed == (set(hotlines) if name in COORDINATORS else set()), name


def test_managed_filters_cost_nothing_for_superusers():
    # EVERY_ROW adds no WHERE clause; OR-ed with another filter it still matches everything.
    superuser = f.user(is_superuser=True)
    query = str(Hotline.objects.filter(access.managed_hotlines_q(superuser, "")).query)
    assert "WHERE" not in query
    f.hotline(is_active=False, organisation=f.organisation())
    either = Hotline.objects.filter(access.managed_hotlines_q(superuser) | Q(is_active=True))
    assert either.count() == 1


def test_supervised_hotlines_are_those_with_an_active_assignment_on_a_published_roster(
    supervisor,
):
    worked, draft_only, cancelled, other = (f.hotline() for _ in range(4))
    f.assignment(
        shift_=f.shift(roster_=f.roster(hotline_=worked, status="published")),
        volunteer_=supervisor,
    )
    f.assignment(shift_=f.shift(roster_=f.roster(hotline_=draft_only)), volunteer_=supervisor)
    f.assignment(
        shift_=f.shift(roster_=f.roster(hotline_=cancelled, status="published")),
        volunteer_=supervisor,
        status="cancelled",
    )
    assert list(access.supervised_hotlines(supervisor)) == [worked]


# --- predicates live in hotline/access.py alone ------------------------------------------------

PREDICATES = [
    name
    for name in dir(access)
    if name.startswith(("is_", "can_")) or name in ("coordinator_q", "supervised_hotlines")
]
FORMER_HOMES = [
    "hotline.crisis.selectors",
    "hotline.calls.selectors",
    "hotline.crisis.reports",
    "api.views.call",
    "api.views.escalation",
]


@pytest.mark.parametrize("module", FORMER_HOMES)
def test_former_homes_no_longer_offer_the_predicates(module):
    offered = [n for n in PREDICATES if hasattr(importlib.import_module(module), n)]
    assert offered == []


def _defined_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_no_predicate_is_defined_outside_the_access_module():
    names = set(PREDICATES)
    for folder in ("hotline", "scheduling", "api"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "hotline" / "access.py" or "migrations" in path.parts:
                continue
            assert not names & _defined_functions(path), path


def test_permission_classes_live_in_api_permissions():
    for path in (ROOT / "api").rglob("*.py"):
        if path.name != "permissions.py":
            assert "has_permission" not in _defined_functions(path), path
