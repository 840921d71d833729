"""The queue that waits for people: who is offered which waiting caller, and the state of
each volunteer's phone leg.

A caller who chose a service waits (`Call.State.RINGING`, in a Twilio `<Enqueue>` of their
own) until a volunteer takes them, they choose voicemail, or the hotline's wait limit
(`max_queue_seconds`) passes. `hotline_dispatch` plans the offers of one hotline at a time
under the hotline's row lock, so two web processes never offer one volunteer two callers:

- longest-waiting caller first; each volunteer is offered one caller at a time; a caller
  gets one volunteer before any caller gets a second (up to `ring_batch_size`);
- tiers are re-evaluated for every phone: the service's own role first (counsellors,
  family-education experts); supervisors only when nobody of that role is free and not yet
  tried, and either the caller waited SUPERVISOR_AFTER or everyone of that role was tried
  (and none of their phones still rings for the caller);
- a caller whose phones ring unanswered gets one more each STAGGER (up to
  `ring_batch_size` - 1 more, at most RING_MORE_MAX), none once a phone is answered;
- a volunteer whose phone rang unanswered for a caller may be rung once more for them
  (RETRY_AFTER), when nobody not yet tried for that caller is free; never after a decline;
- a volunteer is busy while an offer to them is open, while they are on a call, and while
  a leg we stopped has not sent its final status (at most LEG_LINGER after we stopped it);
  a final status LEG_READ_AFTER late is read from Twilio, once, when a waiting caller could
  use that volunteer (_legs_to_read; the reads happen after the transaction);
- voicemail only when nobody is on shift for the service (`nobody_on_shift`), everyone on
  shift who could take it was rung (`nobody_answered`), the wait limit passed
  (`all_busy_timeout`), or the caller pressed a key (`caller_chose`).

It runs whenever a seat may have come free or a caller arrived: a menu choice, a leg's
final status, an accept, a decline, the caller hanging up; and, for lost callbacks or a
restarted worker, from the caller's hold loop and the `calls-sweep` schedule once a call's
`batch_deadline` (its next check) has passed. Dialling happens after the transaction.

Lock order (docs/architecture.md): the Hotline row (`FOR NO KEY UPDATE`), then the waiting
Calls and the overdue offers with SKIP LOCKED — a Call being accepted at that moment is left
for the next round rather than waited for. Accepting is one conditional UPDATE of the Call
and takes no other lock first.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from hotline.calls.selectors import (
    LEG_ANSWERED,
    LEG_FINAL,
    LEG_READ_AFTER,
    LEG_RINGING,
    PoolMember,
    lingering_until,
    queue_pool,
    shift_of,
)
from hotline.models import (
    CATEGORY_ROLE,
    Call,
    CallAttempt,
    Category,
    Hotline,
    RingRotation,
    Role,
)
from hotline.phone import validate_e164
from hotline.telephony import client as twilio_api

log = logging.getLogger(__name__)

# Seconds past an offer's ring timeout before it is given up (its callback was lost):
# Twilio ends an unanswered leg at its timeout.
BATCH_GRACE = 5
# A stopped leg counts as busy until its final status, or this long after we stopped it:
# a leg answered in the instant we cancelled it hears "taken" within seconds.
LEG_LINGER = dt.timedelta(seconds=30)
# A waiting caller with no open offer is looked at again after this at the latest.
RECHECK = dt.timedelta(seconds=15)
MAX_DIAL_ROUNDS = 10
# A caller whose phones have rung this long with none answered gets one more phone rung
# (if someone is free who is not wanted by a caller waiting longer), and another after each
# further STAGGER, up to RING_MORE_MAX beyond the hotline's `ring_batch_size`: a phone that is
# not picked up costs the caller one stagger, not a whole ring time.
STAGGER = dt.timedelta(seconds=6)
RING_MORE_MAX = 3
# The supervisors' tier is offered a caller who waited this long with nobody of the
# service's own role free (or everyone of that role tried): not at once, as supervisors are
# also the line's escalation and help on calls; not a whole ring time either.
SUPERVISOR_AFTER = dt.timedelta(seconds=8)
# A volunteer whose phone rang unanswered (or busy) for a caller may be rung for that same
# caller once more, this long after, while the caller still waits for someone busy: only
# when nobody of the tier who was not yet tried for the caller is free (_pick). A declined
# offer is never repeated: the volunteer said no.
RETRY_AFTER = dt.timedelta(seconds=20)
RETRIES = 1
# A call in conversation has its people's legs read from Twilio this often by the sweep
# (conference.call_live_check): a lost hang-up callback must not leave the caller alone.
LIVE_CHECK = dt.timedelta(seconds=60)
# The caller's hold loop (voice/hold): the words every HOLD_WORDS_EVERY, and between them
# quiet rounds of at most HOLD_TICK seconds that end when the caller's next check is due,
# so that Twilio asks again — and the queue is looked at — then, not at the end of a fixed
# loop (hold_round).
HOLD_WORDS_EVERY = dt.timedelta(seconds=15)
HOLD_TICK = 5
HOLD_AFTER_WORDS = 1

REASON = Call.VoicemailReason

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
TERMINAL = set(LEG_FINAL)


def lower_statuses(status: str) -> list[str]:
    rank = STATUS_RANK[status]
    return ["", *(s for s, r in STATUS_RANK.items() if r < rank)]


def webhook_url(_call: Call, name: str, **query) -> str:
    """The absolute address Twilio is given for one of our webhooks (`name`, with `query`),
    on the call's own base (the host its incoming webhook came to) or the configured one."""
    # `_call`: `call` is also a query parameter (`?call=<pk>`).
    base = (_call.webhook_base or settings.TWILIO_WEBHOOK_BASE_URL or "").rstrip("/")
    path = reverse(name)
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return base + path


