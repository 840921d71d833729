"""Call routing: the services behind the Twilio voice webhooks.

The caller waits in a Twilio queue (`<Enqueue>`, named after the Call) hearing a hold
message, while volunteers' phones are dialled out through the REST API in batches. Each
answered leg hears a whisper and must press 1: a voicemail box or an auto-answer never
takes the caller. The first press wins a conditional UPDATE on the Call; the other legs are
stopped and a late press hears "taken".

All routing state lives on the Call row (`state`, `ring_tier`, `ring_batch`,
`batch_deadline`), so whichever request comes next — a leg's status callback, the caller's
hold loop, the `calls-sweep` schedule when callbacks are lost — moves it on. Moving on is a
conditional step ("advance from batch n"), so two of them at once advance only once.

Status callbacks repeat and arrive out of order: a status only ever moves forward
(`STATUS_RANK`), and a finished call or attempt is never reopened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Case, F, Value, When
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hotline import access
from hotline.calls.selectors import (
    hotline_for_number,
    hotline_with_open_flag,
    ring_candidates,
    shift_of,
    voicemail_recipients,
)
from hotline.crisis.audit import audit_record
from hotline.followups.services import follow_up_from_callback
from hotline.models import (
    MENU_KEYS,
    Call,
    CallAttempt,
    CallbackRequest,
    CallReport,
    Category,
    Hotline,
    NonDataType,
    RingRotation,
)
from hotline.phone import normalize_phone, validate_e164
from hotline.sms.outbox import sms_send
from hotline.telephony import client as twilio_api

log = logging.getLogger(__name__)

# Seconds past a batch's ring timeout before the safety net declares it unanswered.
BATCH_GRACE = 15
MENU_TRIES = 2

# Twilio call statuses, in the order a call moves through them. Terminal ones share a rank.
STATUS_RANK = {
    "queued": 0,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "answered": 3,
    "completed": 4,
    "busy": 4,
    "no-answer": 4,
    "failed": 4,
    "canceled": 4,
}
TERMINAL = {"completed", "busy", "no-answer", "failed", "canceled"}
LEG_RESULT = {
    "busy": CallAttempt.Result.BUSY,
    "no-answer": CallAttempt.Result.NO_ANSWER,
    "failed": CallAttempt.Result.FAILED,
    "canceled": CallAttempt.Result.NO_ANSWER,
    # Answered but nobody pressed 1: a voicemail box, or the volunteer hung up.
    "completed": CallAttempt.Result.DECLINED,
}


# --- caller privacy ---------------------------------------------------------------------------


def caller_hash(number: str) -> str:
    """HMAC-SHA256 of the E.164 number under CALLER_HASH_SECRET: counts repeat callers
    without storing who they are."""
    key = settings.CALLER_HASH_SECRET.encode()
    return hmac.new(key, number.strip().encode(), hashlib.sha256).hexdigest()


def _last4(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    return digits[-4:]


def _lower_statuses(status: str) -> list[str]:
    rank = STATUS_RANK[status]
    return ["", *(s for s, r in STATUS_RANK.items() if r < rank)]


# --- URLs handed to Twilio ----------------------------------------------------------------------


def _url(_call: Call, name: str, **query) -> str:
    # `_call`: `call` is also a query parameter (`?call=<pk>`).
    base = (_call.webhook_base or settings.TWILIO_WEBHOOK_BASE_URL or "").rstrip("/")
    path = reverse(name)
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return base + path


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
            "voicemail_reason": "out_of_hours",
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
    goes to psychological support. Starts ringing the first batch."""
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
        category = MENU_KEYS.get((digits or "").strip()[:1])
        call.menu_attempts += 1
        if category is None and call.menu_attempts < MENU_TRIES:
            call.save(update_fields=["menu_attempts", "updated_at"])
            return call
        call.category = category or Category.PSYCHOLOGICAL
        call.save(update_fields=["menu_attempts", "category", "updated_at"])
        planned = _plan_batch(call, now)
    _dial(call, planned, now)
    # Ringing may have moved the call on; refresh_from_db would drop the loaded hotline.
    return Call.objects.select_related("hotline").get(pk=call.pk)


# --- ringing ----------------------------------------------------------------------------------


