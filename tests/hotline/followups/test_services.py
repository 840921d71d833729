"""Follow-ups: each way one is made, changing and closing one, and the overdue alert that
goes up the escalation chain exactly once, even when a worker dies midway."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hotline.crisis import reports
from hotline.followups import services
from hotline.models import AuditLog, Call, FollowUp, Message
from tests.support import factories as f
from tests.support.crisis import answered_call, coordinator_with_phone
from tests.support.followups import LOW, follow_up_for, reported_call
from tests.support.twilio import NOW, fixture

DAY = dt.timedelta(hours=24)


@pytest.fixture
def sup_on(scene, supervisor):
    """The persona supervisor, on shift on the scene's hotline now."""
    f.assignment(shift_=scene.shift, volunteer_=supervisor, role="supervisor")
    return supervisor


# --- how follow-ups are made -------------------------------------------------------------------


def test_report_with_follow_up_needed_makes_one_due_next_day_for_its_author(
    scene, volunteer, clock
):
    call, report = reported_call(
        scene.hotline,
        volunteer,
        now=NOW,
        safety={"safe_to_call": True, "safe_to_leave_message": False, "best_time": "after 8pm"},
    )
    fu = FollowUp.objects.get()
    assert (fu.kind, fu.source, fu.status) == ("call_back", "report", "open")
    assert fu.assignee == volunteer and fu.call == call and fu.report == report
    assert fu.due_at == NOW + DAY
    assert (fu.safe_to_call, fu.safe_to_leave_message, fu.best_time) == (True, False, "after 8pm")


def test_report_without_follow_up_makes_none_until_edited_to_need_one(scene, volunteer, clock):
    call = answered_call(scene.hotline, volunteer, at=NOW)
    report = reports.report_create(
        call=call, by=volunteer.user, data={**LOW, "follow_up_needed": False}, now=NOW
    )
    assert not FollowUp.objects.exists()
    reports.report_update(
        report=report,
        by=volunteer.user,
        data={"follow_up_needed": True},
        now=NOW + dt.timedelta(hours=1),
        safety={"safe_to_call": False},
    )
    reports.report_update(
        report=report, by=volunteer.user, data={"summary": "more"}, now=NOW + dt.timedelta(hours=2)
    )
    fu = FollowUp.objects.get()  # one, not one per save
    assert fu.due_at == NOW + dt.timedelta(hours=1) + DAY and fu.safe_to_call is False


def test_report_page_records_the_callers_safety_answers(scene, volunteer, client, clock):
    call = answered_call(scene.hotline, volunteer, at=NOW)
    client.force_login(volunteer.user)
    r = client.post(
        f"/calls/{call.pk}/report/",
        {
            **{k: v for k, v in LOW.items() if k != "follow_up_needed"},
            "follow_up_needed": "on",
            "safe_to_call": "no",
            "safe_to_leave_message": "no",
            "best_time": "never",
        },
    )
    assert r.status_code == 302
    fu = FollowUp.objects.get()
    assert fu.safe_to_call is False and fu.best_time == "never"


def test_voicemail_callback_request_makes_an_unassigned_follow_up_once(scene, tw, clock):
    r = tw("/twilio/voice/incoming", fixture("voice-incoming"))  # nobody on shift: voicemail
    assert r.status_code == 200
    call = Call.objects.get()
    data = {**fixture("voice-gather-digits"), "Digits": "1"}
    tw(f"/twilio/voice/callback?call={call.pk}", data)
    tw(f"/twilio/voice/callback?call={call.pk}", data)  # Twilio retries
    fu = FollowUp.objects.get()
    # not asked yet: the safety questions come next (tests/hotline/calls/test_voicemail_safety.py)
    assert (fu.source, fu.assignee, fu.safe_to_call) == ("voicemail", None, None)
    assert fu.callback.number == "+8613800138000" and fu.due_at == NOW + DAY
    assert fu.number == ""  # the number stays on the callback request only