def _ring_deadline(hotline: Hotline, offered_at: dt.datetime) -> dt.datetime:
    return offered_at + dt.timedelta(seconds=hotline.ring_timeout + BATCH_GRACE)


def _role_of(call: Call) -> str:
    return CATEGORY_ROLE[Category(call.category or Category.PSYCHOLOGICAL)]


@dataclass
class _Plan:
    """What one dispatch round decided, to act on after the transaction."""

    dial: list[CallAttempt]
    to_voicemail: list[Call]
    stop: list[tuple[str, bool]]
    # Legs whose final status is late, to read from Twilio: (attempt id, leg SID).
    read: list[tuple[int, str]] = field(default_factory=list)


# --- the dispatcher ---------------------------------------------------------------------------


def hotline_dispatch(
    *, hotline_id: int, now: dt.datetime, answering: int | None = None, _round: int = 0
) -> None:
    """Offer the waiting callers of one hotline to the volunteers free now. Safe to call
    from anywhere at any time: it only ever acts on what it finds. `answering`: the call
    whose own webhook is answering right now (it hears voicemail in that answer rather
    than by a redirect)."""
    with transaction.atomic():
        plan = _plan(hotline_id, now)
    for sid, answered in plan.stop:
        twilio_api.call_stop(sid, answered=answered)
    for call in plan.to_voicemail:
        if call.pk != answering:
            twilio_api.call_redirect(
                call.call_sid, webhook_url(call, "twilio:voice-voicemail", call=call.pk)
            )
    failed = _dial(plan.dial, now)
    for attempt_id, sid in plan.read:
        # Settled as its lost callback would have been: a final status frees the
        # volunteer and dispatches again; "in-progress" on a leg we cancelled hangs it up.
        status = twilio_api.call_status(sid)
        if status:
            leg_status_update(attempt_id=attempt_id, status=status, now=now, found=True)
    if failed and _round < MAX_DIAL_ROUNDS:
        # A refused dial frees its seat at once: plan again (the refused volunteer is not
        # offered the same caller twice).
        hotline_dispatch(hotline_id=hotline_id, now=now, answering=answering, _round=_round + 1)


