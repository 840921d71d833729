import functools
import os
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from hotline.models import Message
from hotline.sms import backends
from tests.support import factories as f
from tests.support.clock import Clock
from tests.support.scenes import NOW
from tests.support.taxonomy import reseed_after_flush


def pytest_collection_modifyitems(config, items):
    # Tests marked `postgres` need real row locks and two connections.
    for item in items:
        if "postgres" in item.keywords and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
    if os.environ.get("TESTS_THAT_USE_THE_DATABASE_ONLY"):
        # CI's second run (PostgreSQL): a test that cannot reach the database did the same
        # on the first run (SQLite). See docs/testing.md.
        kept = [item for item in items if not database_neutral(item)]
        config.hook.pytest_deselected(items=[item for item in items if database_neutral(item)])
        items[:] = kept


# Names in a test module that mean it may look at which database it runs on without querying
# it (a vendor check, a connection of its own): such a module runs on both databases whole.
_NAMES_THE_DATABASE = ("connection", "DATABASE", "vendor", "psycopg", "sqlite")


@functools.cache
def _names_the_database(path: str) -> bool:
    source = Path(path).read_text(encoding="utf-8")
    return any(name in source for name in _NAMES_THE_DATABASE)


def database_neutral(item) -> bool:
    """True for a test that cannot reach the database, so runs the same whatever DATABASE_URL
    says: no django_db marker and no fixture built on django_db_setup (db, transactional_db,
    live_server, busy_db, ...: without one pytest-django refuses the test every query) in a
    module that never names the database."""
    if item.get_closest_marker("django_db") or "django_db_setup" in item.fixturenames:
        return False
    return not _names_the_database(str(item.path))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # After a transactional test's flush: the seeded taxonomy and directory rows come back.
    result = yield
    # Not after the last test: its teardown has already destroyed the test database.
    if nextitem is not None:
        reseed_after_flush(item)
    return result


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


@pytest.fixture
def clock_start():
    """Where `clock` starts: the volunteer scenes' Saturday before a DST change (a package's
    conftest may override this fixture)."""
    return NOW


@pytest.fixture
def clock(monkeypatch, clock_start):
    """Freeze django.utils.timezone.now at `clock_start`; `clock.set(t)` and
    `clock.advance(hours=1)` move it, `clock.now` reads it."""
    c = Clock(clock_start)
    monkeypatch.setattr("django.utils.timezone.now", c)
    # Built feeds are cached by ETag; under a frozen clock two tests' ETags could agree.
    cache.clear()
    return c


class Outbox:
    """The SMS queued in the outbox (Message rows: tests run inside a transaction, so the
    after-commit delivery never runs); iterate for dicts with to, body, dedupe_key."""

    def __iter__(self):
        return iter(Message.objects.order_by("id").values("to", "body", "dedupe_key", "purpose"))

    def __len__(self):
        return Message.objects.count()


@pytest.fixture
def outbox():
    backends.outbox.clear()
    yield Outbox()
    backends.outbox.clear()
