"""The words and TwiML of each step of a call, in the hotline's language.

Pure functions of a Call (or Hotline): the webhook views pick one after the service has
moved the call on. URLs point back at our own webhooks (see hotline/telephony/urls.py).
"""

from __future__ import annotations

import functools

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from twilio.twiml.voice_response import VoiceResponse

from hotline.calls.queue import webhook_url
from hotline.models import Call, Category, Hotline
from hotline.telephony.twiml import UI_LANGUAGE, say

HOLD_PAUSE_SECONDS = 6
MENU_TIMEOUT_SECONDS = 6
ACCEPT_TIMEOUT_SECONDS = 10
VOICEMAIL_MAX_SECONDS = 180
BUSY_PAUSE_SECONDS = 2
HOLD_ON = gettext_lazy("Please stay on the line, a volunteer will be with you shortly.")


def _u(name: str, **query) -> str:
    path = reverse(name)
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return path


class _Speaker:
    """Builds one response in the hotline's language."""

    def __init__(self, hotline: Hotline):
        self.language = hotline.language
        self._override = translation.override(UI_LANGUAGE.get(hotline.language, "zh-hans"))

    def __enter__(self):
        self._override.__enter__()
        return self

    def __exit__(self, *exc):
        return self._override.__exit__(*exc)

    def say(self, node, text: str, **kw) -> None:
        say(node, text, self.language, **kw)


def _emergency(hotline: Hotline) -> str:
    if not hotline.emergency_numbers:
        return ""
    return _("If you are in danger now, call %(numbers)s.") % {"numbers": hotline.emergency_numbers}


def _in_every_language(message) -> VoiceResponse:
    """`message` (lazy) in each hotline language, then hang up: for a caller whose hotline,
    and so whose language, we do not know."""
    response = VoiceResponse()
    for hotline_language, ui_language in UI_LANGUAGE.items():
        with translation.override(ui_language):
            say(response, str(message), hotline_language)
    response.hangup()
    return response


def not_in_service() -> VoiceResponse:
    return _in_every_language(gettext_lazy("The number you have dialled is not in service."))


SORRY = gettext_lazy("Sorry, we have a technical problem. Please call again in a few minutes.")


def sorry(hotline: Hotline | None = None) -> VoiceResponse:
    """What a caller hears when something broke on our side: never silence, never Twilio's
    error. In the hotline's language with its emergency numbers when we know the hotline
    (every language, without numbers, when even that is unknown)."""
    if hotline is None:
        return _in_every_language(SORRY)
    response = VoiceResponse()
    with _Speaker(hotline) as s:
        s.say(response, str(SORRY))
        emergency = _emergency(hotline)
        if emergency:
            s.say(response, emergency)
    response.hangup()
    return response


def busy_hold(hotline: Hotline | None, *, retry_url: str, speak: bool) -> VoiceResponse:
    """The database is busy for a moment: the caller hears the hold words (every few
    loops), a short pause, and Twilio asks for the same step again at `retry_url`."""
    response = VoiceResponse()
    if speak:
        if hotline is None:
            for hotline_language, ui_language in UI_LANGUAGE.items():
                with translation.override(ui_language):
                    say(response, str(HOLD_ON), hotline_language)
        else:
            with _Speaker(hotline) as s:
                s.say(response, str(HOLD_ON))
    response.pause(length=BUSY_PAUSE_SECONDS)
    response.redirect(retry_url, method="POST")
    return response


def busy_volunteer(hotline: Hotline | None, *, retry_url: str) -> VoiceResponse:
    """A volunteer pressed a key while the database was busy: a moment, then again."""
    response = VoiceResponse()
    with _Speaker(hotline or Hotline()) as s:
        s.say(response, _("One moment, please."))
    response.pause(length=BUSY_PAUSE_SECONDS)
    response.redirect(retry_url, method="POST")
    return response


def menu(call: Call) -> str:
    hotline = call.hotline
    return _menu(hotline.language, hotline.greeting, call.menu_attempts == 0)


@functools.lru_cache(maxsize=256)
def _menu(language: str, greeting: str, first: bool) -> str:
    # Cached as text: every incoming call plays it, and building it cost more than the
    # rest of the webhook together. The key holds everything the text depends on.
    hotline = Hotline(language=language, greeting=greeting)
    response = VoiceResponse()
    with _Speaker(hotline) as s:
        gather = response.gather(
            num_digits=1,
            timeout=MENU_TIMEOUT_SECONDS,
            action=_u("twilio:voice-menu"),
            method="POST",
            action_on_empty_result=True,
        )
        if first:
            s.say(gather, greeting or _("Hello, you have reached the support hotline."))
        s.say(
            gather,
            _(
                "For psychological support, press 1. For family education, press 2. "
                "For support for the families of medical workers, press 3."
            ),
        )
    # Without a key Twilio falls through to here: the menu action handles "no key".
    response.redirect(_u("twilio:voice-menu"), method="POST")
    return str(response)