def _plan(hotline_id: int, now: dt.datetime) -> _Plan:
    plan = _Plan([], [], [])
    hotline = Hotline.objects.select_for_update(no_key=True).filter(pk=hotline_id).first()
    if hotline is None:
        return plan
    waiting = list(
        Call.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
        .filter(hotline=hotline, state=Call.State.RINGING)
        .order_by("arrived_at", "id")
    )
    if not waiting:
        return plan
    for call in waiting:
        call.hotline = hotline
    by_id = {c.pk: c for c in waiting}
    # Offers past their ring time whose callbacks never came: given up (stopped after the
    # transaction). Skipped if an accept holds one right now.
    overdue = list(
        CallAttempt.objects.select_for_update(skip_locked=True)
        .filter(
            call_id__in=by_id,
            result=CallAttempt.Result.PENDING,
            offered_at__lte=now - dt.timedelta(seconds=hotline.ring_timeout + BATCH_GRACE),
        )
        .values_list("pk", "leg_sid", "leg_status")
    )
    if overdue:
        CallAttempt.objects.filter(pk__in=[pk for pk, _, _ in overdue]).update(
            result=CallAttempt.Result.NO_ANSWER, ended_at=now
        )
        plan.stop = [(sid, status == "in-progress") for _, sid, status in overdue if sid]
    pending: dict[int, list[dt.datetime]] = {c: [] for c in by_id}
    tried: dict[int, set[int]] = {c: set() for c in by_id}
    # Per caller, the volunteers whose phones rang unanswered for them, with how often and
    # when the last such offer ended; any other outcome rules a volunteer out (`never`).
    missed: dict[int, dict[int, tuple[int, dt.datetime]]] = {c: {} for c in by_id}
    never: dict[int, set[int]] = {c: set() for c in by_id}
    # A phone answered for the caller (the volunteer is hearing the whisper): no more rung.
    answering: set[int] = set()
    # A call's tier while offers of it are open: "volunteers" while any phone of the
    # service's own role rings for it (supervisors are then added only after
    # SUPERVISOR_AFTER), else "supervisors".
    tier_of: dict[int, str] = {}
    for (
        call_id,
        volunteer_id,
        result,
        offered_at,
        tier,
        leg_status,
        ended_at,
    ) in CallAttempt.objects.filter(call_id__in=by_id).values_list(
        "call_id", "volunteer_id", "result", "offered_at", "tier", "leg_status", "ended_at"
    ):
        tried[call_id].add(volunteer_id)
        if result in _MISSED and ended_at is not None:
            times, last = missed[call_id].get(volunteer_id, (0, ended_at))
            missed[call_id][volunteer_id] = (times + 1, max(last, ended_at))
        else:
            never[call_id].add(volunteer_id)
        if result == CallAttempt.Result.PENDING:
            pending[call_id].append(offered_at)
            if leg_status in ("in-progress", "answered"):
                answering.add(call_id)
            if tier_of.get(call_id) != Call.Tier.VOLUNTEERS:
                tier_of[call_id] = tier
    pool = queue_pool(hotline=hotline, at=now, leg_linger=LEG_LINGER)
    by_role: dict[str, list[PoolMember]] = {}
    for member in pool:
        by_role.setdefault(member.role, []).append(member)
    taken: set[int] = {m.volunteer.pk for m in pool if m.busy}
    busy = set(taken)
    limit = dt.timedelta(seconds=hotline.max_queue_seconds)
    # Who may be rung again for each caller now (RETRY_AFTER), and when the next one may.
    again: dict[int, set[int]] = {c: set() for c in by_id}
    again_at: dict[int, dt.datetime] = {}
    for call_id, by_volunteer in missed.items():
        for volunteer_id, (times, last) in by_volunteer.items():
            if volunteer_id in never[call_id] or times > RETRIES:
                continue
            if last + RETRY_AFTER <= now:
                again[call_id].add(volunteer_id)
            elif call_id not in again_at or last + RETRY_AFTER < again_at[call_id]:
                again_at[call_id] = last + RETRY_AFTER

    # Nobody on shift who could ever take it: voicemail now.
    active: list[Call] = []
    for call in waiting:
        if not by_role.get(_role_of(call)) and not by_role.get(Role.SUPERVISOR):
            _to_voicemail(call, REASON.NOBODY_ON_SHIFT, now)
            plan.to_voicemail.append(call)
            if pending[call.pk]:
                plan.stop += _close_offers(call, now)
            continue
        active.append(call)

    # Offers: every waiting caller one volunteer before any gets a second, oldest first;
    # the tiers looked at for every phone (_pick). A caller's phones ringing unanswered for
    # a while: one more each STAGGER (fan_out).
    new: dict[int, list[CallAttempt]] = {c.pk: [] for c in active}
    fan_out = {c.pk: _fan_out(hotline, pending[c.pk], c.pk in answering, now) for c in active}
    # The caller's preference, decided once for this round of offers.
    prefers = {c.pk: _preference(c, by_role, tried[c.pk], now) for c in active}

    def offer(call: Call, member: PoolMember, tier: str) -> None:
        if tier_of.get(call.pk) != Call.Tier.VOLUNTEERS:
            tier_of[call.pk] = tier
        taken.add(member.volunteer.pk)
        tried[call.pk].add(member.volunteer.pk)
        new[call.pk].append(
            CallAttempt(
                call=call,
                volunteer=member.volunteer,
                tier=tier,
                batch=call.ring_batch + 1,
                offered_at=now,
            )
        )

    def pick(call: Call, again: set[int] | None = None) -> tuple[PoolMember | None, str]:
        return _pick(
            call,
            by_role,
            tried[call.pk],
            taken,
            tier_of.get(call.pk),
            fits=prefers[call.pk],
            all_first_tried=all(
                m.volunteer.pk in tried[call.pk] for m in by_role.get(_role_of(call), [])
            ),
            waited_a_ring=now - call.arrived_at >= SUPERVISOR_AFTER,
            again=again,
        )

    short = False  # a caller could have had another phone rung, had someone been free
    for round_ in range(max(fan_out.values(), default=0)):
        for call in active:
            if round_ >= fan_out[call.pk]:
                continue
            if len(pending[call.pk]) + len(new[call.pk]) > round_:
                continue
            member, tier = pick(call)
            if member is not None:
                offer(call, member, tier)
            else:
                short = True
    # Legs whose final status is late (its callback lost?) read after the transaction: an
    # offer past its ring time, and — when a caller could use their volunteer — legs we
    # stopped. No query unless one may be due.
    ring_time = dt.timedelta(seconds=hotline.ring_timeout)
    overdue_read = any(t + ring_time + LEG_READ_AFTER <= now for ts in pending.values() for t in ts)
    if overdue_read or (short and busy):
        plan.read = _legs_to_read(hotline, by_id, busy if short else set(), now)
    # A second ring for someone whose phone rang unanswered for a caller a while ago: only
    # for a caller with no phone ringing, and only of people no caller wanted above.
    for call in active:
        if again[call.pk] and not pending[call.pk] and not new[call.pk]:
            member, tier = pick(call, again[call.pk])
            if member is not None:
                offer(call, member, tier)

    linger = _UNKNOWN
    offered = [a for attempts in new.values() for a in attempts]
    for attempt in offered:
        try:
            validate_e164(attempt.volunteer.phone_number)
        except ValidationError:
            attempt.result = CallAttempt.Result.SKIPPED
            attempt.error = "unusable phone number"
            attempt.ended_at = now
            log.warning(
                "call %s: volunteer %s has an unusable number",
                attempt.call_id,
                attempt.volunteer_id,
            )
    if offered:
        CallAttempt.objects.bulk_create(offered)
        RingRotation.objects.bulk_create(
            [
                RingRotation(volunteer_id=volunteer_id, last_offered_at=now)
                for volunteer_id in sorted({a.volunteer_id for a in offered})
            ],
            update_conflicts=True,
            unique_fields=["volunteer"],
            update_fields=["last_offered_at"],
        )
        plan.dial = [a for a in offered if a.result == CallAttempt.Result.PENDING]
    for call in active:
        fresh = [a for a in new[call.pk] if a.result == CallAttempt.Result.PENDING]
        if not fresh and not pending[call.pk]:
            # Nobody is being offered this caller. Voicemail when everyone on shift who
            # could take it was tried, or the wait limit has passed; else keep waiting.
            eligible = (*by_role.get(_role_of(call), []), *by_role.get(Role.SUPERVISOR, []))
            reason = ""
            if all(m.volunteer.pk in tried[call.pk] for m in eligible):
                reason = REASON.NOBODY_ANSWERED
            elif now - call.arrived_at >= limit:
                reason = REASON.ALL_BUSY_TIMEOUT
            if reason:
                _to_voicemail(call, reason, now)
                plan.to_voicemail.append(call)
                continue
        if fresh:
            call.ring_batch += 1
            call.ring_tier = tier_of[call.pk]
            pending[call.pk].append(now)
        # The next look at this caller: an offer's ring time, the wait limit, the next
        # stagger or the supervisors' turn, or RECHECK; with no phone ringing for them,
        # also when a stopped leg whose final status is missing stops counting its
        # volunteer busy (a seat free with no callback to say so).
        checks = [now + RECHECK, *(_ring_deadline(hotline, t) for t in pending[call.pk])]
        # An offer's leg due a read (its final status late): once its ring time is over.
        checks += [read for t in pending[call.pk] if (read := t + ring_time + LEG_READ_AFTER) > now]
        if not pending[call.pk]:
            if linger is _UNKNOWN:
                linger = lingering_until(volunteer_ids=taken, at=now, leg_linger=LEG_LINGER)
            if linger is not None:
                checks.append(linger)
        if pending[call.pk] and call.pk not in answering:
            first = min(pending[call.pk])
            steps = (now - first) // STAGGER + 1
            if steps <= _ring_more_max(hotline):
                checks.append(first + steps * STAGGER)
        if call.arrived_at + SUPERVISOR_AFTER > now and by_role.get(Role.SUPERVISOR):
            checks.append(call.arrived_at + SUPERVISOR_AFTER)
        if call.arrived_at + limit > now:
            checks.append(call.arrived_at + limit)
        if call.pk in again_at:
            checks.append(again_at[call.pk])
        relax = call.arrived_at + dt.timedelta(seconds=hotline.preference_wait_seconds)
        if call.wants and relax > now:
            checks.append(relax)
        before = call.batch_deadline
        call.batch_deadline = min(checks)
        if not fresh and call.batch_deadline == before:
            continue
        Call.objects.filter(pk=call.pk).update(
            ring_batch=call.ring_batch,
            ring_tier=call.ring_tier,
            batch_deadline=call.batch_deadline,
            updated_at=now,
        )
    return plan


