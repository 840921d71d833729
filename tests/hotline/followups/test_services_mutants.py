"""Follow-ups, what the mutation run (bin/mutants.py followups) found unpinned: who a follow-up
is assigned to and when it is due, the exact words a coordinator or volunteer is refused
with, what the overdue alert says and to whom, and what the audit trail records. Each test
names the behaviour; docs/testing.md lists the mutants they were written for."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hotline.followups import services
from hotline.models import AuditLog, CallbackRequest, FollowUp
from tests.support import factories as f
from tests.support.crisis import answered_call, coordinator_with_phone
from tests.support.followups import follow_up_for, reported_call
from tests.support.twilio import NOW

DAY = dt.timedelta(hours=24)
HOUR = dt.timedelta(hours=1)


def audit(action, follow_up):
    return list(
        AuditLog.objects.filter(action=action, object_type="followup", object_id=follow_up.pk)
        .order_by("id")
        .values("actor_id", "at", "detail")
    )


def messages_of(exc: ValidationError) -> dict:
    return exc.message_dict


@pytest.fixture
def sup_on(scene, supervisor):
    f.assignment(shift_=scene.shift, volunteer_=supervisor, role="supervisor")
    return supervisor


# --- the checks and their words -----------------------------------------------------------------


def test_a_due_time_of_exactly_now_is_accepted_a_past_one_refused_in_words(scene, supervisor):
    call = answered_call(scene.hotline, supervisor, at=NOW)
    fu = services.follow_up_for_call(call=call, by=supervisor.user, due_at=NOW, now=NOW)
    fu.refresh_from_db()
    assert (fu.due_at, fu.notes, fu.method) == (NOW, "", "phone")
    with pytest.raises(ValidationError) as exc:
        services.follow_up_for_call(
            call=call, by=supervisor.user, due_at=NOW - dt.timedelta(seconds=1), now=NOW
        )
    assert messages_of(exc.value) == {"due_at": ["Choose a due time that is not in the past."]}
    with pytest.raises(ValidationError) as exc:
        services.follow_up_for_call(call=call, by=supervisor.user, due_at=None, now=NOW)
    assert "due_at" in messages_of(exc.value)


def test_an_inactive_assignee_is_refused_in_words(scene, supervisor):
    call = answered_call(scene.hotline, supervisor, at=NOW)
    gone = f.volunteer(is_active=False)
    locked_out = f.volunteer(user_kw={"is_active": False})
    for who in (gone, locked_out):
        with pytest.raises(ValidationError) as exc:
            services.follow_up_for_call(
                call=call, by=supervisor.user, due_at=NOW + DAY, now=NOW, assignee=who
            )
        assert messages_of(exc.value) == {"assignee": ["Choose an active volunteer."]}
    fu = services.follow_up_for_call(call=call, by=supervisor.user, due_at=NOW + DAY, now=NOW)
    assert fu.assignee is None  # a supervisor's own follow-up waits in the queue


def test_a_safety_answer_other_than_yes_no_or_not_asked_is_refused_in_words(scene, supervisor):
    call = answered_call(scene.hotline, supervisor, at=NOW)
    for key in ("safe_to_call", "safe_to_leave_message"):
        with pytest.raises(ValidationError) as exc:
            services.follow_up_for_call(
                call=call, by=supervisor.user, due_at=NOW + DAY, now=NOW, safety={key: "maybe"}
            )
        assert messages_of(exc.value) == {key: ["Answer yes, no, or not asked."]}
    assert not FollowUp.objects.exists()


def test_safety_answers_are_cleaned_best_time_trimmed_and_cut_number_normalised(scene, supervisor):
    call = answered_call(scene.hotline, supervisor, at=NOW)
    fu = services.follow_up_for_call(
        call=call,
        by=supervisor.user,
        due_at=NOW + DAY,
        now=NOW,
        safety={
            "safe_to_call": True,
            "safe_to_leave_message": None,
            "best_time": "  " + "e" * 250,
            "number": " 138 0013 8000 ",
        },
    )
    fu.refresh_from_db()
    assert (fu.safe_to_call, fu.safe_to_leave_message) == (True, None)
    assert fu.best_time == "e" * 200
    assert fu.number == "+8613800138000"


def test_empty_best_time_and_number_are_stored_empty(scene, supervisor):
    call = answered_call(scene.hotline, supervisor, at=NOW)
    fu = services.follow_up_for_call(
        call=call,
        by=supervisor.user,
        due_at=NOW + DAY,
        now=NOW,
        safety={"best_time": None, "number": None},
    )
    fu.refresh_from_db()
    assert (fu.best_time, fu.number) == ("", "")
    fu2 = services.follow_up_for_call(
        call=call,
        by=supervisor.user,
        due_at=NOW + DAY,
        now=NOW,
        safety={"best_time": "", "number": "   "},
    )
    fu2.refresh_from_db()
    assert (fu2.best_time, fu2.number) == ("", "")


def test_a_number_that_is_not_a_phone_number_is_refused_under_number(scene, supervisor):
    call = answered_call(scene.hotline, supervisor, at=NOW)
    with pytest.raises(ValidationError) as exc:
        services.follow_up_for_call(
            call=call,
            by=supervisor.user,
            due_at=NOW + DAY,
            now=NOW,
            safety={"number": "12"},
        )
    assert messages_of(exc.value) == {"number": ["“12” is not a valid phone number."]}


def test_a_closed_follow_up_answers_a_conflict_naming_its_status(scene, volunteer):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW)
    services.follow_up_complete(follow_up=fu, by=volunteer.user, status="not_reached", now=NOW)
    with pytest.raises(services.FollowUpConflict) as exc:
        services.follow_up_update(follow_up=fu, by=volunteer.user, data={"notes": "again"}, now=NOW)
    assert exc.value.code == "follow_up_closed"
    assert exc.value.message == "This follow-up is closed already (could not reach)."


# --- made from a report, a callback request, an escalation, by hand -----------------------------


def test_a_report_follow_up_is_on_the_calls_hotline_created_by_its_author_and_audited(
    scene, volunteer, clock
):
    call, report = reported_call(scene.hotline, volunteer, now=NOW)
    fu = FollowUp.objects.get()
    assert (fu.hotline, fu.call, fu.report, fu.created_by) == (
        scene.hotline,
        call,
        report,
        volunteer.user,
    )
    assert (fu.created_at, fu.updated_at, fu.method) == (NOW, NOW, "phone")
    assert audit("followup.create", fu) == [
        {
            "actor_id": volunteer.user.pk,
            "at": NOW,
            "detail": {"kind": "call_back", "source": "report", "assignee": volunteer.pk},
        }
    ]


def test_a_report_saved_again_with_new_safety_answers_updates_its_open_follow_up(
    scene, volunteer, clock
):
    call, report = reported_call(scene.hotline, volunteer, now=NOW, safety={"safe_to_call": True})
    fu = FollowUp.objects.get()
    later = NOW + HOUR
    again = services.follow_up_from_report(
        report=report,
        by=volunteer.user,
        now=later,
        safety={"safe_to_leave_message": False, "best_time": " mornings "},
    )
    assert again.pk == fu.pk
    assert (again.safe_to_call, again.safe_to_leave_message, again.best_time) == (
        True,
        False,
        "mornings",
    )
    assert again.updated_at == later and again.due_at == NOW + DAY
    # Nothing new to say: the follow-up is returned unchanged.
    same = services.follow_up_from_report(report=report, by=volunteer.user, now=later + HOUR)
    assert same.pk == fu.pk and same.updated_at == later
    assert FollowUp.objects.count() == 1


def test_a_report_without_follow_up_needed_makes_none(scene, volunteer, clock):
    call, report = reported_call(scene.hotline, volunteer, now=NOW, follow_up_needed=False)
    assert services.follow_up_from_report(report=report, by=volunteer.user, now=NOW) is None
    assert not FollowUp.objects.exists()


def test_a_closed_report_follow_up_is_not_reused_by_a_new_save(scene, volunteer, clock):
    call, report = reported_call(scene.hotline, volunteer, now=NOW)
    first = FollowUp.objects.get()
    services.follow_up_complete(follow_up=first, by=volunteer.user, status="done", now=NOW)
    again = services.follow_up_from_report(report=report, by=volunteer.user, now=NOW + HOUR)
    assert again.pk != first.pk and again.status == "open" and again.due_at == NOW + HOUR + DAY


def _callback(scene, volunteer, **kw):
    call = answered_call(scene.hotline, volunteer, at=NOW)
    return CallbackRequest.objects.create(
        call=call, hotline=scene.hotline, number="+8613911112222", requested_at=NOW, **kw
    )


def test_a_callback_request_makes_an_unassigned_follow_up_with_its_answers(scene, volunteer):
    cb = _callback(scene, volunteer, safe_to_call=True, safe_to_leave_message=False)
    fu = services.follow_up_from_callback(callback=cb, now=NOW)
    fu.refresh_from_db()
    assert (fu.kind, fu.source, fu.hotline, fu.call, fu.callback) == (
        "call_back",
        "voicemail",
        scene.hotline,
        cb.call,
        cb,
    )
    assert (fu.assignee, fu.created_by, fu.due_at) == (None, None, NOW + DAY)
    assert (fu.safe_to_call, fu.safe_to_leave_message) == (True, False)
    assert services.follow_up_from_callback(callback=cb, now=NOW + HOUR).pk == fu.pk


def test_safety_answers_keyed_in_after_a_callback_request_reach_its_open_follow_up(
    scene, volunteer
):
    cb = _callback(scene, volunteer)
    fu = services.follow_up_from_callback(callback=cb, now=NOW)
    later = NOW + dt.timedelta(minutes=2)
    changed = services.follow_up_callback_answers(
        callback=cb,
        answers={"safe_to_call": False, "best_time": "after 9", "number": "+8613900000000"},
        now=later,
    )
    assert changed == 1
    fu.refresh_from_db()
    assert (fu.safe_to_call, fu.best_time, fu.number, fu.updated_at) == (
        False,
        "after 9",
        "",  # not one of the voicemail answers: left alone
        later,
    )
    assert audit("followup.update", fu) == [
        {
            "actor_id": None,
            "at": later,
            "detail": {"fields": ["best_time", "safe_to_call"], "via": "voicemail"},
        }
    ]


def test_callback_answers_with_nothing_known_change_nothing(scene, volunteer):
    cb = _callback(scene, volunteer)
    fu = services.follow_up_from_callback(callback=cb, now=NOW)
    assert services.follow_up_callback_answers(callback=cb, answers={"x": 1}, now=NOW) == 0
    assert services.follow_up_callback_answers(callback=cb, answers={}, now=NOW) == 0
    assert audit("followup.update", fu) == []


def test_callback_answers_leave_a_closed_follow_up_alone(scene, volunteer, supervisor):
    cb = _callback(scene, volunteer)
    fu = services.follow_up_from_callback(callback=cb, now=NOW)
    services.follow_up_complete(follow_up=fu, by=supervisor.user, status="done", now=NOW)
    assert (
        services.follow_up_callback_answers(
            callback=cb, answers={"safe_to_call": False}, now=NOW + HOUR
        )
        == 0
    )
    fu.refresh_from_db()
    assert fu.safe_to_call is None


def test_a_confirm_help_follow_up_keeps_the_escalations_report_call_and_trimmed_notes(
    scene, volunteer, sup_on, clock
):
    call, report = reported_call(scene.hotline, volunteer, now=NOW, risk_level=4)
    escalation = call.escalations.get()
    fu = services.follow_up_from_escalation(
        escalation=escalation,
        by=sup_on.user,
        due_at=NOW + HOUR,
        now=NOW,
        assignee=volunteer,
        method="sms",
        notes="  " + "n" * 5100,
    )
    fu.refresh_from_db()
    assert (fu.kind, fu.source, fu.hotline, fu.call, fu.report) == (
        "confirm_help",
        "escalation",
        scene.hotline,
        call,
        report,
    )
    assert (fu.assignee, fu.method, fu.due_at, fu.created_by) == (
        volunteer,
        "sms",
        NOW + HOUR,
        sup_on.user,
    )
    assert fu.notes == "n" * 5000


def test_a_confirm_help_follow_up_without_notes_or_assignee_waits_in_the_queue(
    scene, volunteer, sup_on, clock
):
    call, _report = reported_call(scene.hotline, volunteer, now=NOW, risk_level=4)
    fu = services.follow_up_from_escalation(
        escalation=call.escalations.get(), by=sup_on.user, due_at=NOW + DAY, now=NOW
    )
    fu.refresh_from_db()
    assert (fu.assignee, fu.method, fu.notes) == (None, "phone", "")
    services.follow_up_complete(follow_up=fu, by=sup_on.user, status="cancelled", now=NOW)
    blank = services.follow_up_from_escalation(
        escalation=call.escalations.get(), by=sup_on.user, due_at=NOW + DAY, now=NOW, notes=""
    )
    blank.refresh_from_db()
    assert blank.notes == ""


def test_a_confirm_help_follow_up_refuses_a_volunteer_an_inactive_assignee_and_a_bad_method(
    scene, volunteer, sup_on, clock
):
    call, _report = reported_call(scene.hotline, volunteer, now=NOW, risk_level=4)
    escalation = call.escalations.get()
    with pytest.raises(PermissionDenied) as exc:
        services.follow_up_from_escalation(
            escalation=escalation, by=volunteer.user, due_at=NOW + DAY, now=NOW
        )
    assert str(exc.value) == "Only supervisors and coordinators can do this."
    with pytest.raises(ValidationError) as exc:
        services.follow_up_from_escalation(
            escalation=escalation,
            by=sup_on.user,
            due_at=NOW + DAY,
            now=NOW,
            assignee=f.volunteer(is_active=False),
        )
    assert "assignee" in messages_of(exc.value)
    with pytest.raises(ValidationError) as exc:
        services.follow_up_from_escalation(
            escalation=escalation, by=sup_on.user, due_at=NOW + DAY, now=NOW, method="fax"
        )
    assert messages_of(exc.value) == {"method": ["Choose a method."]}
    assert not FollowUp.objects.filter(kind="confirm_help").exists()


def test_the_volunteer_who_answered_makes_one_for_themselves_by_hand(scene, volunteer):
    call = answered_call(scene.hotline, volunteer, at=NOW)
    fu = services.follow_up_for_call(
        call=call,
        by=volunteer.user,
        due_at=NOW + HOUR,
        now=NOW,
        method="sms",
        notes="  ring at six  ",
        safety={"safe_to_call": False},
    )
    fu.refresh_from_db()
    assert fu.created_by == volunteer.user
    assert (fu.kind, fu.source, fu.hotline, fu.call, fu.assignee) == (
        "call_back",
        "manual",
        scene.hotline,
        call,
        volunteer,
    )
    assert (fu.method, fu.notes, fu.safe_to_call, fu.due_at) == (
        "sms",
        "ring at six",
        False,
        NOW + HOUR,
    )
    # Naming themselves is allowed too; long notes are cut at 5000 characters.
    own = services.follow_up_for_call(
        call=call,
        by=volunteer.user,
        due_at=NOW + HOUR,
        now=NOW,
        assignee=volunteer,
        notes="n" * 5100,
    )
    own.refresh_from_db()
    assert (own.assignee, own.notes) == (volunteer, "n" * 5000)


def test_a_volunteer_cannot_hand_their_call_back_to_someone_else(scene, volunteer):
    call = answered_call(scene.hotline, volunteer, at=NOW)
    with pytest.raises(PermissionDenied) as exc:
        services.follow_up_for_call(
            call=call, by=volunteer.user, due_at=NOW + DAY, now=NOW, assignee=f.volunteer()
        )
    assert str(exc.value) == "Only supervisors and coordinators can reassign."
    assert not FollowUp.objects.exists()


def test_only_the_volunteer_who_answered_or_crisis_staff_make_one_by_hand(
    scene, volunteer, supervisor
):
    call = answered_call(scene.hotline, volunteer, at=NOW)
    with pytest.raises(PermissionDenied) as exc:
        services.follow_up_for_call(call=call, by=f.volunteer().user, due_at=NOW + DAY, now=NOW)
    assert str(exc.value) == (
        "Only the volunteer who answered this call, or a supervisor, can do this."
    )
    other = f.volunteer()
    fu = services.follow_up_for_call(
        call=call, by=supervisor.user, due_at=NOW + DAY, now=NOW, assignee=other, method="sms"
    )
    assert (fu.assignee, fu.method) == (other, "sms")
    with pytest.raises(ValidationError) as exc:
        services.follow_up_for_call(
            call=call, by=supervisor.user, due_at=NOW + DAY, now=NOW, method="fax"
        )
    assert messages_of(exc.value) == {"method": ["Choose a method."]}


# --- debriefs -------------------------------------------------------------------------------------


def test_a_debrief_goes_to_the_supervisor_on_shift_not_to_one_off_shift(
    scene, volunteer, supervisor, clock
):
    """Supervisors exist but none is on shift: the debrief waits in the queue (the chain's
    first tier only, not every supervisor)."""
    call, _report = reported_call(
        scene.hotline, volunteer, now=NOW, risk_level=3, follow_up_needed=False
    )
    debrief = FollowUp.objects.get(kind="debrief")
    assert debrief.assignee is None
    assert (debrief.source, debrief.hotline, debrief.call, debrief.created_by) == (
        "escalation",
        scene.hotline,
        call,
        None,
    )
    assert audit("followup.create", debrief)[0]["detail"] == {
        "kind": "debrief",
        "source": "escalation",
        "assignee": None,
    }


def test_a_supervisor_who_took_the_call_is_not_their_own_debriefer(scene, clock):
    """The supervisor on shift answered the high-risk call: the debrief goes to the other
    supervisor on shift, never to the volunteer debriefed."""
    first = scene.on_shift("supervisor", "counsellor", role="supervisor")
    second = scene.on_shift("supervisor", "counsellor", role="supervisor")
    call, _report = reported_call(
        scene.hotline, first, now=NOW, risk_level=3, follow_up_needed=False
    )
    debrief = FollowUp.objects.get(kind="debrief", escalation=call.escalations.get())
    assert (debrief.volunteer, debrief.assignee) == (first, second)


def test_a_debrief_is_offered_once_per_escalation_and_never_for_an_unanswered_call(
    scene, volunteer, sup_on, clock, settings
):
    settings.DEBRIEF_DUE_HOURS = 6
    call, _report = reported_call(
        scene.hotline, volunteer, now=NOW, risk_level=3, follow_up_needed=False
    )
    escalation = call.escalations.get()
    debrief = FollowUp.objects.get(kind="debrief")
    assert debrief.due_at == NOW + dt.timedelta(hours=6)
    again = services.debrief_offer(escalation=escalation, now=NOW + HOUR)
    assert again.pk == debrief.pk
    call.answered_by = None
    call.save(update_fields=["answered_by"])
    escalation.refresh_from_db()
    FollowUp.objects.all().delete()
    assert services.debrief_offer(escalation=escalation, now=NOW) is None


def test_a_volunteer_asks_for_one_debrief_at_a_time_due_within_the_debrief_hours(
    volunteer, settings
):
    settings.DEBRIEF_DUE_HOURS = 6
    debrief = services.debrief_request(by=volunteer.user, now=NOW)
    assert (debrief.hotline, debrief.volunteer, debrief.assignee, debrief.created_by) == (
        None,
        volunteer,
        None,
        volunteer.user,
    )
    assert debrief.due_at == NOW + dt.timedelta(hours=6)
    # Audited at the time given (not the clock's, which this test does not freeze).
    assert audit("followup.create", debrief)[0]["at"] == NOW
    assert services.debrief_request(by=volunteer.user, now=NOW + HOUR).pk == debrief.pk
    # Once it is closed, a new request makes a new one.
    FollowUp.objects.filter(pk=debrief.pk).update(status="done")
    assert services.debrief_request(by=volunteer.user, now=NOW + HOUR).pk != debrief.pk
    # A debrief offered after an escalation is not the volunteer's own request.
    other = f.volunteer()
    FollowUp.objects.create(
        kind="debrief",
        source="escalation",
        volunteer=other,
        due_at=NOW + DAY,
        created_at=NOW,
        updated_at=NOW,
    )
    assert services.debrief_request(by=other.user, now=NOW).source == "volunteer"
    # Each volunteer's request is their own.
    third = f.volunteer()
    mine = services.debrief_request(by=third.user, now=NOW)
    assert mine.volunteer == third and FollowUp.objects.filter(volunteer=third).count() == 1


def test_someone_without_a_volunteer_record_cannot_ask_for_a_debrief(coordinator):
    with pytest.raises(PermissionDenied) as exc:
        services.debrief_request(by=coordinator, now=NOW)
    assert str(exc.value) == "Only volunteers can ask for a debrief."


# --- changing and closing -------------------------------------------------------------------------


def test_an_update_records_what_changed_and_moves_updated_at(scene, volunteer, clock):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, method="phone", best_time="")
    later = NOW + HOUR
    out = services.follow_up_update(
        follow_up=fu,
        by=volunteer.user,
        data={
            "method": "sms",
            "notes": "  left a message  ",
            "best_time": " evenings ",
            "safe_to_call": True,  # unchanged: not listed
            "number": " +86 139 0013 9000 ",  # the same number, written differently
            "kind": "debrief",  # not editable: ignored
        },
        now=later,
    )
    fu.refresh_from_db()
    assert (fu.method, fu.notes, fu.best_time, fu.kind, fu.updated_at) == (
        "sms",
        "left a message",
        "evenings",
        "call_back",
        later,
    )
    assert out.updated_at == later
    assert audit("followup.update", fu) == [
        {
            "actor_id": volunteer.user.pk,
            "at": later,
            "detail": {"fields": ["best_time", "method", "notes"], "assignee": volunteer.pk},
        }
    ]


def test_an_update_with_the_same_due_time_keeps_the_overdue_alert_a_new_one_clears_it(
    scene, volunteer, clock
):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW - HOUR)
    FollowUp.objects.filter(pk=fu.pk).update(overdue_alerted_at=NOW)
    fu.refresh_from_db()
    services.follow_up_update(follow_up=fu, by=volunteer.user, data={"due_at": NOW - HOUR}, now=NOW)
    fu.refresh_from_db()
    assert (fu.due_at, fu.overdue_alerted_at) == (NOW - HOUR, NOW)
    services.follow_up_update(follow_up=fu, by=volunteer.user, data={"due_at": NOW + DAY}, now=NOW)
    fu.refresh_from_db()
    assert (fu.due_at, fu.overdue_alerted_at) == (NOW + DAY, None)
    assert audit("followup.update", fu)[-1]["detail"]["fields"] == [
        "due_at",
        "overdue_alerted_at",
    ]


def test_an_update_refuses_a_past_due_time_a_bad_method_and_a_stranger(scene, volunteer, clock):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW)
    with pytest.raises(ValidationError) as exc:
        services.follow_up_update(
            follow_up=fu, by=volunteer.user, data={"due_at": NOW - HOUR}, now=NOW
        )
    assert "due_at" in messages_of(exc.value)
    with pytest.raises(ValidationError) as exc:
        services.follow_up_update(follow_up=fu, by=volunteer.user, data={"method": "fax"}, now=NOW)
    assert messages_of(exc.value) == {"method": ["Choose a method."]}
    with pytest.raises(PermissionDenied) as exc:
        services.follow_up_update(follow_up=fu, by=f.volunteer().user, data={"notes": "x"}, now=NOW)
    assert str(exc.value) == "This follow-up is not yours."
    fu.refresh_from_db()
    assert (fu.method, fu.notes, fu.due_at) == ("phone", "", NOW + DAY)


def test_an_update_with_empty_notes_stores_them_empty_and_long_ones_cut(scene, volunteer, clock):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, notes="old")
    services.follow_up_update(follow_up=fu, by=volunteer.user, data={"notes": None}, now=NOW)
    fu.refresh_from_db()
    assert fu.notes == ""
    services.follow_up_update(follow_up=fu, by=volunteer.user, data={"notes": "m" * 5100}, now=NOW)
    fu.refresh_from_db()
    assert fu.notes == "m" * 5000


def test_an_assignee_keeping_themselves_is_no_reassignment(scene, volunteer, clock):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW)
    services.follow_up_update(
        follow_up=fu, by=volunteer.user, data={"assignee": volunteer, "notes": "x"}, now=NOW
    )
    fu.refresh_from_db()
    assert (fu.assignee, fu.notes) == (volunteer, "x")


def test_a_volunteer_cannot_reassign_their_follow_up_in_words(scene, volunteer, clock):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW)
    with pytest.raises(PermissionDenied) as exc:
        services.follow_up_reassign(
            follow_up=fu, by=volunteer.user, assignee=f.volunteer(), now=NOW
        )
    assert str(exc.value) == "Only supervisors and coordinators can reassign."


def test_a_supervisor_reassigns_to_the_queue_and_not_to_an_inactive_volunteer(
    scene, volunteer, supervisor, clock
):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW)
    with pytest.raises(ValidationError):
        services.follow_up_reassign(
            follow_up=fu, by=supervisor.user, assignee=f.volunteer(is_active=False), now=NOW
        )
    services.follow_up_reassign(follow_up=fu, by=supervisor.user, assignee=None, now=NOW + HOUR)
    fu.refresh_from_db()
    assert fu.assignee is None
    assert audit("followup.update", fu) == [
        {
            "actor_id": supervisor.user.pk,
            "at": NOW + HOUR,
            "detail": {"fields": ["assignee"], "assignee": None},
        }
    ]


def test_a_supervisor_reassigns_a_debrief(scene, volunteer, supervisor, clock):
    other_sup = f.volunteer(roles=("supervisor",))
    debrief = FollowUp.objects.create(
        kind="debrief",
        source="volunteer",
        volunteer=volunteer,
        due_at=NOW + DAY,
        created_at=NOW,
        updated_at=NOW,
    )
    services.follow_up_reassign(follow_up=debrief, by=supervisor.user, assignee=other_sup, now=NOW)
    debrief.refresh_from_db()
    assert debrief.assignee == other_sup


def test_completing_records_who_closed_it_when_and_keeps_notes_given_none(scene, volunteer, clock):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, notes="spoke on Monday")
    later = NOW + HOUR
    out = services.follow_up_complete(
        follow_up=fu, by=volunteer.user, status="done", notes="   ", now=later
    )
    assert (out.status, out.notes, out.closed_at, out.closed_by, out.updated_at) == (
        "done",
        "spoke on Monday",
        later,
        volunteer.user,
        later,
    )
    assert audit("followup.complete", fu) == [
        {"actor_id": volunteer.user.pk, "at": later, "detail": {"status": "done"}}
    ]


def test_completing_cuts_long_notes_and_refuses_an_unknown_status_in_words(scene, volunteer, clock):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW)
    with pytest.raises(ValidationError) as exc:
        services.follow_up_complete(follow_up=fu, by=volunteer.user, status="open", now=NOW)
    assert messages_of(exc.value) == {"status": ["Choose done, could not reach, or cancelled."]}
    out = services.follow_up_complete(
        follow_up=fu, by=volunteer.user, status="cancelled", notes="w" * 5100, now=NOW
    )
    assert (out.status, out.notes) == ("cancelled", "w" * 5000)
    with pytest.raises(PermissionDenied) as exc:
        services.follow_up_complete(follow_up=fu, by=f.volunteer().user, status="done", now=NOW)
    assert str(exc.value) == "This follow-up is not yours."


def test_reading_a_follow_up_is_audited_with_the_channel(scene, volunteer):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW)
    services.follow_up_viewed(follow_up=fu, by=volunteer.user, now=NOW)
    services.follow_up_viewed(follow_up=fu, by=volunteer.user, now=NOW + HOUR, via="api")
    assert audit("followup.view", fu) == [
        {"actor_id": volunteer.user.pk, "at": NOW, "detail": {"via": "web"}},
        {"actor_id": volunteer.user.pk, "at": NOW + HOUR, "detail": {"via": "api"}},
    ]


# --- overdue --------------------------------------------------------------------------------------


def test_the_overdue_alert_says_which_follow_up_who_has_it_and_links_to_it(
    scene, volunteer, sup_on, clock, outbox, settings
):
    settings.SITE_URL = "https://roster.example.org"
    f.volunteer(roles=("supervisor",))  # off shift: the chain's first tier is on shift
    # An older overdue follow-up: asking about one never alerts another.
    older = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW - HOUR)
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + HOUR)
    later = NOW + 2 * HOUR
    assert services.follow_up_alert_overdue(follow_up_id=fu.pk, now=later) == 1
    (message,) = list(outbox)
    assert message == {
        "to": sup_on.phone_number,
        "body": (
            f"Hotline Roster: follow-up {fu.pk} (call the caller back) is overdue; "
            f"assigned to Li Na. https://roster.example.org/follow-ups/{fu.pk}/"
        ),
        "dedupe_key": f"followup-overdue:{fu.pk}:v{sup_on.pk}",
        "purpose": "followup",
    }
    fu.refresh_from_db()
    older.refresh_from_db()
    assert (fu.overdue_alerted_at, older.overdue_alerted_at) == (later, None)
    assert audit("followup.overdue", fu) == [
        {"actor_id": None, "at": later, "detail": {"recipients": [sup_on.pk]}}
    ]


def test_an_unassigned_overdue_follow_up_says_nobody(scene, volunteer, sup_on, clock, outbox):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + HOUR)
    FollowUp.objects.filter(pk=fu.pk).update(assignee=None)
    services.follow_ups_alert_overdue(now=NOW + 2 * HOUR)
    (message,) = list(outbox)
    assert "is overdue; assigned to nobody." in message["body"]


def test_a_follow_up_due_exactly_now_is_not_overdue_yet(scene, volunteer, sup_on, outbox):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + HOUR)
    assert services.follow_up_alert_overdue(follow_up_id=fu.pk, now=NOW + HOUR) == 0
    assert len(outbox) == 0
    fu.refresh_from_db()
    assert fu.overdue_alerted_at is None


def test_a_closed_or_already_alerted_follow_up_is_not_alerted_again(
    scene, volunteer, sup_on, outbox
):
    closed = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + HOUR, status="done")
    alerted = follow_up_for(
        scene.hotline, volunteer, now=NOW, due_at=NOW + HOUR, overdue_alerted_at=NOW + HOUR
    )
    later = NOW + 2 * HOUR
    assert services.follow_up_alert_overdue(follow_up_id=closed.pk, now=later) == 0
    assert services.follow_up_alert_overdue(follow_up_id=alerted.pk, now=later) == 0
    assert len(outbox) == 0
    alerted.refresh_from_db()
    assert alerted.overdue_alerted_at == NOW + HOUR


def test_a_supervisor_with_an_overdue_follow_up_is_not_told_about_it(scene, clock, outbox):
    """The supervisor on shift holds the overdue follow-up: the alert goes to the next tier
    (every supervisor), not back to them."""
    holder = scene.on_shift("supervisor", "counsellor", role="supervisor")
    off_shift = f.volunteer(roles=("supervisor",))
    follow_up_for(scene.hotline, holder, now=NOW, due_at=NOW + HOUR)
    assert services.follow_ups_alert_overdue(now=NOW + 2 * HOUR) == 1
    assert [m["to"] for m in outbox] == [off_shift.phone_number]


def test_one_failing_overdue_alert_does_not_stop_the_others(
    scene, volunteer, sup_on, clock, outbox, monkeypatch, caplog
):
    first = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + HOUR)
    second = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + 2 * HOUR)
    real = services.follow_up_alert_overdue

    def fails_first(*, follow_up_id, now):
        if follow_up_id == first.pk:
            raise RuntimeError("database gone")
        return real(follow_up_id=follow_up_id, now=now)

    monkeypatch.setattr(services, "follow_up_alert_overdue", fails_first)
    assert services.follow_ups_alert_overdue(now=NOW + 3 * HOUR) == 1
    assert [m["dedupe_key"] for m in outbox] == [f"followup-overdue:{second.pk}:v{sup_on.pk}"]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"follow-up {first.pk}: the overdue alert failed; retried next run"
    ]


def test_the_scheduled_run_counts_everyone_told_about_every_follow_up(
    scene, volunteer, sup_on, clock, outbox
):
    follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + HOUR)
    follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + HOUR)
    assert services.follow_ups_alert_overdue(now=NOW + 2 * HOUR) == 2
    assert len(outbox) == 2


def test_the_scheduled_run_reads_the_clock(scene, volunteer, sup_on, clock, outbox):
    follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + HOUR)
    assert services.follow_ups_alert_overdue() == 0
    clock.advance(hours=2)
    assert services.follow_ups_alert_overdue() == 1


def test_the_overdue_alert_reaches_the_coordinators_when_nobody_else_is_there(
    scene, volunteer, clock, outbox
):
    coord = coordinator_with_phone(language="zh-hans")
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + HOUR)
    assert services.follow_up_alert_overdue(follow_up_id=fu.pk, now=NOW + 2 * HOUR) == 1
    (message,) = list(outbox)
    assert message["to"] == coord.phone_number and f"跟进 {fu.pk}" in message["body"]


# --- one follow-up per thing it is about ----------------------------------------------------------


def test_each_report_and_each_callback_request_gets_its_own_follow_up(scene, volunteer, clock):
    _call1, report1 = reported_call(scene.hotline, volunteer, now=NOW)
    _call2, report2 = reported_call(scene.hotline, volunteer, now=NOW + HOUR)
    assert sorted(FollowUp.objects.values_list("report_id", flat=True)) == sorted(
        [report1.pk, report2.pk]
    )
    cb1, cb2 = _callback(scene, volunteer), _callback(scene, volunteer)
    fu1 = services.follow_up_from_callback(callback=cb1, now=NOW)
    fu2 = services.follow_up_from_callback(callback=cb2, now=NOW)
    assert (fu1.callback, fu2.callback) == (cb1, cb2)
    # The caller of the second request answers: the first request's follow-up is untouched.
    services.follow_up_callback_answers(callback=cb2, answers={"safe_to_call": False}, now=NOW)
    fu1.refresh_from_db()
    fu2.refresh_from_db()
    assert (fu1.safe_to_call, fu2.safe_to_call) == (None, False)


def test_new_safety_answers_on_a_report_go_to_its_call_back_not_its_confirm_help(
    scene, volunteer, sup_on, clock
):
    call, report = reported_call(scene.hotline, volunteer, now=NOW, risk_level=4)
    confirm = services.follow_up_from_escalation(
        escalation=call.escalations.get(), by=sup_on.user, due_at=NOW + HOUR, now=NOW
    )
    out = services.follow_up_from_report(
        report=report, by=volunteer.user, now=NOW + HOUR, safety={"safe_to_call": False}
    )
    assert out.kind == "call_back" and out.safe_to_call is False
    confirm.refresh_from_db()
    assert confirm.safe_to_call is None


def test_each_escalation_gets_its_own_debrief_and_a_confirm_help_is_no_debrief(
    scene, volunteer, sup_on, clock
):
    call1, _r1 = reported_call(
        scene.hotline, volunteer, now=NOW, risk_level=3, follow_up_needed=False
    )
    call2, _r2 = reported_call(
        scene.hotline, volunteer, now=NOW + HOUR, risk_level=3, follow_up_needed=False
    )
    debriefs = FollowUp.objects.filter(kind="debrief")
    assert sorted(debriefs.values_list("escalation_id", flat=True)) == sorted(
        [call1.escalations.get().pk, call2.escalations.get().pk]
    )
    escalation = call1.escalations.get()
    FollowUp.objects.filter(kind="debrief", escalation=escalation).delete()
    services.follow_up_from_escalation(
        escalation=escalation, by=sup_on.user, due_at=NOW + HOUR, now=NOW
    )
    debrief = services.debrief_offer(escalation=escalation, now=NOW)
    assert (debrief.kind, debrief.volunteer) == ("debrief", volunteer)


def test_completing_without_notes_keeps_the_notes_written_before(scene, volunteer, clock):
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, notes="called twice")
    out = services.follow_up_complete(follow_up=fu, by=volunteer.user, status="done", now=NOW)
    assert out.notes == "called twice"