LANGUAGE_NAMES = {
    "zh": gettext_lazy("Mandarin"),
    "yue": gettext_lazy("Cantonese"),
    "en": gettext_lazy("English"),
    "fr": gettext_lazy("French"),
    "ja": gettext_lazy("Japanese"),
    "ko": gettext_lazy("Korean"),
    "ru": gettext_lazy("Russian"),
    "ug": gettext_lazy("Uyghur"),
    "bo": gettext_lazy("Tibetan"),
}


def preference_menu(call: Call) -> VoiceResponse:
    """The second menu: the hotline's preference options, keys 2, 3, … (1: none)."""
    hotline = call.hotline
    response = VoiceResponse()
    with _Speaker(hotline) as s:
        gather = response.gather(
            num_digits=1,
            timeout=MENU_TIMEOUT_SECONDS,
            action=_u("twilio:voice-menu"),
            method="POST",
            action_on_empty_result=True,
        )
        s.say(gather, _("If you have no preference, press 1."))
        for key, option in enumerate(hotline.preference_options or [], start=2):
            if option == "female":
                text = _("To speak with a female counsellor, press %(key)s.") % {"key": key}
            else:
                code = option.removeprefix("lang:")
                name = LANGUAGE_NAMES.get(code, code)
                text = _("To speak %(language)s, press %(key)s.") % {
                    "language": str(name),
                    "key": key,
                }
            s.say(gather, text)
    response.redirect(_u("twilio:voice-menu"), method="POST")
    return response


def queue(call: Call) -> VoiceResponse:
    """The caller waits in the call's own queue while volunteers are dialled."""
    response = VoiceResponse()
    with _Speaker(call.hotline) as s:
        s.say(response, _("Thank you. We are connecting you to a volunteer, please hold."))
    response.enqueue(
        call.queue_name,
        wait_url=_u("twilio:voice-hold", call=call.pk),
        wait_url_method="POST",
        action=_u("twilio:voice-queue-done", call=call.pk),
        method="POST",
    )
    return response


EMERGENCY_EVERY_SECONDS = 60


def hold(
    call: Call,
    *,
    ahead: int = 0,
    ringing: bool = False,
    now=None,
    words: bool = True,
    pause: int = HOLD_PAUSE_SECONDS,
) -> VoiceResponse:
    """Played in a loop while the caller waits; leaves the queue once routing gave up.

    Where the caller stands (`ahead`: callers waiting before them; `ringing`: a phone is
    ringing for them now), the emergency numbers once a minute, and a key to leave a
    message instead (hold-key); then `pause` seconds of quiet listening for that key.
    Without `words`, only the quiet (a round between two of words, so that Twilio asks
    again when the caller's next check is due: queue.hold_round)."""
    response = VoiceResponse()
    if call.state != Call.State.RINGING:
        response.leave()
        return response
    hotline = call.hotline
    waited = int((now - call.arrived_at).total_seconds()) if now is not None else 0
    gather = response.gather(
        num_digits=1,
        timeout=pause,
        action=_u("twilio:voice-hold-key", call=call.pk),
        method="POST",
    )
    if not words:
        return response
    with _Speaker(hotline) as s:
        if ringing and not ahead:
            s.say(gather, str(HOLD_ON))
        elif ahead:
            s.say(
                gather,
                ngettext(
                    "All our volunteers are talking to other callers. "
                    "%(n)s caller is waiting before you.",
                    "All our volunteers are talking to other callers. "
                    "%(n)s callers are waiting before you.",
                    ahead,
                )
                % {"n": ahead},
            )
        else:
            s.say(
                gather,
                _("All our volunteers are talking to other callers. You are next in line."),
            )
        emergency = _emergency(hotline)
        if emergency and waited % EMERGENCY_EVERY_SECONDS < HOLD_PAUSE_SECONDS + 4:
            s.say(gather, emergency)
        s.say(gather, _("To leave a message instead, press any key."))
    return response


def left_queue() -> VoiceResponse:
    """The waiting caller pressed a key: out of the queue, to voicemail (queue-done)."""
    response = VoiceResponse()
    response.leave()
    return response


