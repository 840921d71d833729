"""Call routing: the services behind the Twilio voice webhooks.

The caller waits in a Twilio queue (`<Enqueue>`, named after the Call) hearing the hold
words, while volunteers' phones are dialled out through the REST API. Who is offered which
caller, and the state of each volunteer's leg, is hotline/calls/queue.py (re-exported
here for the webhooks). Each answered leg hears a whisper and must press 1: a voicemail box
or an auto-answer never takes the caller. The first press wins a conditional UPDATE on the
Call; the other legs are stopped and a late press hears "taken".

All routing state lives on the Call row (`state`, `ring_tier`, `ring_batch`,
`batch_deadline`), so whichever request comes next — a leg's status callback, the caller's
hold loop, the `calls-sweep` schedule when callbacks are lost — moves it on.

Status callbacks repeat and arrive out of order: a status only ever moves forward
(`STATUS_RANK`), and a finished call or attempt is never reopened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from hotline import access
from hotline.calls.queue import (  # noqa: F401 - the webhooks' names for them
    STATUS_RANK,
    TERMINAL,
    AcceptResult,
    attempt_for_offer,
    call_accept,
    call_advance,
    call_leave_queue,
    call_tick,
    calls_sweep,
    hotline_dispatch,
    leg_answered,
    leg_conference_over,
    leg_reoffer,
    leg_status_update,
    lower_statuses,
)
from hotline.calls.selectors import (
    hotline_for_number,
    hotline_with_open_flag,
    voicemail_recipients,
)
from hotline.crisis.audit import audit_record
from hotline.followups.services import follow_up_callback_answers, follow_up_from_callback
from hotline.models import (
    MENU_KEYS,
    Call,
    CallAttempt,
    CallbackBestTime,
    CallbackRequest,
    CallReport,
    Category,
    Hotline,
    NonDataType,
)
from hotline.phone import normalize_phone
from hotline.sms.outbox import sms_send
from hotline.telephony import client as twilio_api

log = logging.getLogger(__name__)

MENU_TRIES = 2

# --- caller privacy ---------------------------------------------------------------------------


def caller_hash(number: str) -> str:
    """HMAC-SHA256 of the E.164 number under CALLER_HASH_SECRET: counts repeat callers
    without storing who they are."""
    key = settings.CALLER_HASH_SECRET.encode()
    return hmac.new(key, number.strip().encode(), hashlib.sha256).hexdigest()


def _last4(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    return digits[-4:]


# --- arrival and menu -------------------------------------------------------------------------


def call_arrive(
    *, to_number: str, call_sid: str, from_number: str, base_url: str, now: dt.datetime
) -> Call | None:
    """Record a new call on the hotline numbered `to_number` (None: no such hotline).

    Out of hours (no published shift now) the call goes straight to voicemail. A replayed
    webhook returns the existing Call. A fixed number of queries whatever the roster size.
    """
    hotline = hotline_with_open_flag(to_number, now)
    if hotline is None:
        return None
    closed = {}
    if not hotline.is_open:
        closed = {
            "state": Call.State.VOICEMAIL,
            "voicemail_reason": Call.VoicemailReason.CLOSED,
            "outcome": Call.Outcome.OUT_OF_HOURS,
        }
    call = _insert_unless_known(
        hotline,
        call_sid=call_sid,
        caller_hash=caller_hash(from_number) if from_number else "",
        caller_last4=_last4(from_number),
        arrived_at=now,
        webhook_base=base_url[:200],
        twilio_status="ringing",
        **closed,
    )
    if call is None:  # a replayed webhook: the call exists already
        return Call.objects.select_related("hotline").get(call_sid=call_sid)
    return call


def _insert_unless_known(hotline: Hotline, **given) -> Call | None:
    """A new Call of `hotline` with the `given` field values (the others take their
    defaults), INSERTed unless a Call with its call_sid exists (then None).

    One statement (`ON CONFLICT DO NOTHING RETURNING`, on SQLite and PostgreSQL), so a
    replay never raises and needs no savepoint. Written out because the incoming-call
    webhook runs it on every call and the ORM's model and INSERT machinery cost more than
    the INSERT itself; values are still prepared by the fields, as `save()` would.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the thread's connection, not the proxy
    sql, fields = _call_insert_plan(db)
    given["hotline_id"] = hotline.pk
    values = [given[f.attname] if f.attname in given else f.get_default() for f in fields]
    if len(given) != sum(f.attname in given for f in fields):
        raise TypeError(f"not fields of Call: {sorted(given.keys() - {f.attname for f in fields})}")
    call = Call(*values)  # positional: much cheaper than keyword arguments
    params = []
    for field in fields[1:]:  # all but the primary key
        value = field.pre_save(call, True)  # sets auto_now(_add) fields
        # None is NULL for every field type Call has (it has no JSONField).
        params.append(value if value is None else field.get_db_prep_save(value, db))
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    call.pk = row[0]
    call._state.adding = False
    call._state.db = db.alias
    call.hotline = hotline
    return call


