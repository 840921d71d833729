"""Several workers running the overdue job at the same moment on PostgreSQL: each overdue
follow-up is reported once, to each person once."""

import datetime as dt

import pytest

from hotline.followups import services
from hotline.models import FollowUp, Message
from tests.support import factories as f
from tests.support.followups import follow_up_for
from tests.support.twilio import NOW

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_four_workers_at_once_alert_each_overdue_follow_up_once():
    hotline = f.hotline()
    volunteer = f.volunteer()
    supervisors = [f.volunteer(roles=("supervisor",)) for _ in range(2)]
    for i in range(5):
        follow_up_for(hotline, volunteer, now=NOW, due_at=NOW - dt.timedelta(minutes=i + 1))
    later = NOW + dt.timedelta(minutes=5)
    results = f.race([lambda: services.follow_ups_alert_overdue(now=later) for _ in range(4)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 5 * len(supervisors)
    assert Message.objects.filter(purpose="followup").count() == 5 * len(supervisors)
    assert not FollowUp.objects.filter(overdue_alerted_at__isnull=True).exists()