VOICEMAIL_WORDS = {
    Call.VoicemailReason.CLOSED: gettext_lazy("The hotline is closed at the moment."),
    "out_of_hours": gettext_lazy("The hotline is closed at the moment."),
    Call.VoicemailReason.NOBODY_ON_SHIFT: gettext_lazy(
        "No volunteer for this service is on duty at the moment."
    ),
    Call.VoicemailReason.ALL_BUSY_TIMEOUT: gettext_lazy(
        "Sorry for the wait: all our volunteers are still talking to other callers."
    ),
    Call.VoicemailReason.NOBODY_ANSWERED: gettext_lazy(
        "Sorry, none of our volunteers could answer just now."
    ),
    Call.VoicemailReason.CALLER_CHOSE: gettext_lazy("You can leave us a message."),
}


def voicemail(call: Call) -> VoiceResponse:
    """Why nobody can answer (the words of the call's voicemail reason), the emergency
    numbers, and the callback offer."""
    hotline = call.hotline
    response = VoiceResponse()
    with _Speaker(hotline) as s:
        text = VOICEMAIL_WORDS.get(
            call.voicemail_reason, VOICEMAIL_WORDS[Call.VoicemailReason.NOBODY_ANSWERED]
        )
        s.say(response, str(text))
        emergency = _emergency(hotline)
        if emergency:
            s.say(response, emergency)
        gather = response.gather(
            num_digits=1,
            timeout=MENU_TIMEOUT_SECONDS,
            action=_u("twilio:voice-callback", call=call.pk),
            method="POST",
            action_on_empty_result=True,
        )
        s.say(
            gather,
            _(
                "To be called back on this number, press 1. To leave a message only, stay on the line."
            ),
        )
    response.redirect(_u("twilio:voice-record", call=call.pk), method="POST")
    return response


SAFETY_TIMEOUT_SECONDS = 5
SAFETY_WORDS = {
    "call": gettext_lazy(
        "Is it safe for us to call you back on this number? Press 1 for yes, 2 for no."
    ),
    "message": gettext_lazy(
        "Is it safe to leave you a message, by voice or by text? Press 1 for yes, 2 for no."
    ),
    "time": gettext_lazy(
        "When is the best time to reach you? Morning, press 1. Afternoon, press 2. "
        "Evening, press 3. Any time, press 4."
    ),
}


def callback_question(call: Call, question: str, **carry) -> VoiceResponse:
    """One safety question after "press 1 to be called back" (SAFETY_WORDS): one key, a
    short wait; no key, or any key, goes on (voice-callback-safety), so nobody is dropped
    and the message is always recorded. `carry`: earlier answers, in the next URL."""
    response = VoiceResponse()
    url = _u("twilio:voice-callback-safety", call=call.pk, q=question, **carry)
    with _Speaker(call.hotline) as s:
        if question == "call":
            s.say(response, _("Thank you. We will call you back as soon as we can."))
        gather = response.gather(
            num_digits=1,
            timeout=SAFETY_TIMEOUT_SECONDS,
            action=url,
            method="POST",
            action_on_empty_result=True,
        )
        s.say(gather, str(SAFETY_WORDS[question]))
    response.redirect(url, method="POST")
    return response


def callback_next(call: Call, question: str, *, digits: str, earlier: str = "") -> VoiceResponse:
    """After an answer to `question`: the next question, or the recording. A caller who said
    it is safe neither to call nor to leave a message is not asked when to call, and is told
    so. `earlier`: the key pressed for the call-back question."""
    key = (digits or "")[:1]
    if question == "call":
        return callback_question(call, "message", c=key if key.isdigit() else "-")
    if question == "message" and earlier == "2" and key == "2":
        return record(call, no_contact=True)
    if question == "message":
        return callback_question(call, "time")
    return record(call)


def record(
    call: Call, *, callback_requested: bool = False, no_contact: bool = False
) -> VoiceResponse:
    response = VoiceResponse()
    with _Speaker(call.hotline) as s:
        if callback_requested:
            s.say(response, _("Thank you. We will call you back as soon as we can."))
        if no_contact:
            s.say(
                response,
                _("We will not call you or leave you a message. Call us again when it is safe."),
            )
        s.say(
            response,
            _("Please leave a message after the tone, and press the hash key when you are done."),
        )
        response.record(
            action=_u("twilio:voice-recorded", call=call.pk),
            method="POST",
            max_length=VOICEMAIL_MAX_SECONDS,
            finish_on_key="#",
            play_beep=True,
        )
        s.say(response, _("Thank you for calling. Goodbye."))
    response.hangup()
    return response