_UNKNOWN = object()


def _legs_to_read(
    hotline: Hotline, call_ids, volunteer_ids: set[int], now: dt.datetime
) -> list[tuple[int, str]]:
    """Legs whose final status is LEG_READ_AFTER late and that were never read: offers of
    these waiting calls past their ring time, and legs of these busy volunteers that we
    cancelled while they rang or hung up once answered. Marked read now, to be read from
    Twilio after the transaction (hotline_dispatch): each leg once; should that fail, the
    bounds of busy_q and BATCH_GRACE still free the volunteer."""
    due = now - LEG_READ_AFTER
    rows = list(
        CallAttempt.objects.filter(leg_sid__isnull=False, leg_read_at__isnull=True)
        .filter(
            Q(
                call_id__in=call_ids,
                result=CallAttempt.Result.PENDING,
                offered_at__lte=due - dt.timedelta(seconds=hotline.ring_timeout),
            )
            | (
                Q(volunteer_id__in=volunteer_ids, ended_at__lte=due)
                & Q(ended_at__gt=now - LEG_LINGER)
                & ~Q(result=CallAttempt.Result.PENDING)
                & (
                    Q(leg_status__in=LEG_ANSWERED)
                    | Q(result=CallAttempt.Result.CANCELLED, leg_status__in=LEG_RINGING)
                )
            )
        )
        .values_list("pk", "leg_sid")
    )
    if rows:
        CallAttempt.objects.filter(pk__in=[pk for pk, _ in rows]).update(leg_read_at=now)
    return rows


