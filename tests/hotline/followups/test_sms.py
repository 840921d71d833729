"""Send SMS on a follow-up: only through the outbox, from the hotline's number, refused (and
nothing queued) when the caller said a message or contact is not safe, without a number, or
once closed; the page and the API, for each persona."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from hotline.crisis.retention import purge_expired
from hotline.followups import messages
from hotline.followups.services import FollowUpConflict
from hotline.models import AuditLog, CallbackRequest, FollowUp, FollowUpSms, Message
from hotline.sms import backends
from tests.support import factories as f
from tests.support.followups import follow_up_for
from tests.support.twilio import HOTLINE_NUMBER, NOW

PERSONAS = ("anonymous", "volunteer", "other", "supervisor", "coordinator")
CALLER = "+8613900139000"


@pytest.fixture
def world(scene, volunteer, supervisor, coordinator, clock):
    volunteer.phone_number = "+8613700137000"
    volunteer.save()
    other = f.volunteer(display_name="Other Volunteer")
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, method=FollowUp.Method.SMS)
    users = {
        "anonymous": None,
        "volunteer": volunteer.user,
        "other": other.user,
        "supervisor": supervisor.user,
        "coordinator": coordinator,
    }
    return {"fu": fu, "users": users, "volunteer": volunteer}


def queued():
    return list(Message.objects.filter(purpose="followup_sms"))


# --- the page, for each persona ---------------------------------------------------------------

PAGE = {"anonymous": "login", "volunteer": 302, "other": 404, "supervisor": 302, "coordinator": 302}


@pytest.mark.parametrize("persona", PERSONAS)
def test_send_sms_page_permissions(client, world, persona):
    user = world["users"][persona]
    if user is not None:
        client.force_login(user)
    fu = world["fu"]
    r = client.post(f"/follow-ups/{fu.pk}/send-sms/", {"body": "Please call us when you can."})
    if PAGE[persona] == "login":
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    else:
        assert r.status_code == PAGE[persona]
    sent = PAGE[persona] == 302
    assert len(queued()) == int(sent)
    assert FollowUpSms.objects.filter(follow_up=fu).count() == int(sent)


API = {"anonymous": 401, "volunteer": 202, "other": 404, "supervisor": 202, "coordinator": 202}


@pytest.mark.parametrize("persona", PERSONAS)
def test_send_sms_api_permissions(world, persona):
    api = APIClient()
    if world["users"][persona] is not None:
        api.force_authenticate(world["users"][persona])
    fu = world["fu"]
    r = api.post(f"/api/v1/follow-ups/{fu.pk}/send-sms/", {"body": "Hello"}, format="json")
    assert r.status_code == API[persona], r.content
    if r.status_code == 202:
        body = r.json()
        assert body["length"] == 5 and body["status"] == "queued"
        assert CALLER not in r.content.decode()
    assert len(queued()) == int(API[persona] == 202)


def test_the_service_refuses_someone_not_working_the_follow_up(world, clock):
    fu = world["fu"]
    with pytest.raises(PermissionDenied):
        messages.follow_up_sms_send(follow_up=fu, by=f.volunteer().user, body="hi", now=NOW)
    assert queued() == []


# --- what goes out, and from where --------------------------------------------------------------


def test_sms_goes_through_the_outbox_from_the_hotline_never_the_volunteer(
    world, client, django_capture_on_commit_callbacks
):
    fu, volunteer = world["fu"], world["volunteer"]
    client.force_login(volunteer.user)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/follow-ups/{fu.pk}/send-sms/",
            {"body": "  Please call us when you can.  "},
            follow=True,
        )
    assert "on its way" in r.content.decode()
    (message,) = queued()
    assert message.to == CALLER and message.from_number == HOTLINE_NUMBER
    assert message.body == "Please call us when you can."
    (sent,) = backends.outbox
    assert sent["from"] == HOTLINE_NUMBER and sent["to"] == CALLER
    assert volunteer.phone_number not in str(sent)
    # logged on the follow-up and in the audit trail (ids and length, never the text)
    page = client.get(f"/follow-ups/{fu.pk}/").content.decode()
    assert "SMS sent" in page and "Please call us when you can." in page
    log = AuditLog.objects.get(action="followup.sms", object_id=fu.pk)
    assert log.detail["length"] == 28 and "Please" not in str(log.detail)
    assert CALLER not in page


def test_double_tap_queues_one_sms(world):
    fu, volunteer = world["fu"], world["volunteer"]
    first = messages.follow_up_sms_send(follow_up=fu, by=volunteer.user, body="Hi", now=NOW)
    again = messages.follow_up_sms_send(follow_up=fu, by=volunteer.user, body="Hi", now=NOW)
    assert first.pk == again.pk and len(queued()) == 1
    later = messages.follow_up_sms_send(
        follow_up=fu, by=volunteer.user, body="Hi", now=NOW + dt.timedelta(minutes=5)
    )
    assert later.pk != first.pk and len(queued()) == 2


# --- refusals: a clear reason, nothing queued ---------------------------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"safe_to_leave_message": False}, "not safe to leave them a message"),
        ({"safe_to_call": False, "safe_to_leave_message": None}, "not safe to contact them"),
        ({"number": ""}, "no number to send to"),
        ({"status": FollowUp.Status.DONE}, "closed"),
    ],
)
def test_refused_with_the_reason_and_nothing_queued(world, client, change, words):
    fu, volunteer = world["fu"], world["volunteer"]
    FollowUp.objects.filter(pk=fu.pk).update(**change)
    fu.refresh_from_db()
    with pytest.raises(FollowUpConflict) as exc:
        messages.follow_up_sms_send(follow_up=fu, by=volunteer.user, body="Hi", now=NOW)
    assert exc.value.code == "not_sendable" and words in exc.value.message
    api = APIClient()
    api.force_authenticate(volunteer.user)
    r = api.post(f"/api/v1/follow-ups/{fu.pk}/send-sms/", {"body": "Hi"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "not_sendable"
    assert words in r.json()["detail"]
    client.force_login(volunteer.user)
    page = client.get(f"/follow-ups/{fu.pk}/").content.decode()
    if change.get("status") != FollowUp.Status.DONE:  # a closed one has no forms at all
        assert words in page and "disabled" in page
    r = client.post(f"/follow-ups/{fu.pk}/send-sms/", {"body": "Hi"}, follow=True)
    assert words in r.content.decode()
    assert queued() == [] and not FollowUpSms.objects.exists()


def test_not_safe_to_call_but_a_message_is_fine_may_be_sent(world):
    fu, volunteer = world["fu"], world["volunteer"]
    FollowUp.objects.filter(pk=fu.pk).update(safe_to_call=False, safe_to_leave_message=True)
    fu.refresh_from_db()
    messages.follow_up_sms_send(follow_up=fu, by=volunteer.user, body="Hi", now=NOW)
    assert len(queued()) == 1


def test_voicemail_answer_not_safe_to_leave_a_message_refuses(world, scene):
    fu, volunteer = world["fu"], world["volunteer"]
    callback = CallbackRequest.objects.create(
        call=fu.call,
        hotline=scene.hotline,
        number=CALLER,
        requested_at=NOW,
        safe_to_leave_message=False,
    )
    FollowUp.objects.filter(pk=fu.pk).update(callback=callback, safe_to_leave_message=None)
    fu.refresh_from_db()
    assert "not safe to leave them a message" in messages.not_sendable_reason(fu)
    with pytest.raises(FollowUpConflict):
        messages.follow_up_sms_send(follow_up=fu, by=volunteer.user, body="Hi", now=NOW)
    assert queued() == []


@pytest.mark.parametrize(("body", "words"), [("   ", "Write the message"), ("x" * 301, "300")])
def test_empty_or_too_long_body_is_400_and_nothing_queued(world, client, body, words):
    fu, volunteer = world["fu"], world["volunteer"]
    with pytest.raises(ValidationError) as exc:
        messages.follow_up_sms_send(follow_up=fu, by=volunteer.user, body=body, now=NOW)
    assert words in " ".join(exc.value.messages)
    api = APIClient()
    api.force_authenticate(volunteer.user)
    r = api.post(f"/api/v1/follow-ups/{fu.pk}/send-sms/", {"body": body}, format="json")
    assert r.status_code == 400 and "body" in r.json()["errors"]
    client.force_login(volunteer.user)
    r = client.post(f"/follow-ups/{fu.pk}/send-sms/", {"body": body}, follow=True)
    assert words in r.content.decode()
    assert queued() == []


def test_debrief_has_no_sms(world, supervisor):
    debrief = FollowUp.objects.create(
        kind=FollowUp.Kind.DEBRIEF,
        source=FollowUp.Source.VOLUNTEER,
        volunteer=world["volunteer"],
        assignee=supervisor,
        due_at=NOW + dt.timedelta(hours=20),
        created_at=NOW,
        updated_at=NOW,
    )
    assert "debrief" in messages.not_sendable_reason(debrief)


# --- retention ------------------------------------------------------------------------------------


def test_retention_erases_the_callers_number_and_text_from_the_outbox(
    world, settings, django_capture_on_commit_callbacks
):
    fu, volunteer = world["fu"], world["volunteer"]
    with django_capture_on_commit_callbacks(execute=True):
        messages.follow_up_sms_send(follow_up=fu, by=volunteer.user, body="Hi", now=NOW)
    messages.follow_up_sms_send(follow_up=fu, by=volunteer.user, body="Ho", now=NOW)  # queued
    later = NOW + dt.timedelta(days=settings.RETENTION_DAYS_CALLBACK + 1)
    Message.objects.filter(purpose="followup_sms").update(created_at=NOW)
    result = purge_expired(now=later)
    assert result.counts["follow_up_sms"] == 1
    sent, waiting = sorted(queued(), key=lambda m: m.pk)
    assert (sent.status, sent.to, sent.body) == ("sent", "", "")
    assert (waiting.to, waiting.body) == (CALLER, "Ho")  # still to be delivered: kept
    assert FollowUpSms.objects.count() == 2  # the log stays


def test_failed_sms_list_shows_only_the_callers_last_four_digits(world, client, coordinator):
    fu, volunteer = world["fu"], world["volunteer"]
    messages.follow_up_sms_send(follow_up=fu, by=volunteer.user, body="Hi", now=NOW)
    Message.objects.filter(purpose="followup_sms").update(status="failed", last_error="boom")
    client.force_login(coordinator)
    page = client.get("/calls/sms-failed/").content.decode()
    assert "boom" in page and "…9000" in page and CALLER not in page