def goodbye(hotline: Hotline) -> VoiceResponse:
    response = VoiceResponse()
    with _Speaker(hotline) as s:
        s.say(response, _("Thank you for calling. Goodbye."))
    response.hangup()
    return response


def hangup() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response


def offer(call: Call, attempt_id: int, *, taken: bool = False) -> VoiceResponse:
    """The whisper on a volunteer's answered leg: press 1 to take the call. `taken`: the
    caller this leg was dialled for was taken meanwhile, and this is the next one."""
    response = VoiceResponse()
    with _Speaker(call.hotline) as s:
        if call.state != Call.State.RINGING:
            s.say(response, _("This call has already been taken. Thank you."))
            response.hangup()
            return response
        category = Category(call.category or Category.PSYCHOLOGICAL).label
        gather = response.gather(
            num_digits=1,
            timeout=ACCEPT_TIMEOUT_SECONDS,
            action=_u("twilio:voice-accept", attempt=attempt_id),
            method="POST",
        )
        if taken:
            s.say(gather, _("This caller has been taken. Another caller is waiting."))
        s.say(
            gather,
            _("Hotline call: %(category)s. Press 1 to take the call.")
            % {"category": str(category)},
        )
        s.say(response, _("No key pressed. Goodbye."))
    response.hangup()
    return response


def taken(call: Call) -> VoiceResponse:
    """A leg answered after its caller was taken, and nobody else is waiting."""
    response = VoiceResponse()
    with _Speaker(call.hotline) as s:
        s.say(response, _("This caller has been taken. Thank you."))
    response.hangup()
    return response


# The conference's events we act on (hotline/calls/conference.py: participant_left,
# conference_ended): a volunteer whose phone drops is noticed at once, not at the sweep.
CONFERENCE_EVENTS = "leave end"


def _events(call: Call) -> dict:
    """The `statusCallback` attributes of every `<Conference>` noun of `call` (an absolute
    URL where the call's webhook base is known, as for the legs' status callbacks)."""
    return {
        "status_callback": webhook_url(call, "twilio:voice-conference-status", call=call.pk),
        "status_callback_event": CONFERENCE_EVENTS,
        "status_callback_method": "POST",
    }


def _conference(node, call: Call, **kw) -> None:
    dial = node.dial()
    dial.conference(call.queue_name, beep=False, wait_url="", **_events(call), **kw)


def accepted(call: Call, attempt_id: int, *, words: str | None = None) -> VoiceResponse:
    """The volunteer took the call: into the call's conference (the caller is moved there
    from the queue). The caller's leaving ends the conference; the volunteer's does not (it
    is how * reaches the key sequence: `hangupOnStar`, then the Dial's action), so when
    they hang up the app ends the call (conference.volunteer_left). `words`: said first
    instead of "connecting you"."""
    response = VoiceResponse()
    with _Speaker(call.hotline) as s:
        s.say(response, words or _("Connecting you to the caller."))
        if words is None:
            s.say(response, _("To bring in the supervisor during the call, press star."))
    dial = response.dial(
        action=_u("twilio:voice-dial-done", attempt=attempt_id),
        method="POST",
        hangup_on_star=True,
    )
    dial.conference(
        call.queue_name,
        beep=False,
        wait_url="",
        start_conference_on_enter=True,
        end_conference_on_exit=False,
        **_events(call),
    )
    return response


def caller_conference(call: Call) -> VoiceResponse:
    """The caller, taken from the queue into the conference with the volunteer."""
    response = VoiceResponse()
    if call.state != Call.State.CONNECTED:
        response.hangup()
        return response
    _conference(response, call, start_conference_on_enter=True, end_conference_on_exit=True)
    return response


def volunteer_gone(call: Call) -> VoiceResponse:
    """The caller was found alone on the call (the volunteer hung up, or their line
    dropped: Twilio's events do not tell the two apart, so the words fit both): what
    happened, the emergency numbers, goodbye."""
    response = VoiceResponse()
    with _Speaker(call.hotline) as s:
        s.say(response, _("Your volunteer is no longer on the call."))
        s.say(response, _("If you would like to talk to someone again, please call us back."))
        emergency = _emergency(call.hotline)
        if emergency:
            s.say(response, emergency)
        s.say(response, _("Thank you for calling. Goodbye."))
    response.hangup()
    return response


