"""The seed rows (migrations 0013_taxonomy_seed and 0013_resources_seed) in every test: a
transactional test flushes every table when it ends, seeds included, and a later test would
then find no category to file a report under. So after each transactional test, once its
flush is done, the seeds are written again (outside any test's transaction, so they stay).
Ordinary tests never write them: they run inside a transaction that would hold SQLite's
locks (the WAL-checkpoint test cannot checkpoint then)."""

from __future__ import annotations

from importlib import import_module

from django.apps import apps
from pytest_django.plugin import blocking_manager_key

SEED_MIGRATIONS = ("0013_taxonomy_seed", "0013_resources_seed")


def seed() -> None:
    """Add any missing seed entry (idempotent; edited labels are left alone)."""
    for name in SEED_MIGRATIONS:
        import_module(f"hotline.migrations.{name}").seed(apps, None)


def flushed(item) -> bool:
    marker = item.get_closest_marker("django_db")
    names = getattr(item, "fixturenames", ())
    return (
        "transactional_db" in names
        or "live_server" in names
        or bool(marker and marker.kwargs.get("transaction"))
    )


def reseed_after_flush(item) -> None:
    if flushed(item):
        with item.config.stash[blocking_manager_key].unblock():
            seed()
