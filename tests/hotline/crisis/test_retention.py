"""purge_expired: erases callback numbers, recording references and notes past their
retention, keeps the statistics, is idempotent, reports progress."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from hotline.crisis.escalations import escalation_raise, escalation_resolve
from hotline.crisis.reports import report_addendum_add, report_create
from hotline.crisis.retention import purge_expired
from hotline.models import AuditLog, CallbackRequest, CallReportAddendum
from tests.support.crisis import REPORT, answered_call
from tests.support.twilio import NOW

OLD = NOW - dt.timedelta(days=400)
RECENT = NOW - dt.timedelta(days=10)


@pytest.fixture
def records(scene, settings):
    settings.RETENTION_DAYS_CALLBACK = 30
    settings.RETENTION_DAYS_RECORDING = 90
    settings.RETENTION_DAYS_NOTES = 365
    counsellor = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor", role="supervisor")
    out = {}
    for name, at in (("old", OLD), ("recent", RECENT)):
        call = answered_call(
            scene.hotline,
            counsellor,
            at=at,
            recording_sid="RE" + "1" * 32,
            recording_duration=30,
            duration=300,
        )
        CallbackRequest.objects.create(
            call=call, hotline=scene.hotline, number="+8613911112222", requested_at=at
        )
        report = report_create(call=call, by=counsellor.user, data=REPORT, now=at)
        report_addendum_add(report=report, by=counsellor.user, text="follow-up call done", now=at)
        escalation_resolve(
            escalation=report.escalation, by=sup.user, outcome="referred", notes="GP", now=at
        )
        out[name] = call
    # an old escalation still open keeps its reason: it is still being handled
    live_call = answered_call(scene.hotline, counsellor, at=OLD)
    out["live"] = escalation_raise(call=live_call, by=counsellor.user, reason="still open", now=OLD)
    return out


def test_purge_erases_old_keeps_recent_and_statistics(records):
    result = purge_expired(now=NOW)
    assert result.counts == {
        "callback_numbers": 1,
        "follow_up_sms": 0,
        "recordings": 1,
        "report_notes": 1,
        "addenda": 1,
        "escalation_notes": 1,
        # the reports' follow-ups are still open: their number and notes stay
        "follow_up_numbers": 0,
        "follow_up_notes": 0,
    }
    old, recent = records["old"], records["recent"]
    old.refresh_from_db()
    assert old.recording_sid == ""
    assert (old.recording_duration, old.duration, old.outcome) == (30, 300, "answered")
    assert old.callback.number == "" and old.callback.requested_at == OLD
    report = old.report
    assert (report.summary, report.referral, report.notes_purged_at) == ("", "", NOW)
    assert (report.risk_level, report.category, report.caller_group, report.follow_up_needed) == (
        3,
        "psychological",
        "medical_family",
        True,
    )
    assert CallReportAddendum.objects.get(report=report).text == ""
    e = old.escalations.get()
    assert (e.reason, e.resolution_notes, e.outcome) == ("", "", "referred")
    # recent records untouched; the open escalation keeps its reason
    recent.refresh_from_db()
    assert recent.recording_sid and recent.callback.number == "+8613911112222"
    assert recent.report.summary == REPORT["summary"]
    records["live"].refresh_from_db()
    assert records["live"].reason == "still open"
    entry = AuditLog.objects.get(action="retention.purge")
    assert entry.actor is None and entry.detail["report_notes"] == 1
    # idempotent
    assert purge_expired(now=NOW).total == 0


def test_callback_numbers_have_their_own_shorter_period(records, settings):
    settings.RETENTION_DAYS_CALLBACK = 5
    purge_expired(now=NOW)
    records["recent"].refresh_from_db()
    assert records["recent"].callback.number == ""
    assert records["recent"].recording_sid  # 10 days < 90


def test_command_prints_progress_and_totals(records, clock):
    out = StringIO()
    call_command("purge_expired", stdout=out)
    text = out.getvalue()
    assert "Retention: callback numbers 30 days" in text
    assert "… callback numbers erased: 1" in text
    assert "report notes erased: 1" in text and "Done: 5 records erased." in text
    out = StringIO()
    call_command("purge_expired", stdout=out)
    assert "Done: 0 records erased." in out.getvalue()


def test_nothing_to_purge_writes_no_audit_row(db):
    assert purge_expired(now=NOW).total == 0
    assert not AuditLog.objects.exists()