# Offers that may be repeated (RETRY_AFTER): the phone rang unanswered, or was busy.
_MISSED = (CallAttempt.Result.NO_ANSWER, CallAttempt.Result.BUSY)


def _ring_more_max(hotline: Hotline) -> int:
    """How many phones beyond `ring_batch_size` a caller may get by staggering: none for a
    hotline that rings one phone at a time."""
    return min(RING_MORE_MAX, hotline.ring_batch_size - 1)


def _fan_out(
    hotline: Hotline, pending: list[dt.datetime], answering: bool, now: dt.datetime
) -> int:
    """How many phones may ring for one caller now: the hotline's `ring_batch_size`, and
    one more for each STAGGER its oldest open offer has rung unanswered (up to
    `_ring_more_max`)."""
    if not pending or answering:
        return hotline.ring_batch_size
    more = min(_ring_more_max(hotline), (now - min(pending)) // STAGGER)
    return hotline.ring_batch_size + more


def _pick(
    call: Call,
    by_role: dict[str, list[PoolMember]],
    tried: set[int],
    taken: set[int],
    tier: str | None,
    *,
    fits=None,
    all_first_tried: bool,
    waited_a_ring: bool,
    again: set[int] | None = None,
) -> tuple[PoolMember | None, str]:
    """The next volunteer to offer `call` (rotation order), and their tier; only those who
    `fits` the caller's preference, when given. Among those not yet tried for the caller;
    or, given `again`, among those (phones that rang unanswered for this caller a while
    ago: the second ring)."""

    def free(role: str) -> PoolMember | None:
        for member in by_role.get(role, []):
            pk = member.volunteer.pk
            if pk in taken or (pk in tried if again is None else pk not in again):
                continue
            if fits is None or fits(member.volunteer):
                return member
        return None

    # Re-evaluated at every pick: the service's own role first, whatever tier the caller's
    # open offers are in (a counsellor who came free is rung while a supervisor's phone
    # rings, and a supervisor is added to unanswered counsellors' phones once it is time).
    member = free(_role_of(call))
    if member is not None:
        return member, Call.Tier.VOLUNTEERS
    # With phones of the service's own role still ringing for the caller, supervisors are
    # added only once the caller waited SUPERVISOR_AFTER.
    if waited_a_ring or (all_first_tried and tier != Call.Tier.VOLUNTEERS):
        member = free(Role.SUPERVISOR)
        if member is not None:
            return member, Call.Tier.SUPERVISORS
    return None, tier or Call.Tier.VOLUNTEERS


def fits_preference(volunteer, wants: str) -> bool:
    """Whether `volunteer` is what the caller asked for ("female", "lang:<code>")."""
    if wants == "female":
        return volunteer.gender == "female"
    if wants.startswith("lang:"):
        return wants.removeprefix("lang:") in (volunteer.languages or [])
    return True


def _preference(call: Call, by_role, tried: set[int], now: dt.datetime):
    """The caller's preference as a test of a volunteer, while it is honoured: someone on
    shift who fits and has not been tried for this caller, and the caller has waited less
    than the hotline's `preference_wait_seconds` (and its wait limit). Else None: relaxed,
    anyone who can take the call is offered it rather than losing the caller."""
    if not call.wants:
        return None
    hotline = call.hotline
    patience = min(hotline.preference_wait_seconds, hotline.max_queue_seconds)
    if now - call.arrived_at >= dt.timedelta(seconds=patience):
        return None
    eligible = (*by_role.get(_role_of(call), []), *by_role.get(Role.SUPERVISOR, []))
    if not any(
        m.volunteer.pk not in tried and fits_preference(m.volunteer, call.wants) for m in eligible
    ):
        return None
    return lambda volunteer: fits_preference(volunteer, call.wants)


def _to_voicemail(call: Call, reason: str, now: dt.datetime) -> None:
    call.state = Call.State.VOICEMAIL
    call.voicemail_reason = reason
    call.batch_deadline = None
    Call.objects.filter(pk=call.pk, state=Call.State.RINGING).update(
        state=Call.State.VOICEMAIL, voicemail_reason=reason, batch_deadline=None, updated_at=now
    )


def _close_offers(call: Call, now: dt.datetime) -> list[tuple[str, bool]]:
    """Close the open offers of a call that stopped waiting; their legs, to stop."""
    open_ = list(
        CallAttempt.objects.filter(call=call, result=CallAttempt.Result.PENDING).values_list(
            "pk", "leg_sid", "leg_status"
        )
    )
    CallAttempt.objects.filter(pk__in=[pk for pk, _, _ in open_]).update(
        result=CallAttempt.Result.CANCELLED, ended_at=now
    )
    return [(sid, status == "in-progress") for _, sid, status in open_ if sid]


def _dial(attempts: list[CallAttempt], now: dt.datetime) -> int:
    """Outside any transaction (REST calls are slow): place each planned leg. A refused
    dial is recorded on its attempt. Returns how many were refused."""
    failed = 0
    for attempt in attempts:
        call = attempt.call
        try:
            sid = twilio_api.call_create(
                to=attempt.volunteer.phone_number,
                from_=call.hotline.phone_number,
                url=webhook_url(call, "twilio:voice-offer", attempt=attempt.pk),
                status_callback=webhook_url(call, "twilio:voice-leg-status", attempt=attempt.pk),
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
    return failed


# --- entry points besides the dispatcher -----------------------------------------------------


def call_advance(*, call_id: int, from_batch: int, now: dt.datetime) -> Call | None:
    """Give up the open offers of batch `from_batch` and plan again. Does nothing when the
    call has moved on already (safe to call from several places at once)."""
    with transaction.atomic():
        call = (
            Call.objects.select_for_update(of=("self",))
            .filter(pk=call_id, state=Call.State.RINGING, ring_batch=from_batch)
            .first()
        )
        if call is None:
            return None
        stale = list(
            CallAttempt.objects.filter(
                call=call, batch=from_batch, result=CallAttempt.Result.PENDING
            ).values_list("pk", "leg_sid", "leg_status")
        )
        CallAttempt.objects.filter(pk__in=[pk for pk, _, _ in stale]).update(
            result=CallAttempt.Result.NO_ANSWER, ended_at=now
        )
    for _pk, sid, status in stale:
        if sid:
            twilio_api.call_stop(sid, answered=status == "in-progress")
    hotline_dispatch(hotline_id=call.hotline_id, now=now)
    return call


def call_tick(*, call: Call, now: dt.datetime) -> bool:
    """The caller's hold loop: a call past its next check is looked at now (lost
    callbacks, a restarted worker). True when that may have moved the call on."""
    if (
        call.state == Call.State.RINGING
        and call.batch_deadline is not None
        and call.batch_deadline <= now
    ):
        hotline_dispatch(hotline_id=call.hotline_id, now=now)
        return True
    return False


def hold_round(*, call: Call, now: dt.datetime) -> tuple[bool, int]:
    """The waiting caller's next hold round: whether it says the words (again after
    HOLD_WORDS_EVERY) and how many seconds of quiet follow — after the words
    HOLD_AFTER_WORDS, else until the caller's next check (`batch_deadline`), at most
    HOLD_TICK — so that Twilio asks for the next round when a look at the queue is due
    (call_tick). When the last words were said is kept in the cache; lost, the words come
    again sooner."""
    key = f"hold-words:{call.call_sid}"
    said = cache.get(key)
    if said is None or now.timestamp() - said >= HOLD_WORDS_EVERY.total_seconds():
        cache.set(key, now.timestamp(), timeout=int(HOLD_WORDS_EVERY.total_seconds()) * 4)
        return True, HOLD_AFTER_WORDS
    until = (call.batch_deadline - now).total_seconds() if call.batch_deadline else HOLD_TICK
    return False, min(HOLD_TICK, max(1, math.ceil(until)))


def calls_sweep(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Scheduled every minute: dispatch every hotline with a waiting call past its next
    check, the longest overdue first (at most `limit` hotlines a run); then read from
    Twilio the legs of the calls in conversation due a look (LIVE_CHECK, at most `limit`),
    for hang-up callbacks that were lost. Returns how many waiting calls were due."""
    now = now or timezone.now()
    due = list(
        Call.objects.filter(state=Call.State.RINGING, batch_deadline__lte=now)
        .order_by("batch_deadline", "id")
        .values_list("hotline_id", flat=True)[: limit * 20]
    )
    hotlines = list(dict.fromkeys(due))[:limit]
    for hotline_id in hotlines:
        try:
            hotline_dispatch(hotline_id=hotline_id, now=now)
        except Exception:
            log.exception("sweep: could not dispatch hotline %s", hotline_id)
    live = list(
        Call.objects.filter(state=Call.State.CONNECTED, batch_deadline__lte=now)
        .order_by("batch_deadline", "id")
        .values_list("pk", flat=True)[:limit]
    )
    if live:
        from hotline.calls import conference  # it builds on this module

        for call_id in live:
            try:
                conference.call_live_check(call_id=call_id, now=now)
            except Exception:
                log.exception("sweep: could not check live call %s", call_id)
    return len([h for h in due if h in hotlines])


def call_leave_queue(*, call_id: int, now: dt.datetime) -> Call | None:
    """The waiting caller pressed a key: voicemail now (`caller_chose`)."""
    with transaction.atomic():
        call = (
            Call.objects.select_for_update(of=("self",))
            .select_related("hotline")
            .filter(pk=call_id)
            .first()
        )
        if call is None:
            return None
        stop = []
        if call.state == Call.State.RINGING:
            _to_voicemail(call, REASON.CALLER_CHOSE, now)
            stop = _close_offers(call, now)
    for sid, answered in stop:
        twilio_api.call_stop(sid, answered=answered)
    if stop:
        hotline_dispatch(hotline_id=call.hotline_id, now=now)
    return call


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
    """The volunteer pressed a key on the whisper. 1 accepts; the first to accept wins.

    The win is one conditional UPDATE of the Call (state, who, when, shift), with no lock
    taken first: on PostgreSQL a second UPDATE of the same row in this transaction would
    check its foreign keys again (FOR KEY SHARE on the hotline) and wait behind a dispatch
    holding the hotline row."""
    attempt = attempt_for_offer(attempt_id=attempt_id)
    if attempt is None:
        return AcceptResult(None, False, "unknown")
    call = attempt.call
    if (digits or "").strip()[:1] != "1":
        declined = CallAttempt.objects.filter(
            pk=attempt.pk, result=CallAttempt.Result.PENDING
        ).update(result=CallAttempt.Result.DECLINED, ended_at=now)
        if declined:
            hotline_dispatch(hotline_id=call.hotline_id, now=now)
        return AcceptResult(attempt, False, "declined")
    shift = shift_of(volunteer=attempt.volunteer, hotline=call.hotline, at=now)
    with transaction.atomic():
        won = Call.objects.filter(pk=call.pk, state=Call.State.RINGING).update(
            state=Call.State.CONNECTED,
            answered_by=attempt.volunteer_id,
            answered_at=now,
            shift=shift,
            batch_deadline=now + LIVE_CHECK,
            updated_at=now,
        )
        if not won:
            CallAttempt.objects.filter(pk=attempt.pk, result=CallAttempt.Result.PENDING).update(
                result=CallAttempt.Result.LATE, ended_at=now
            )
            state = Call.objects.filter(pk=call.pk).values_list("state", flat=True).first()
            reason = "caller_gone" if state in (Call.State.ENDED, Call.State.VOICEMAIL) else "taken"
            return AcceptResult(attempt, False, reason)
        # The attempt may already be closed (its offer timed out while the volunteer was
        # pressing 1): the winner is on the call now, so it is open again.
        CallAttempt.objects.filter(pk=attempt.pk).update(
            result=CallAttempt.Result.ACCEPTED, ended_at=None
        )
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
    # The caller leaves the hold queue for the call's conference (hotline/calls/conference.py).
    twilio_api.call_redirect(
        call.call_sid, webhook_url(call, "twilio:voice-conference", call=call.pk)
    )
    call.state, call.answered_by_id, call.answered_at = (
        Call.State.CONNECTED,
        attempt.volunteer_id,
        now,
    )
    call.shift = shift
    # Not refresh_from_db: it would drop the loaded call and hotline the webhook answers with.
    attempt.result, attempt.ended_at = CallAttempt.Result.ACCEPTED, None
    return AcceptResult(attempt, True)


def leg_status_update(
    *, attempt_id: int, status: str, now: dt.datetime, found: bool = False
) -> None:
    """A volunteer leg's status callback. Replays and late statuses change nothing.

    A final status frees the volunteer (and closes any offer made on that leg): the queue
    is dispatched at once. A leg answered after we stopped it (Twilio ignores `canceled`
    on an answered call) is hung up with `completed`. `found`: the status was read from
    Twilio by the sweep, its callback lost (a caller left on the call hears why)."""
    if status not in STATUS_RANK:
        return
    attempt = CallAttempt.objects.select_related("call").filter(pk=attempt_id).first()
    if attempt is None:
        return
    moved = CallAttempt.objects.filter(pk=attempt.pk, leg_status__in=lower_statuses(status)).update(
        leg_status=status
    )
    if status not in LEG_FINAL:
        if (
            moved
            and status == "in-progress"
            and attempt.result == CallAttempt.Result.CANCELLED
            and attempt.leg_sid
            and not attempt.reoffers.filter(
                Q(result=CallAttempt.Result.PENDING)
                | Q(result=CallAttempt.Result.ACCEPTED, ended_at__isnull=True)
            ).exists()
        ):
            twilio_api.call_stop(attempt.leg_sid, answered=True)
        return
    result = {
        "busy": CallAttempt.Result.BUSY,
        "no-answer": CallAttempt.Result.NO_ANSWER,
        "failed": CallAttempt.Result.FAILED,
        "canceled": CallAttempt.Result.NO_ANSWER,
        # Answered but nobody pressed 1: a voicemail box, or the volunteer hung up.
        "completed": CallAttempt.Result.DECLINED,
    }[status]
    on_leg = Q(pk=attempt.pk) | Q(leg_of=attempt.pk)
    CallAttempt.objects.filter(on_leg, result=CallAttempt.Result.PENDING).update(
        result=result, ended_at=now
    )
    # The accepted volunteer hung up: no longer on a call. If the caller is still there,
    # the conference does not end by itself (the volunteer's endConferenceOnExit is off
    # for the key sequence): conference.volunteer_left ends it or hands it over.
    left = list(
        CallAttempt.objects.filter(
            on_leg,
            result=CallAttempt.Result.ACCEPTED,
            ended_at__isnull=True,
            call__state=Call.State.CONNECTED,
        ).select_related("call__hotline", "volunteer__user")
    )
    CallAttempt.objects.filter(
        on_leg, result=CallAttempt.Result.ACCEPTED, ended_at__isnull=True
    ).update(ended_at=now)
    if left:
        from hotline.calls import conference  # it builds on this module

        for live in left:
            conference.volunteer_left(attempt=live, now=now, found=found)
    if moved:
        hotline_dispatch(hotline_id=attempt.call.hotline_id, now=now)


def leg_conference_over(*, attempt: CallAttempt, now: dt.datetime) -> bool:
    """The accepted volunteer's `<Dial>` into the conference ended and the caller's call is
    over (the conference ended with the caller): we answer with a hang-up, so the leg is
    over — the volunteer is free from now on, whether or not the leg's final status
    callback ever arrives (before, a lost callback kept them busy for LEG_LINGER). True
    when the leg was the live one of an ended call."""
    ended = CallAttempt.objects.filter(
        pk=attempt.pk,
        result=CallAttempt.Result.ACCEPTED,
        leg_status__in=lower_statuses("completed"),
        call__state=Call.State.ENDED,
    ).update(leg_status="completed", ended_at=Coalesce(F("ended_at"), Value(now)))
    # Not dispatched from here: the leg hangs up only once Twilio has our answer, and a
    # volunteer dialled in that instant would find their phone busy. The next event frees
    # the seat (the leg's final status, if it arrives, dispatches at once); should that
    # callback be lost, the waiting callers are due a look now, so the next hold loop of
    # any of them offers the seat rather than the one after RECHECK.
    if ended:
        Call.objects.filter(
            hotline_id=attempt.call.hotline_id, state=Call.State.RINGING, batch_deadline__gt=now
        ).update(batch_deadline=now)
        if attempt.leg_of_id:
            # A caller offered on a leg answered for another: the phone is that leg, and
            # busy_q reads its status.
            CallAttempt.objects.filter(
                pk=attempt.leg_of_id, leg_status__in=lower_statuses("completed")
            ).update(leg_status="completed")
    return bool(ended)


def leg_answered(*, attempt: CallAttempt) -> None:
    """The leg asked for its whisper: it was answered, whatever its (possibly lost) status
    callbacks say. Counts the volunteer busy until the leg's final status."""
    CallAttempt.objects.filter(pk=attempt.pk, leg_status__in=lower_statuses("in-progress")).update(
        leg_status="in-progress"
    )


def leg_reoffer(*, attempt: CallAttempt, now: dt.datetime) -> CallAttempt | None:
    """A volunteer answered a leg whose caller was taken meanwhile: offer them, on the same
    leg, the longest-waiting caller they can take, if any (a new attempt with `leg_of`)."""
    volunteer = attempt.volunteer
    hotline_id = attempt.call.hotline_id
    with transaction.atomic():
        hotline = Hotline.objects.select_for_update(no_key=True).filter(pk=hotline_id).first()
        if hotline is None:
            return None
        pool = {
            m.volunteer.pk: m
            for m in queue_pool(hotline=hotline, at=now, leg_linger=dt.timedelta(0))
        }
        member = pool.get(volunteer.pk)
        if member is None or member.busy:
            return None
        # A caller's preference is honoured as the dispatcher honours it: while someone on
        # shift who fits (busy or not) has not been tried for them (_preference).
        by_role: dict[str, list[PoolMember]] = {}
        for m in pool.values():
            by_role.setdefault(m.role, []).append(m)
        waiting = (
            Call.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(hotline=hotline, state=Call.State.RINGING)
            .exclude(attempts__volunteer=volunteer)
            .order_by("arrived_at", "id")
        )
        for call in waiting[:20]:
            call.hotline = hotline
            if call.wants:
                tried = set(call.attempts.values_list("volunteer_id", flat=True))
                fits = _preference(call, by_role, tried, now)
                if fits is not None and not fits(volunteer):
                    continue  # this caller still waits for someone who fits
            if member.role == _role_of(call):
                tier = Call.Tier.VOLUNTEERS
            elif member.role == Role.SUPERVISOR:
                tier = Call.Tier.SUPERVISORS
            else:
                continue
            Call.objects.filter(pk=call.pk).update(
                ring_batch=F("ring_batch") + 1,
                ring_tier=tier,
                batch_deadline=_ring_deadline(hotline, now),
                updated_at=now,
            )
            reoffer = CallAttempt.objects.create(
                call=call,
                volunteer=volunteer,
                tier=tier,
                batch=call.ring_batch + 1,
                offered_at=now,
                leg_of=attempt,
                leg_status="in-progress",
            )
            RingRotation.objects.update_or_create(
                volunteer=volunteer, defaults={"last_offered_at": now}
            )
            call.hotline = hotline
            reoffer.call = call
            return reoffer
    return None