_CALL_INSERT_PLANS: dict[str, tuple[str, list]] = {}


def _call_insert_plan(db) -> tuple[str, list]:
    """The INSERT and Call's concrete fields (primary key first); built once per vendor."""
    plan = _CALL_INSERT_PLANS.get(db.vendor)
    if plan is None:
        qn = db.ops.quote_name
        fields = list(Call._meta.concrete_fields)
        assert fields[0].primary_key
        columns = ", ".join(qn(f.column) for f in fields[1:])
        placeholders = ", ".join(["%s"] * (len(fields) - 1))
        sid = qn(Call._meta.get_field("call_sid").column)
        sql = (
            f"INSERT INTO {qn(Call._meta.db_table)} ({columns})"  # noqa: S608
            f" VALUES ({placeholders})"
            f" ON CONFLICT ({sid}) DO NOTHING RETURNING {qn(fields[0].column)}"
        )
        plan = _CALL_INSERT_PLANS[db.vendor] = (sql, fields)
    return plan


def call_choose(*, call_sid: str, digits: str, now: dt.datetime) -> Call | None:
    """The caller's menu key. A wrong or missing key replays the menu once, then the call
    goes to psychological support. A hotline with `preference_options` then asks what the
    caller would like (one key; none or a wrong one: no preference). The caller then joins
    the hotline's queue (hotline/calls/queue.py), which offers them to whoever is free."""
    call = _call_choose(call_sid=call_sid, digits=digits, now=now)
    if call is None or call.state != Call.State.RINGING or not getattr(call, "joined", False):
        return call
    hotline_dispatch(hotline_id=call.hotline_id, now=now, answering=call.pk)
    # Dispatch may have moved the call on; refresh_from_db would drop the loaded hotline.
    return Call.objects.select_related("hotline").get(pk=call.pk)


def _call_choose(*, call_sid: str, digits: str, now: dt.datetime) -> Call | None:
    with transaction.atomic():
        call = (
            Call.objects.select_for_update(of=("self",))
            .select_related("hotline")
            .filter(call_sid=call_sid)
            .first()
        )
        if call is None:
            return None
        if call.state != Call.State.MENU:
            return call  # a replay: routing has already begun
        key = (digits or "").strip()[:1]
        options = call.hotline.preference_options or []
        if call.category:  # the second menu: what the caller would like (never replayed)
            index = int(key) - 2 if key.isdigit() else -1
            call.wants = options[index] if 0 <= index < len(options) else ""
            return _join_queue(call, now, ["wants"])
        category = MENU_KEYS.get(key)
        call.menu_attempts += 1
        if category is None and call.menu_attempts < MENU_TRIES:
            call.save(update_fields=["menu_attempts", "updated_at"])
            return call
        call.category = category or Category.PSYCHOLOGICAL
        if options:  # the hotline asks what the caller would like first
            call.save(update_fields=["menu_attempts", "category", "updated_at"])
            return call
        return _join_queue(call, now, ["menu_attempts", "category"])


def _join_queue(call: Call, now: dt.datetime, fields: list[str]) -> Call:
    """Inside call_choose's transaction: the caller joins the queue (dispatched after the
    commit; if this process dies first, the sweep or the hold loop dispatches)."""
    call.state = Call.State.RINGING
    call.batch_deadline = now
    call.save(update_fields=[*fields, "state", "batch_deadline", "updated_at"])
    call.joined = True
    return call


# --- the caller's call ends -----------------------------------------------------------------