def test_supervisor_creates_confirm_help_follow_up_from_an_escalation(
    scene, volunteer, sup_on, client, clock
):
    call, report = reported_call(scene.hotline, volunteer, now=NOW, risk_level=4)
    escalation = call.escalations.get()
    client.force_login(sup_on.user)
    due = (NOW + dt.timedelta(hours=3)).astimezone(f.SHANGHAI)
    r = client.post(
        f"/follow-ups/from-escalation/{escalation.pk}/",
        {
            "due_at": due.strftime("%Y-%m-%dT%H:%M"),
            "assignee": volunteer.pk,
            "method": "phone",
            "notes": "check the ambulance came",
        },
    )
    assert r.status_code == 302, r.content
    fu = FollowUp.objects.get(kind="confirm_help")
    assert fu.escalation == escalation and fu.assignee == volunteer and fu.due_at == due


def test_follow_up_from_escalation_refuses_a_past_due_time_and_volunteers(
    scene, volunteer, sup_on, clock
):
    call, _report = reported_call(scene.hotline, volunteer, now=NOW, risk_level=3)
    escalation = call.escalations.get()
    with pytest.raises(ValidationError) as exc:
        services.follow_up_from_escalation(
            escalation=escalation, by=sup_on.user, due_at=NOW - dt.timedelta(minutes=1), now=NOW
        )
    assert "due_at" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.follow_up_from_escalation(
            escalation=escalation, by=volunteer.user, due_at=NOW + DAY, now=NOW
        )
    assert not FollowUp.objects.filter(kind="confirm_help").exists()


# --- debriefs ----------------------------------------------------------------------------------


def test_high_risk_report_offers_a_debrief_with_the_supervisor_on_shift(
    scene, volunteer, sup_on, clock
):
    call, _report = reported_call(
        scene.hotline, volunteer, now=NOW, risk_level=3, follow_up_needed=False
    )
    debrief = FollowUp.objects.get(kind="debrief")
    assert debrief.volunteer == volunteer and debrief.assignee == sup_on
    assert debrief.due_at == NOW + DAY and debrief.escalation == call.escalations.get()


def test_low_risk_report_offers_no_debrief(scene, volunteer, sup_on, clock):
    reported_call(scene.hotline, volunteer, now=NOW, risk_level=2)
    assert not FollowUp.objects.filter(kind="debrief").exists()


def test_volunteer_asks_for_a_debrief_from_my_shifts(volunteer, client, clock):
    client.force_login(volunteer.user)
    r = client.post("/follow-ups/debrief/")
    assert r.status_code == 302 and r["Location"] == "/me/shifts/"
    client.post("/follow-ups/debrief/")  # a double tap
    debrief = FollowUp.objects.get()
    assert (debrief.kind, debrief.source, debrief.volunteer, debrief.assignee) == (
        "debrief",
        "volunteer",
        volunteer,
        None,
    )


# --- changing and closing ----------------------------------------------------------------------


def test_assignee_completes_with_outcome_notes_encrypted(scene, volunteer, clock):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW)
    services.follow_up_complete(
        follow_up=fu, by=volunteer.user, status="not_reached", notes="no answer twice", now=NOW
    )
    fu.refresh_from_db()
    assert (fu.status, fu.notes, fu.closed_at) == ("not_reached", "no answer twice", NOW)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT notes FROM hotline_followup WHERE id = %s", [fu.pk])
        stored = cursor.fetchone()[0]
    assert "no answer" not in stored
    with pytest.raises(services.FollowUpConflict):
        services.follow_up_complete(follow_up=fu, by=volunteer.user, status="done", now=NOW)
    assert AuditLog.objects.filter(action="followup.complete", object_id=fu.pk).count() == 1


def test_other_volunteer_cannot_complete_or_reassign(scene, volunteer, clock):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW)
    other = f.volunteer()
    with pytest.raises(PermissionDenied):
        services.follow_up_complete(follow_up=fu, by=other.user, status="done", now=NOW)
    with pytest.raises(PermissionDenied):
        services.follow_up_reassign(follow_up=fu, by=volunteer.user, assignee=other, now=NOW)
    fu.refresh_from_db()
    assert fu.status == "open" and fu.assignee == volunteer


