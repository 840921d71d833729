"""The safety questions a caller hears after pressing 1 to be called back: safe to call back,
safe to leave a message, best time. Keys, no key and wrong keys all lead on to the
recording; the answers land on the callback request and its follow-up, and "not safe to call
back" makes a follow-up nobody can dial."""

import re

import pytest

from hotline.followups import callbacks
from hotline.models import AuditLog, Call, CallBackAttempt, CallbackRequest, FollowUp
from tests.support.twilio import call_data, fixture


def _action(body: str) -> str:
    """The URL Twilio posts the next key to: the <Gather> action."""
    match = re.search(r'<Gather action="([^"]+)"', body)
    assert match, body
    return match.group(1).replace("&amp;", "&")


@pytest.fixture
def asked(scene, tw):
    """A caller sent to voicemail (nobody on shift) who pressed 1: the first question."""
    r = tw("/twilio/voice/incoming", fixture("voice-incoming"))
    assert r.status_code == 200
    call = Call.objects.get()
    r = tw(
        f"/twilio/voice/callback?call={call.pk}", {**fixture("voice-gather-digits"), "Digits": "1"}
    )
    body = r.content.decode()
    assert "call you back" in body and "safe for us to call you back" in body
    assert "<Record" not in body  # questions first, then the message
    return call, _action(body)


def press(tw, url, digits):
    data = {**fixture("voice-gather-digits"), "Digits": digits}
    if digits is None:
        data = fixture("voice-gather-timeout")
    r = tw(url, data)
    assert r.status_code == 200
    return r.content.decode()


def test_three_answers_are_kept_on_the_request_and_its_follow_up(asked, tw):
    call, url = asked
    body = press(tw, url, "1")
    assert "leave you a message" in body
    body = press(tw, _action(body), "1")
    assert "best time to reach you" in body and "Evening, press 3" in body
    body = press(tw, _action(body), "3")
    assert "<Record" in body and "after the tone" in body
    cb = CallbackRequest.objects.get()
    assert (cb.safe_to_call, cb.safe_to_leave_message, cb.best_time) == (True, True, "evening")
    fu = FollowUp.objects.get()
    assert (fu.safe_to_call, fu.safe_to_leave_message, fu.best_time) == (True, True, "evening")
    assert fu.best_time_text == "evening"
    assert AuditLog.objects.filter(action="followup.update", object_id=str(fu.pk)).count() == 3


def test_no_key_at_all_keeps_the_caller_going_with_unknown_answers(asked, tw):
    call, url = asked
    body = press(tw, url, None)  # timeout: Twilio posts the action without Digits
    assert "leave you a message" in body
    body = press(tw, _action(body), None)
    assert "best time to reach you" in body
    body = press(tw, _action(body), None)
    assert "<Record" in body
    fu = FollowUp.objects.get()
    assert (fu.safe_to_call, fu.safe_to_leave_message, fu.best_time) == (None, None, "")
    # the recording still arrives and is kept
    tw(f"/twilio/voice/recorded?call={call.pk}", fixture("voice-record-done"))
    call.refresh_from_db()
    assert call.recording_sid == "RE33333333333333333333333333333333"


def test_wrong_keys_count_as_no_answer_and_move_on(asked, tw):
    _call, url = asked
    body = press(tw, url, "9")
    assert "leave you a message" in body
    body = press(tw, _action(body), "*")
    assert "best time to reach you" in body
    body = press(tw, _action(body), "7")
    assert "<Record" in body
    cb = CallbackRequest.objects.get()
    assert (cb.safe_to_call, cb.safe_to_leave_message, cb.best_time) == (None, None, "")


def test_the_redirect_after_the_gather_goes_on_too(asked, tw):
    """Twilio falls through to the <Redirect> (no Digits at all): the same step, unanswered."""
    _call, url = asked
    data = {k: v for k, v in fixture("voice-gather-timeout").items() if k != "Digits"}
    r = tw(url, data)
    assert r.status_code == 200 and "leave you a message" in r.content.decode()


def test_not_safe_to_call_back_makes_a_follow_up_nobody_can_dial(
    asked, tw, fake_twilio, client, supervisor
):
    _call, url = asked
    body = press(tw, url, "2")
    body = press(tw, _action(body), "1")  # a message is fine
    body = press(tw, _action(body), "4")
    fu = FollowUp.objects.get()
    assert fu.safe_to_call is False and fu.safe_to_leave_message is True and fu.best_time == "any"
    assert "not safe to call them back" in callbacks.not_callable_reason(fu)
    client.force_login(supervisor.user)
    page = client.get(f"/follow-ups/{fu.pk}/").content.decode()
    assert "not safe to call them back" in page and "disabled" in page
    r = client.post(f"/follow-ups/{fu.pk}/call-back/", follow=True)
    assert "not safe to call them back" in r.content.decode()
    assert fake_twilio.dialled() == [] and not CallBackAttempt.objects.exists()


def test_not_safe_to_call_nor_message_skips_the_time_and_says_so(asked, tw):
    _call, url = asked
    body = press(tw, url, "2")
    body = press(tw, _action(body), "2")
    assert "best time" not in body
    assert "We will not call you or leave you a message" in body and "<Record" in body
    cb = CallbackRequest.objects.get()
    assert (cb.safe_to_call, cb.safe_to_leave_message) == (False, False)