def call_status_update(
    *,
    call_sid: str,
    status: str,
    duration: int | None,
    now: dt.datetime,
    to_number: str = "",
    from_number: str = "",
    inbound: bool = True,
) -> Call | None:
    """The caller's call status callback. Only moves forward; the first terminal status
    settles the outcome, and any replay or late status afterwards changes nothing.

    The final status of an inbound call we never recorded (the caller hung up while the
    database was too busy to take the arrival) records it after all, as missed."""
    if status not in STATUS_RANK:
        return None
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(call_sid=call_sid).first()
        if call is None:
            if status in TERMINAL and inbound and to_number:
                return _call_never_recorded(
                    call_sid=call_sid,
                    to_number=to_number,
                    from_number=from_number,
                    status=status,
                    duration=duration,
                    now=now,
                )
            return None
        if call.state == Call.State.ENDED or STATUS_RANK[status] <= STATUS_RANK.get(
            call.twilio_status, -1
        ):
            return call
        call.twilio_status = status
        if status not in TERMINAL:
            call.save(update_fields=["twilio_status", "updated_at"])
            return call
        was = call.state
        if call.state == Call.State.CONNECTED:
            call.outcome = Call.Outcome.ANSWERED
        elif call.recording_sid or CallbackRequest.objects.filter(call=call).exists():
            call.outcome = Call.Outcome.VOICEMAIL
        elif call.voicemail_reason in (Call.VoicemailReason.CLOSED, "out_of_hours"):
            call.outcome = Call.Outcome.OUT_OF_HOURS
        elif call.state == Call.State.VOICEMAIL:
            call.outcome = Call.Outcome.MISSED
        else:  # hung up in the menu or while waiting
            call.outcome = Call.Outcome.ABANDONED
        call.state = Call.State.ENDED
        call.ended_at = now
        call.duration = duration
        call.batch_deadline = None
        call.save()
        pending = list(
            CallAttempt.objects.filter(call=call, result=CallAttempt.Result.PENDING).values_list(
                "pk", "leg_sid", "leg_status"
            )
        )
        CallAttempt.objects.filter(pk__in=[pk for pk, _, _ in pending]).update(
            result=CallAttempt.Result.CANCELLED, ended_at=now
        )
        CallAttempt.objects.filter(
            call=call, result=CallAttempt.Result.ACCEPTED, ended_at__isnull=True
        ).update(ended_at=now)
    for _pk, sid, leg_status in pending:
        if sid:
            twilio_api.call_stop(sid, answered=leg_status == "in-progress")
    if was in (Call.State.RINGING, Call.State.CONNECTED):
        # A seat came free (the volunteer on the call), or the queue moved up.
        hotline_dispatch(hotline_id=call.hotline_id, now=now)
    return call


def _call_never_recorded(
    *, call_sid: str, to_number: str, from_number: str, status: str, duration, now: dt.datetime
) -> Call | None:
    hotline = hotline_for_number(to_number)
    if hotline is None:
        return None
    arrived = now - dt.timedelta(seconds=duration or 0)
    log.warning("call %s ended before it could be recorded: recorded as missed", call_sid)
    _insert_unless_known(
        hotline,
        call_sid=call_sid,
        caller_hash=caller_hash(from_number) if from_number else "",
        caller_last4=_last4(from_number),
        arrived_at=arrived,
        ended_at=now,
        duration=duration,
        state=Call.State.ENDED,
        outcome=Call.Outcome.MISSED,
        voicemail_reason=Call.VoicemailReason.NOT_RECORDED,
        twilio_status=status,
    )
    return Call.objects.filter(call_sid=call_sid).first()


# --- voicemail and callbacks -------------------------------------------------------------------


def call_for_voicemail(*, call_id: int) -> Call | None:
    return Call.objects.select_related("hotline").filter(pk=call_id).first()


@transaction.atomic
def callback_request_create(*, call: Call, number: str, now: dt.datetime) -> CallbackRequest | None:
    """The caller pressed 1 to be called back on `number` (their caller ID). Idempotent."""
    try:
        number = normalize_phone(number)
    except ValidationError:
        log.warning("call %s: callback requested from an unusable caller ID", call.pk)
        return None
    request, created = CallbackRequest.objects.get_or_create(
        call=call, defaults={"hotline": call.hotline, "number": number, "requested_at": now}
    )
    if created:
        _late_voicemail(call)
        follow_up_from_callback(callback=request, now=now)
        voicemail_notify(call_id=call.pk, now=now)
    return request


# The safety questions asked after "press 1 to be called back" (hotline/calls/voice.py):
# question → the request's field and what each key means. Any other key, or none, is "not
# answered" and changes nothing: the caller goes on to the next question all the same.
SAFETY_QUESTIONS = {
    "call": ("safe_to_call", {"1": True, "2": False}),
    "message": ("safe_to_leave_message", {"1": True, "2": False}),
    "time": (
        "best_time",
        {
            "1": CallbackBestTime.MORNING,
            "2": CallbackBestTime.AFTERNOON,
            "3": CallbackBestTime.EVENING,
            "4": CallbackBestTime.ANY,
        },
    ),
}


def safety_answer(question: str, digits: str):
    """What a key press means for `question`: True / False / a best-time code, or None."""
    _field, keys = SAFETY_QUESTIONS[question]
    return keys.get((digits or "").strip()[:1])