def test_supervisor_reassigns(scene, volunteer, supervisor, clock):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW)
    other = f.volunteer()
    services.follow_up_reassign(follow_up=fu, by=supervisor.user, assignee=other, now=NOW)
    fu.refresh_from_db()
    assert fu.assignee == other


# --- overdue -----------------------------------------------------------------------------------


def test_overdue_alert_goes_to_the_supervisors_on_shift_once(
    scene, volunteer, sup_on, clock, outbox
):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + dt.timedelta(hours=1))
    assert services.follow_ups_alert_overdue(now=NOW + dt.timedelta(minutes=59)) == 0
    assert services.follow_ups_alert_overdue(now=NOW + dt.timedelta(hours=2)) == 1
    assert services.follow_ups_alert_overdue(now=NOW + dt.timedelta(hours=3)) == 0
    messages = list(outbox)
    assert [m["to"] for m in messages] == [sup_on.phone_number]
    assert f"follow-up {fu.pk}" in messages[0]["body"] and "Li Na" in messages[0]["body"]


def test_overdue_alert_falls_back_to_every_supervisor_then_coordinators(
    scene, volunteer, clock, outbox
):
    follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + dt.timedelta(hours=1))
    coord = coordinator_with_phone()
    services.follow_ups_alert_overdue(now=NOW + dt.timedelta(hours=2))
    assert [m["to"] for m in outbox] == [coord.phone_number]


def test_overdue_alert_with_the_worker_killed_midway_is_sent_once(
    scene, volunteer, clock, outbox, monkeypatch
):
    """The claim and the SMS rows are one transaction: a worker that dies after the first
    SMS row leaves nothing; the next run sends to everyone; a third run sends nothing."""
    sup_a = f.volunteer(roles=("supervisor",))
    sup_b = f.volunteer(roles=("supervisor",))
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + dt.timedelta(hours=1))
    real_send = services.sms_send
    calls = []

    def dies_on_second(**kw):
        calls.append(kw["to"])
        if len(calls) == 2:
            raise SystemExit("worker killed")  # not an Exception: nothing catches it
        return real_send(**kw)

    monkeypatch.setattr(services, "sms_send", dies_on_second)
    later = NOW + dt.timedelta(hours=2)
    with pytest.raises(SystemExit):
        services.follow_ups_alert_overdue(now=later)
    fu.refresh_from_db()
    assert fu.overdue_alerted_at is None and len(outbox) == 0

    monkeypatch.setattr(services, "sms_send", real_send)
    assert services.follow_ups_alert_overdue(now=later + dt.timedelta(minutes=5)) == 2
    assert services.follow_ups_alert_overdue(now=later + dt.timedelta(minutes=10)) == 0
    assert sorted(m["to"] for m in outbox) == sorted([sup_a.phone_number, sup_b.phone_number])
    assert Message.objects.filter(purpose="followup").count() == 2


def test_closed_or_moved_follow_ups_are_not_reported_overdue(scene, volunteer, clock, outbox):
    f.volunteer(roles=("supervisor",))
    done = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + dt.timedelta(hours=1))
    services.follow_up_complete(follow_up=done, by=volunteer.user, status="done", now=NOW)
    moved = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + dt.timedelta(hours=1))
    services.follow_up_update(
        follow_up=moved, by=volunteer.user, data={"due_at": NOW + dt.timedelta(days=2)}, now=NOW
    )
    assert services.follow_ups_alert_overdue(now=NOW + dt.timedelta(hours=2)) == 0
    assert len(outbox) == 0


def test_overdue_alert_is_in_each_supervisors_language(scene, volunteer, clock, outbox):
    zh = f.volunteer(roles=("supervisor",), language="zh-hans")
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + dt.timedelta(hours=1))
    services.follow_ups_alert_overdue(now=NOW + dt.timedelta(hours=2))
    (message,) = list(outbox)
    assert message["to"] == zh.phone_number
    assert f"跟进 {fu.pk}" in message["body"] and "已逾期" in message["body"]