def _plan_batch(call: Call, now: dt.datetime, *, want: int | None = None, top_up: bool = False):
    """Inside the caller's transaction holding the Call row: choose who to ring next and
    create their attempts. Moves through the tiers; none left → voicemail. Returns the
    attempts to dial.

    Takes the hotline's row lock first (always after the Call's), so two calls on one
    hotline plan their batches one after the other: the second sees the first's attempts
    and never rings a volunteer the first is ringing. Planning is a few queries; the slow
    part, dialling, happens after the transaction.
    """
    hotline = call.hotline
    list(Hotline.objects.select_for_update().filter(pk=hotline.pk).values_list("pk"))
    want = want or hotline.ring_batch_size
    if top_up:  # more legs for the current batch, in its tier
        tiers, batch = [call.ring_tier], call.ring_batch
    else:  # the next batch: the current tier first, then the ones after it
        tiers = [Call.Tier.VOLUNTEERS, Call.Tier.SUPERVISORS]
        if call.ring_tier:
            tiers = tiers[tiers.index(call.ring_tier) :]
        batch = call.ring_batch + 1
    for tier in tiers:
        planned: list[CallAttempt] = []
        while len(planned) < want:
            candidates = ring_candidates(call=call, tier=tier, at=now, limit=want + 5)
            if not candidates:
                break
            for volunteer in candidates:
                if len(planned) >= want:
                    break
                attempt = CallAttempt(
                    call=call, volunteer=volunteer, tier=tier, batch=batch, offered_at=now
                )
                try:
                    validate_e164(volunteer.phone_number)
                    usable = True
                except ValidationError:
                    usable = False
                if not usable:
                    attempt.result = CallAttempt.Result.SKIPPED
                    attempt.error = "unusable phone number"
                    attempt.ended_at = now
                    log.warning(
                        "call %s: volunteer %s has an unusable number", call.pk, volunteer.pk
                    )
                attempt.save()
                if usable:
                    planned.append(attempt)
        if planned:
            RingRotation.objects.bulk_create(
                [
                    RingRotation(volunteer_id=volunteer_id, last_offered_at=now)
                    for volunteer_id in sorted(a.volunteer_id for a in planned)
                ],
                update_conflicts=True,
                unique_fields=["volunteer"],
                update_fields=["last_offered_at"],
            )
            if not top_up:
                call.state = Call.State.RINGING
                call.ring_tier = tier
                call.ring_batch = batch
            call.batch_deadline = now + dt.timedelta(seconds=hotline.ring_timeout + BATCH_GRACE)
            call.save(
                update_fields=["state", "ring_tier", "ring_batch", "batch_deadline", "updated_at"]
            )
            return planned
        if top_up:
            return []
    # Nobody left to ring.
    call.state = Call.State.VOICEMAIL
    call.voicemail_reason = "nobody_answered" if call.ring_batch else "nobody_on_shift"
    call.batch_deadline = None
    call.save(update_fields=["state", "voicemail_reason", "batch_deadline", "updated_at"])
    return []


def _dial(call: Call, attempts: list[CallAttempt], now: dt.datetime, *, depth: int = 0) -> None:
    """Outside any transaction (REST calls are slow): place each planned leg. A refused
    dial is recorded on its attempt and replaced by the next volunteer in the same tier."""
    if not attempts:
        if call.state == Call.State.VOICEMAIL and call.ring_batch:
            _caller_to_voicemail(call)
        return
    failed = 0
    for attempt in attempts:
        try:
            sid = twilio_api.call_create(
                to=attempt.volunteer.phone_number,
                from_=call.hotline.phone_number,
                url=_url(call, "twilio:voice-offer", attempt=attempt.pk),
                status_callback=_url(call, "twilio:voice-leg-status", attempt=attempt.pk),
                timeout=call.hotline.ring_timeout,
            )
        except twilio_api.DialError as exc:
            failed += 1
            CallAttempt.objects.filter(pk=attempt.pk, result=CallAttempt.Result.PENDING).update(
                result=CallAttempt.Result.FAILED, error=str(exc)[:500], ended_at=now
            )
            log.warning(
                "call %s: dialling volunteer %s failed: %s", call.pk, attempt.volunteer_id, exc
            )
            continue
        CallAttempt.objects.filter(pk=attempt.pk).update(
            leg_sid=sid,
            # The leg's status callback can beat the REST response: never move it back.
            leg_status=Case(When(leg_status="", then=Value("queued")), default=F("leg_status")),
        )
        # Someone accepted (or the caller left) while we were dialling: stop this leg.
        if not Call.objects.filter(pk=call.pk, state=Call.State.RINGING).exists():
            CallAttempt.objects.filter(pk=attempt.pk, result=CallAttempt.Result.PENDING).update(
                result=CallAttempt.Result.CANCELLED, ended_at=now
            )
            twilio_api.call_stop(sid)
    batch = attempts[0].batch
    if failed and depth < 10:
        with transaction.atomic():
            locked = (
                Call.objects.select_for_update(of=("self",))
                .select_related("hotline")
                .get(pk=call.pk)
            )
            more = []
            if locked.state == Call.State.RINGING and locked.ring_batch == batch:
                more = _plan_batch(locked, now, want=failed, top_up=True)
        if more:
            _dial(locked, more, now, depth=depth + 1)
            return
    _batch_check(call.pk, batch, now)