@transaction.atomic
def callback_safety_answer(
    *, call: Call, number: str, question: str, digits: str, now: dt.datetime
) -> CallbackRequest | None:
    """The caller keyed an answer to a safety question (`question`: a SAFETY_QUESTIONS key).
    Kept on the callback request and carried to its open follow-up. No key or a meaningless
    one changes nothing (a replay neither). The request is made here when it is not there yet
    (its own webhook still waiting in the inbox while the database was busy)."""
    field, _keys = SAFETY_QUESTIONS[question]
    value = safety_answer(question, digits)
    request = CallbackRequest.objects.filter(call=call).first()
    if request is None:
        request = callback_request_create(call=call, number=number, now=now) if number else None
    if request is None or value is None:
        return request
    CallbackRequest.objects.filter(pk=request.pk).update(**{field: value})
    setattr(request, field, value)
    follow_up_callback_answers(callback=request, answers={field: value}, now=now)
    return request


def _late_voicemail(call: Call) -> None:
    """A message or callback request recorded after the call had ended (kept in the webhook
    inbox while the database was busy): the outcome is voicemail after all, as
    call_status_update would have settled it (a message out of hours is a voicemail too)."""
    Call.objects.filter(
        pk=call.pk,
        state=Call.State.ENDED,
        outcome__in=[Call.Outcome.MISSED, Call.Outcome.ABANDONED, Call.Outcome.OUT_OF_HOURS],
    ).update(outcome=Call.Outcome.VOICEMAIL)


def voicemail_record(
    *, call: Call, recording_sid: str, duration: int | None, now: dt.datetime
) -> Call:
    """A voicemail was recorded. A replay of the same recording changes nothing. Only the
    SID is kept: the recording is played through us (hotline/calls/recordings.py), never
    through Twilio's URL, which anyone holding it could open."""
    updated = Call.objects.filter(pk=call.pk, recording_sid="").update(
        recording_sid=recording_sid[:64],
        recording_duration=duration,
        updated_at=now,
    )
    if updated:
        _late_voicemail(call)
        voicemail_notify(call_id=call.pk, now=now)
    # Reloaded with its hotline: a plain refresh would drop it, and the webhook answers with it.
    call.refresh_from_db(from_queryset=Call.objects.select_related("hotline"))
    return call


def voicemail_notify(*, call_id: int, now: dt.datetime) -> int:
    """SMS the coordinators on duty and the volunteers of the current shift that a message
    is waiting. Once per call and person (dedupe key), never with the caller's number."""
    call = Call.objects.select_related("hotline").get(pk=call_id)
    hotline = call.hotline
    local = call.arrived_at.astimezone(hotline.tz)
    sent = 0
    for volunteer in voicemail_recipients(hotline=hotline, at=now):
        with translation.override(volunteer.language or "zh-hans"):
            body = _(
                "%(hotline)s: a caller left a message or asked to be called back at %(time)s. See the callback queue."
            ) % {
                "hotline": hotline.name,
                "time": local.strftime("%H:%M"),
            }
        sms_send(
            to=volunteer.phone_number,
            body=body,
            dedupe_key=f"voicemail:{call.pk}:{volunteer.pk}",
            purpose="voicemail",
            recipient=volunteer,
        )
        sent += 1
    return sent


@transaction.atomic
def callback_done(
    *, callback: CallbackRequest, by, note: str = "", now: dt.datetime
) -> CallbackRequest:
    """Someone called the caller back. Doing it twice keeps the first record."""
    CallbackRequest.objects.filter(pk=callback.pk, done_at__isnull=True).update(
        done_at=now, done_by=by, note=note[:500]
    )
    callback.refresh_from_db()
    return callback


# --- non-data calls ---------------------------------------------------------------------------


@transaction.atomic
def call_mark_non_data(*, call: Call, by, kind: str, now: dt.datetime) -> Call:
    """Mark a call silent, hung up, wrong number, prank, abusive or a test (`kind`; "" to
    undo): counted in statistics, no report needed. Whoever may escalate the call may mark
    it (its volunteer, crisis staff); a call with a report is a real conversation and is
    refused."""
    if not access.can_escalate(by, call):
        raise PermissionDenied(
            _("Only the volunteer who answered this call, or a supervisor, can do this.")
        )
    if kind and kind not in NonDataType.values:
        raise ValidationError({"type": [_("Unknown call type.")]})
    if kind and CallReport.objects.filter(call=call).exists():
        raise ValidationError({"type": [_("This call has a report: it was a conversation.")]})
    Call.objects.filter(pk=call.pk).update(non_data_type=kind, updated_at=now)
    audit_record(actor=by, action="call.non_data", obj=call, at=now, detail={"type": kind})
    call.non_data_type = kind
    return call