def join(join_row) -> VoiceResponse:
    """A supervisor answering a join: into the conference, muted when listening; their
    leaving never ends the call."""
    call = join_row.call
    response = VoiceResponse()
    with _Speaker(call.hotline) as s:
        if call.state != Call.State.CONNECTED:
            s.say(response, _("This call has ended. Thank you."))
            response.hangup()
            return response
        if join_row.mode == "listen":
            s.say(response, _("Joining the call muted: you can listen."))
        elif join_row.transfer:
            s.say(
                response,
                _("The volunteer is asking for your help. The caller is on hold for now."),
            )
        else:
            s.say(response, _("Joining the call: the caller and the volunteer can hear you."))
    _conference(
        response,
        call,
        muted=join_row.mode == "listen",
        start_conference_on_enter=False,
        end_conference_on_exit=False,
    )
    return response


def not_accepted(call: Call | None, reason: str) -> VoiceResponse:
    response = VoiceResponse()
    if call is None:
        response.hangup()
        return response
    with _Speaker(call.hotline) as s:
        if reason == "taken":
            s.say(response, _("Another volunteer has already taken this call. Thank you."))
        elif reason == "caller_gone":
            s.say(response, _("The caller is no longer waiting. Thank you."))
        else:
            s.say(response, _("Goodbye."))
    response.hangup()
    return response


def dial_done(call: Call | None, dial_status: str) -> VoiceResponse:
    response = VoiceResponse()
    if call is not None and dial_status != "completed":
        with _Speaker(call.hotline) as s:
            s.say(response, _("The caller is no longer waiting. Thank you."))
    response.hangup()
    return response


# --- the volunteer's key sequence and the warm transfer (hotline/calls/conference.py) --------

TRANSFER_KEY_TIMEOUT_SECONDS = 8


def transfer_menu(call: Call, attempt_id: int, transfer) -> VoiceResponse:
    """The volunteer pressed * during the call: the caller is on hold; what next."""
    response = VoiceResponse()
    with _Speaker(call.hotline) as s:
        gather = response.gather(
            num_digits=1,
            timeout=TRANSFER_KEY_TIMEOUT_SECONDS,
            action=_u("twilio:voice-transfer-key", attempt=attempt_id),
            method="POST",
        )
        s.say(gather, _("The caller is on hold."))
        if transfer is None:
            s.say(gather, _("To bring in the supervisor on shift, press 9."))
        elif transfer.joined_at is not None:
            s.say(
                gather,
                _("To hand the call over to %(name)s and leave, press 1.")
                % {"name": transfer.volunteer.display_name},
            )
        else:
            s.say(gather, _("The supervisor has not answered yet."))
        s.say(gather, _("To go back to the caller, press 0."))
    # No key: back to the caller.
    response.redirect(_u("twilio:voice-transfer-key", attempt=attempt_id), method="POST")
    return response


def transfer_after_key(call: Call, attempt_id: int, what: str, detail) -> VoiceResponse:
    """What the volunteer hears after their key: back into the conference (with the words
    of what happened), or goodbye once they handed the call over or it ended."""
    with _Speaker(call.hotline):
        if what == "handed_over":
            response = VoiceResponse()
            with _Speaker(call.hotline) as s:
                s.say(
                    response,
                    _("You have handed the call over to %(name)s. Thank you.")
                    % {"name": detail.volunteer.display_name},
                )
            response.hangup()
            return response
        if what == "gone":
            response = VoiceResponse()
            with _Speaker(call.hotline) as s:
                s.say(response, _("The call has ended. Thank you."))
            response.hangup()
            return response
        if what == "calling":
            words = _(
                "Calling %(name)s. The caller stays on hold while you talk: press star, "
                "then 1 to hand the call over, or 0 to bring the caller back."
            ) % {"name": detail.volunteer.display_name}
        elif what == "refused":
            words = _("%(reason)s Back to the caller.") % {"reason": detail}
        else:
            words = _("Back to the caller.")
    return accepted(call, attempt_id, words=words)


def transfer_hold(call: Call) -> VoiceResponse:
    """The caller on hold while the volunteer brings in a colleague (the participant's hold
    URL, asked again after each round)."""
    response = VoiceResponse()
    if call.state != Call.State.CONNECTED:
        response.hangup()
        return response
    with _Speaker(call.hotline) as s:
        s.say(
            response,
            _("Please stay on the line. Your volunteer is asking a colleague to help you."),
        )
    response.pause(length=HOLD_PAUSE_SECONDS)
    return response


def transfer_news(call: Call) -> VoiceResponse:
    """Announced to the volunteer: the supervisor did not answer, the caller is back."""
    response = VoiceResponse()
    with _Speaker(call.hotline) as s:
        s.say(response, _("The supervisor did not answer. The caller is back with you."))
    return response
