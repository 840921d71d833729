"""The taxonomy's seed rows (migration 0013_taxonomy_seed) in every test that uses the
database: a transactional test flushes the tables after itself, seeds included, and a later
test would then find no category to file a report under."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps


def taxonomy_seed() -> None:
    """Add any missing seed entry (idempotent; edited labels are left alone)."""
    import_module("hotline.migrations.0013_taxonomy_seed").seed(apps, None)


def seed_if_db(request) -> None:
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    if "transactional_db" in names or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif "db" in names or marker is not None:
        request.getfixturevalue("db")
    else:
        return
    taxonomy_seed()


@pytest.fixture(autouse=True)
def _taxonomy_seeded(request):
    seed_if_db(request)
