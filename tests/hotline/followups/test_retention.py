"""Retention with follow-ups: a callback number is kept while its follow-up is open and
RETENTION_DAYS_CALLBACK after it closes; closed follow-ups' notes go after
RETENTION_DAYS_NOTES (three years by default)."""

import datetime as dt

import pytest
from django.conf import settings as django_settings

from hotline.crisis.retention import purge_expired
from hotline.followups import services
from hotline.models import CallbackRequest, FollowUp
from tests.support.crisis import answered_call
from tests.support.followups import follow_up_for
from tests.support.twilio import NOW

DAYS = dt.timedelta(days=1)


@pytest.fixture
def days(settings):
    settings.RETENTION_DAYS_CALLBACK = 30
    settings.RETENTION_DAYS_NOTES = 1095


def test_notes_are_kept_three_years_by_default():
    assert django_settings.RETENTION_DAYS_NOTES == 1095


def callback(scene, volunteer, at):
    call = answered_call(scene.hotline, volunteer, at=at)
    cb = CallbackRequest.objects.create(
        call=call, hotline=scene.hotline, number="+8613911112222", requested_at=at
    )
    return cb, services.follow_up_from_callback(callback=cb, now=at)


def test_callback_number_kept_while_its_follow_up_is_open(scene, volunteer, days, clock):
    cb, _fu = callback(scene, volunteer, NOW - 60 * DAYS)
    purge_expired(now=NOW)
    cb.refresh_from_db()
    assert cb.number == "+8613911112222"


def test_callback_number_erased_30_days_after_its_follow_up_closed(
    scene, volunteer, supervisor, days, clock
):
    cb, fu = callback(scene, volunteer, NOW - 60 * DAYS)
    services.follow_up_complete(
        follow_up=fu, by=supervisor.user, status="done", now=NOW - 20 * DAYS
    )
    purge_expired(now=NOW)
    cb.refresh_from_db()
    assert cb.number == "+8613911112222"  # closed 20 days ago
    purge_expired(now=NOW + 11 * DAYS)
    cb.refresh_from_db()
    assert cb.number == ""


def test_follow_up_number_and_notes_erased_after_their_periods(scene, volunteer, days, clock):
    opened = NOW - 1100 * DAYS
    fu = follow_up_for(scene.hotline, volunteer, now=opened, due_at=opened + DAYS)
    still_open = follow_up_for(scene.hotline, volunteer, now=opened, due_at=opened + DAYS)
    services.follow_up_complete(
        follow_up=fu, by=volunteer.user, status="done", notes="she is safe", now=opened
    )
    result = purge_expired(now=NOW)
    assert result.counts["follow_up_numbers"] == 1 and result.counts["follow_up_notes"] == 1
    fu.refresh_from_db()
    still_open.refresh_from_db()
    assert (fu.number, fu.notes, fu.status) == ("", "", "done")
    assert fu.notes_purged_at == NOW
    assert still_open.number == "+8613900139000"
    assert purge_expired(now=NOW).total == 0
    assert FollowUp.objects.count() == 2