def _batch_check(call_id: int, batch: int, now: dt.datetime) -> None:
    """When no leg of the current batch is still ringing, move on to the next batch."""
    pending = CallAttempt.objects.filter(
        call_id=call_id, batch=batch, result=CallAttempt.Result.PENDING
    ).exists()
    if not pending:
        call_advance(call_id=call_id, from_batch=batch, now=now)


def call_advance(*, call_id: int, from_batch: int, now: dt.datetime) -> Call | None:
    """Give up on batch `from_batch` and ring the next one (or go to voicemail). Does
    nothing when the call has already moved on: safe to call from several places at once."""
    with transaction.atomic():
        call = (
            Call.objects.select_for_update(of=("self",))
            .select_related("hotline")
            .filter(pk=call_id, state=Call.State.RINGING, ring_batch=from_batch)
            .first()
        )
        if call is None:
            return None
        stale = list(
            CallAttempt.objects.filter(
                call=call, batch=from_batch, result=CallAttempt.Result.PENDING
            ).values_list("pk", "leg_sid")
        )
        CallAttempt.objects.filter(pk__in=[pk for pk, _ in stale]).update(
            result=CallAttempt.Result.NO_ANSWER, ended_at=now
        )
        planned = _plan_batch(call, now)
    for _pk, sid in stale:
        if sid:
            twilio_api.call_stop(sid)
    _dial(call, planned, now)
    return call


def _caller_to_voicemail(call: Call) -> None:
    """Take the caller out of the hold queue now (the hold loop would within seconds)."""
    twilio_api.call_redirect(call.call_sid, _url(call, "twilio:voice-voicemail", call=call.pk))


def call_tick(*, call: Call, now: dt.datetime) -> bool:
    """The safety net for lost leg callbacks: a batch past its deadline is given up.
    True when that may have moved the call on (reload it)."""
    if (
        call.state == Call.State.RINGING
        and call.batch_deadline is not None
        and call.batch_deadline <= now
    ):
        call_advance(call_id=call.pk, from_batch=call.ring_batch, now=now)
        return True
    return False


