import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from tests.support import factories as f

# The volunteer self-service scenes' `clock` and `outbox` fixtures, for every test module
# (tests/support/twilio.py has its own `clock`, which wins there).
pytest_plugins = ["tests.support.scenes"]


def pytest_collection_modifyitems(config, items):
    # Tests marked `postgres` need real row locks and two connections.
    for item in items:
        if "postgres" in item.keywords and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Counters kept in the cache (import limits) must not carry over from another test.
    cache.clear()


@pytest.fixture
def coordinator(db):
    return f.coordinator_user(username="coord")


@pytest.fixture
def volunteer(db):
    return f.volunteer(roles=("counsellor",), crisis_trained=True, display_name="Li Na")


@pytest.fixture
def supervisor(db):
    return f.volunteer(
        roles=("supervisor", "counsellor"), crisis_trained=True, display_name="Zhao Lei"
    )


@pytest.fixture
def outsider(db):
    return f.user(username="outsider")


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def coordinator_api(coordinator):
    client = APIClient()
    client.force_authenticate(coordinator)
    return client


@pytest.fixture
def volunteer_api(volunteer):
    client = APIClient()
    client.force_authenticate(volunteer.user)
    return client
