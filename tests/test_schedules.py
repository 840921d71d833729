"""ensure_schedules (run after every `migrate`) makes the database match config/schedules.py."""

import pytest
from django_q.models import Schedule

from config.schedules import SCHEDULES, ensure_schedules


@pytest.mark.django_db
def test_ensure_schedules_makes_the_database_match_the_list():
    ensure_schedules()
    assert sorted(Schedule.objects.values_list("name", "func", "minutes")) == sorted(SCHEDULES)


@pytest.mark.django_db
def test_a_retired_entry_is_deleted_and_an_operators_own_kept():
    Schedule.objects.create(name="old-name", func="hotline.tasks.sms_outbox_flush", minutes=1)
    Schedule.objects.create(name="nightly-export", func="ops.export.run", minutes=1440)
    Schedule.objects.filter(name="calls-sweep").update(minutes=99)

    ensure_schedules()

    names = set(Schedule.objects.values_list("name", flat=True))
    assert "old-name" not in names
    assert "nightly-export" in names
    assert Schedule.objects.get(name="calls-sweep").minutes == 1
    assert Schedule.objects.filter(func="hotline.tasks.sms_outbox_flush").count() == 1