def test_a_replayed_answer_or_a_later_timeout_changes_nothing(asked, tw):
    _call, url = asked
    press(tw, url, "2")
    press(tw, url, "2")  # Twilio retried
    press(tw, url, None)  # and a stray empty post
    assert FollowUp.objects.get().safe_to_call is False


def test_the_voicemail_answer_protects_a_follow_up_without_its_own(asked, tw, supervisor):
    """Belt and braces: the follow-up lost its own answer (set back to not asked), the
    request's "not safe" still refuses the call-back."""
    _call, url = asked
    press(tw, url, "2")
    fu = FollowUp.objects.get()
    FollowUp.objects.filter(pk=fu.pk).update(safe_to_call=None)
    fu.refresh_from_db()
    assert callbacks.not_callable_reason(fu)


def test_answer_before_the_request_is_written_makes_the_request(scene, tw):
    """The request's own webhook still waits in the inbox (busy database): the answer makes
    the request with the caller's number, and the replay later finds it made."""
    tw("/twilio/voice/incoming", fixture("voice-incoming"))
    call = Call.objects.get()
    press(tw, f"/twilio/voice/callback-safety?call={call.pk}&q=call", "2")
    cb = CallbackRequest.objects.get()
    assert cb.number == "+8613800138000" and cb.safe_to_call is False
    assert FollowUp.objects.get().safe_to_call is False
    tw(f"/twilio/voice/callback?call={call.pk}", {**fixture("voice-gather-digits"), "Digits": "1"})
    assert CallbackRequest.objects.count() == 1 and FollowUp.objects.count() == 1
    assert FollowUp.objects.get().safe_to_call is False


def test_unsigned_or_forged_answers_are_refused(asked, tw):
    _call, url = asked
    data = {**fixture("voice-gather-digits"), "Digits": "1"}
    assert tw(url, data, sign=False).status_code == 403
    assert tw(url, data, signature="forged").status_code == 403
    assert CallbackRequest.objects.get().safe_to_call is None


def test_unknown_question_is_400(asked, tw):
    call, _url = asked
    r = tw(f"/twilio/voice/callback-safety?call={call.pk}&q=nope", call_data(Digits="1"))
    assert r.status_code == 400


def test_questions_are_spoken_in_chinese_on_a_chinese_hotline(scene, tw):
    scene.hotline.language = "zh-CN"
    scene.hotline.save()
    tw("/twilio/voice/incoming", fixture("voice-incoming"))
    call = Call.objects.get()
    r = tw(
        f"/twilio/voice/callback?call={call.pk}", {**fixture("voice-gather-digits"), "Digits": "1"}
    )
    body = r.content.decode()
    assert "回电到这个号码安全吗" in body and 'language="cmn-CN"' in body
    body = press(tw, _action(body), "1")
    assert "留言" in body
    body = press(tw, _action(body), "1")
    assert "上午请按1" in body


def test_no_callback_wanted_goes_straight_to_the_recording(scene, tw):
    tw("/twilio/voice/incoming", fixture("voice-incoming"))
    call = Call.objects.get()
    r = tw(f"/twilio/voice/callback?call={call.pk}", fixture("voice-gather-timeout"))
    body = r.content.decode()
    assert "<Record" in body and "safe for us" not in body
    assert not CallbackRequest.objects.exists()


def test_best_time_is_shown_in_the_readers_language():
    from django.utils import translation

    fu = FollowUp(best_time="evening")
    with translation.override("zh-hans"):
        assert fu.best_time_text == "晚上"
    assert FollowUp(best_time="after 8pm").best_time_text == "after 8pm"


def test_callback_queue_shows_the_answers_and_no_dial_link_when_not_safe(
    asked, tw, client, coordinator
):
    _call, url = asked
    body = press(tw, url, "2")
    press(tw, _action(body), "1")
    client.force_login(coordinator)
    page = client.get("/calls/callbacks/").content.decode()
    assert "not safe to call them back" in page
    assert 'href="tel:+8613800138000"' not in page  # nobody dials it from their own phone
    assert "Safe to leave a message: yes" in page


def test_the_assignee_of_a_voicemail_follow_up_finds_its_report_page(asked, tw, client, volunteer):
    """Reports can be filed for voicemails by whoever handles them: from the follow-up page."""
    call, _url = asked
    tw(f"/twilio/voice/recorded?call={call.pk}", fixture("voice-record-done"))
    fu = FollowUp.objects.get()
    FollowUp.objects.filter(pk=fu.pk).update(assignee=volunteer)
    client.force_login(volunteer.user)
    page = client.get(f"/follow-ups/{fu.pk}/").content.decode()
    assert f'href="/calls/{call.pk}/report/"' in page
    assert client.get(f"/calls/{call.pk}/report/").status_code == 200


def test_callback_queue_sends_the_call_back_through_the_hotline(asked, tw, client, coordinator):
    """No tel: link (it would show the staff member's own number): the follow-up's masked
    call-back instead."""
    _call, url = asked
    press(tw, url, "1")
    fu = FollowUp.objects.get()
    client.force_login(coordinator)
    page = client.get("/calls/callbacks/").content.decode()
    assert "tel:" not in page and f'href="/follow-ups/{fu.pk}/"' in page
    assert "Call back through the hotline" in page


def test_an_answer_costs_a_bounded_number_of_queries(asked, tw, django_assert_max_num_queries):
    _call, url = asked
    with django_assert_max_num_queries(12):
        press(tw, url, "2")