def calls_sweep(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Scheduled every minute: move on every call whose batch deadline has passed, the
    longest overdue first (at most `limit` a run; the next run takes the rest)."""
    now = now or timezone.now()
    due = list(
        Call.objects.filter(state=Call.State.RINGING, batch_deadline__lte=now)
        .order_by("batch_deadline", "id")
        .values_list("pk", "ring_batch")[:limit]
    )
    for call_id, batch in due:
        try:
            call_advance(call_id=call_id, from_batch=batch, now=now)
        except Exception:
            log.exception("sweep: could not advance call %s", call_id)
    return len(due)


# --- the volunteer's leg ------------------------------------------------------------------------


@dataclass
class AcceptResult:
    attempt: CallAttempt | None
    won: bool
    reason: str = ""  # "taken", "caller_gone", "declined", "unknown"


def attempt_for_offer(*, attempt_id: int) -> CallAttempt | None:
    return (
        CallAttempt.objects.select_related("call__hotline", "volunteer")
        .filter(pk=attempt_id)
        .first()
    )


def call_accept(*, attempt_id: int, digits: str, now: dt.datetime) -> AcceptResult:
    """The volunteer pressed a key on the whisper. 1 accepts; the first to accept wins."""
    attempt = attempt_for_offer(attempt_id=attempt_id)
    if attempt is None:
        return AcceptResult(None, False, "unknown")
    call = attempt.call
    if (digits or "").strip()[:1] != "1":
        declined = CallAttempt.objects.filter(
            pk=attempt.pk, result=CallAttempt.Result.PENDING
        ).update(result=CallAttempt.Result.DECLINED, ended_at=now)
        if declined:
            _batch_check(call.pk, attempt.batch, now)
        return AcceptResult(attempt, False, "declined")
    with transaction.atomic():
        won = Call.objects.filter(pk=call.pk, state=Call.State.RINGING).update(
            state=Call.State.CONNECTED,
            answered_by=attempt.volunteer_id,
            answered_at=now,
            batch_deadline=None,
            updated_at=now,
        )
        if not won:
            CallAttempt.objects.filter(pk=attempt.pk, result=CallAttempt.Result.PENDING).update(
                result=CallAttempt.Result.LATE, ended_at=now
            )
            state = Call.objects.filter(pk=call.pk).values_list("state", flat=True).first()
            reason = "caller_gone" if state in (Call.State.ENDED, Call.State.VOICEMAIL) else "taken"
            return AcceptResult(attempt, False, reason)
        # The attempt may already be closed (its batch timed out while the volunteer was
        # pressing 1): the winner is on the call now, so it is open again.
        CallAttempt.objects.filter(pk=attempt.pk).update(
            result=CallAttempt.Result.ACCEPTED, ended_at=None
        )
        shift = shift_of(volunteer=attempt.volunteer, hotline=call.hotline, at=now)
        if shift is not None:
            Call.objects.filter(pk=call.pk).update(shift=shift)
        others = list(
            CallAttempt.objects.filter(call=call, result=CallAttempt.Result.PENDING)
            .exclude(pk=attempt.pk)
            .values_list("pk", "leg_sid", "leg_status")
        )
        CallAttempt.objects.filter(pk__in=[pk for pk, _, _ in others]).update(
            result=CallAttempt.Result.CANCELLED, ended_at=now
        )
    for _pk, sid, leg_status in others:
        if sid:
            twilio_api.call_stop(sid, answered=leg_status == "in-progress")
    # Not refresh_from_db: it would drop the loaded call and hotline the webhook answers with.
    attempt.result, attempt.ended_at = CallAttempt.Result.ACCEPTED, None
    return AcceptResult(attempt, True)


def leg_status_update(*, attempt_id: int, status: str, now: dt.datetime) -> None:
    """A volunteer leg's status callback. Replays and late statuses change nothing."""
    if status not in STATUS_RANK:
        return
    attempt = CallAttempt.objects.filter(pk=attempt_id).first()
    if attempt is None:
        return
    CallAttempt.objects.filter(pk=attempt.pk, leg_status__in=_lower_statuses(status)).update(
        leg_status=status
    )
    if status not in TERMINAL:
        return
    ended = CallAttempt.objects.filter(pk=attempt.pk, result=CallAttempt.Result.PENDING).update(
        result=LEG_RESULT[status], ended_at=now
    )
    # The accepted volunteer hung up: no longer on a call.
    CallAttempt.objects.filter(
        pk=attempt.pk, result=CallAttempt.Result.ACCEPTED, ended_at__isnull=True
    ).update(ended_at=now)
    if ended:
        _batch_check(attempt.call_id, attempt.batch, now)


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
        if call.state == Call.State.CONNECTED:
            call.outcome = Call.Outcome.ANSWERED
        elif call.recording_sid or CallbackRequest.objects.filter(call=call).exists():
            call.outcome = Call.Outcome.VOICEMAIL
        elif call.voicemail_reason == "out_of_hours":
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
        voicemail_reason="not_recorded",
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


def _late_voicemail(call: Call) -> None:
    """A message or callback request recorded after the call had ended (kept in the webhook
    inbox while the database was busy): the outcome is voicemail after all."""
    Call.objects.filter(
        pk=call.pk,
        state=Call.State.ENDED,
        outcome__in=[Call.Outcome.MISSED, Call.Outcome.ABANDONED],
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
