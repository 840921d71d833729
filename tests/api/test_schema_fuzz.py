"""Schemathesis drives every operation of the OpenAPI schema through the WSGI app."""

import datetime as dt

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi._hypothesis import _draw_negated_locations

from config.wsgi import application
from hotline.accounts.tokens import api_token_issue
from scheduling import services
from tests.support import factories as f

# Examples per operation and mode: 8 keeps the whole run near a minute and a half per database
# (CI runs it on SQLite and PostgreSQL) with 60-odd operations.
EXAMPLES = 8
# Every plan's Hypothesis settings: its examples drawn the same way on every run, none kept.
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
# The operations are split into shards, each its own test with its own scene, so that a
# failure names a quarter of the operations; together they cover every operation once.
SHARDS = 4


@pytest.fixture
def scene(transactional_db):
    """A little of everything, so pinned ids reach real rows (and their rules)."""
    cache.clear()
    coordinator = f.coordinator_user(username="fuzz-coord")
    token = api_token_issue(user=coordinator)
    hotline = f.hotline()
    roster = f.roster(hotline_=hotline)
    shift = f.shift(roster_=roster, required_counsellors=2, crisis_trained_required=1)
    organisation = f.organisation()
    volunteer = f.volunteer(
        roles=("counsellor", "family_educator"), crisis_trained=True, organisation=organisation
    )
    f.volunteer(user=coordinator, roles=("supervisor",))
    assignment = services.assignment_create(
        shift=shift, volunteer=volunteer, role="counsellor", by=coordinator
    )
    window = f.availability(volunteer_=volunteer, weekday=0, start=dt.time(8), end=dt.time(20))
    off = f.time_off(
        volunteer_=volunteer, starts_at=f.at(2026, 3, 10, 8), ends_at=f.at(2026, 3, 11, 8)
    )
    ids = {
        "assignments": assignment.pk,
        "availability": window.pk,
        "hotlines": hotline.pk,
        "organisations": organisation.pk,
        "rosters": roster.pk,
        "shifts": shift.pk,
        "time-off": off.pk,
        "volunteers": volunteer.pk,
    }
    return {"Authorization": f"Token {token.key}"}, ids


def _pinned_id(operation, ids):
    if "{id}" not in operation.path:
        return None
    resource = operation.path.split("/api/v1/")[1].split("/")[0]
    return {"id": ids[resource]} if resource in ids else None


class _Negatable(Exception):
    pass


def _draw_means_negatable(strategy):
    raise _Negatable


def _negatable(operation, path_parameters) -> bool:
    """Whether negative mode can break anything in `operation` (with these pinned path
    parameters). When it cannot (no body, no query, no path parameter left unpinned: only the
    token), schemathesis draws each case and rejects it unsent until Hypothesis gives up with
    Unsatisfiable: 26 of the 328 plans, over a third of the run's time, and not one request.
    This asks schemathesis's own choice of the locations to break, which draws only when there
    is one (schemathesis is pinned: a version without it fails the import, and
    test_a_plan_left_out_sends_nothing checks that such a plan indeed sends nothing)."""
    try:
        _draw_negated_locations(
            _draw_means_negatable,
            operation,
            GenerationMode.NEGATIVE,
            explicit={
                ParameterLocation.PATH: path_parameters,
                ParameterLocation.HEADER: None,
                ParameterLocation.COOKIE: None,
                ParameterLocation.QUERY: None,
            },
            body_is_generated=True,
        )
    except _Negatable:
        return True
    return False


def _operations():
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.django_db
def test_the_shards_see_every_operation_in_one_order():
    # Each shard builds the schema again and takes every SHARDS-th operation:
    # that covers each operation once only if the order is the same every time.
    first = [(op.method.upper(), op.path) for op in _operations()]
    assert len(first) >= 45
    assert [(op.method.upper(), op.path) for op in _operations()] == first


@pytest.mark.django_db
def test_a_plan_left_out_sends_nothing():
    """The negative plans the shards leave out, one unpinned and one pinned, run as the shards
    would run them: not one case is made, and Hypothesis gives up."""
    operations = {(op.method.upper(), op.path): op for op in _operations()}
    me = operations["GET", "/api/v1/me/"]
    hotline = operations["GET", "/api/v1/hotlines/{id}/"]
    pinned = {"id": 1}
    assert not _negatable(me, None) and not _negatable(hotline, pinned)
    assert _negatable(hotline, None)  # its id, unpinned, can be broken
    sent = []
    for operation, path_parameters in ((me, None), (hotline, pinned)):

        @FUZZ
        @given(case=operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=path_parameters))
        def run(case):
            sent.append(case)

        with pytest.raises(Unsatisfiable):
            run()
    assert sent == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_operation_answers_without_a_server_error(scene, shard):
    headers, ids = scene
    operations = _operations()[shard::SHARDS]
    # Deletes last, so the other operations still find the rows they are pinned to; revoking
    # the token after everything else, so the others run signed in.
    operations.sort(
        key=lambda op: (op.path.endswith("/token/revoke/"), op.method.upper() == "DELETE")
    )
    failures = []
    for operation in operations:
        pinned = _pinned_id(operation, ids)
        plans = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if pinned:
            plans += [(GenerationMode.POSITIVE, pinned), (GenerationMode.NEGATIVE, pinned)]
        for mode, path_parameters in plans:
            if mode == GenerationMode.NEGATIVE and not _negatable(operation, path_parameters):
                continue  # every case would be rejected unsent: see _negatable

            @FUZZ
            @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
            def run(case):
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} query={case.query}"
                        f" body={case.body!r} -> {response.status_code}"
                    )

            try:
                run()
            except Unsatisfiable:
                # Nothing to make invalid (no parameters or body): positive mode covers it.
                assert mode == GenerationMode.NEGATIVE
    assert not failures, "\n".join(failures[:20])
