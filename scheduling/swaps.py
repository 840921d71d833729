"""Swaps and drops: a volunteer gives up an assignment, another eligible volunteer takes it.

- Offer: volunteers the rule layer allows see it (`swaps_claimable`) and may claim it.
- Drop: as an offer, and eligible volunteers are also asked by SMS in fair order (fewest
  hours that week first), a small wave at a time, until one takes it (`drops_ask_due`, from
  a schedule). Coordinators see drops nobody has taken (`drops_uncovered`).

A claim is checked by `rules.check_assignment` (ignoring the seat being given up) and
refused with the rule's message. It is approved by a coordinator, or at once when the
hotline has `auto_approve_swaps`. Approval cancels the old assignment and creates the new
one (source "swap") through `scheduling.services`, in one transaction, so the old calendar
entry turns CANCELLED and the new one appears together; both volunteers get an SMS.
Nothing is possible once the shift has started.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import DurationField, ExpressionWrapper, F, Max, Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hotline.access import can_decide_swap, can_decide_swaps, managed_hotlines_q
from hotline.links import action_token, site_url
from hotline.models import ROLE_FLAG, Volunteer
from hotline.phone import normalize_phone
from hotline.sms.outbox import sms_send
from scheduling import rules, services
from scheduling.models import Assignment, DropAsk, Roster, SwapRequest
from scheduling.notify import notices_record, shift_words
from scheduling.rules import RuleViolation, Violation

# Codes of refusals that are not roster rules (the API answers them 409 like rule refusals).
STARTED = "started"
NOT_YOURS = "not_yours"
NOT_OPEN = "not_open"
NOT_PUBLISHED = "not_published"
ALREADY_OFFERED = "already_offered"
OWN_OFFER = "own_offer"


class SwapRefused(RuleViolation):
    """A swap step refused for a reason other than a roster rule (a started shift, someone
    else's offer); answered like a rule refusal."""

    def __init__(self, code: str, message: str):
        super().__init__([Violation(code, message)])


def _check_not_started(shift, now: dt.datetime) -> None:
    if shift.starts_at <= now:
        raise SwapRefused(
            STARTED, _("This shift has already started; it can no longer be swapped or dropped.")
        )


def _check_seat_held(swap: SwapRequest) -> None:
    """The seat on offer must still be the offerer's: a coordinator may have cancelled it
    since (the offer stays on record, but nobody can take or be given a removed seat)."""
    if not swap.assignment.is_active:
        raise SwapRefused(NOT_OPEN, _("This assignment has been cancelled."))


def _lock(swap: SwapRequest) -> SwapRequest:
    return (
        SwapRequest.objects.select_for_update(of=("self",))
        .select_related("assignment__shift__roster__hotline", "offered_by", "claimant")
        .get(pk=swap.pk)
    )


def _sms(volunteer: Volunteer, key: str, build, params: dict | None = None) -> None:
    with translation.override(volunteer.language):
        body = build()
    sms_send(
        to=volunteer.phone_number,
        body=body,
        dedupe_key=key,
        purpose="swap",
        recipient=volunteer,
        params=params,
    )


def _in_language(volunteer: Volunteer, build):
    with translation.override(volunteer.language):
        return str(build())


def drop_take_link(swap: SwapRequest, volunteer: Volunteer) -> str:
    """The signed, short-lived link of a drop ask's WeCom card: take the shift after login."""
    token = action_token(action="swap", object_id=swap.pk, volunteer_id=volunteer.pk)
    return site_url(reverse("scheduling:swap-take", args=[token]))


# --- offering ------------------------------------------------------------------------------


@transaction.atomic
def swap_offer(
    *,
    assignment: Assignment,
    volunteer: Volunteer,
    kind: str = SwapRequest.Kind.OFFER,
    note: str = "",
    now: dt.datetime | None = None,
) -> SwapRequest:
    """The volunteer offers (or drops) their own active assignment of a published roster."""
    now = now or timezone.now()
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("shift__roster__hotline")
        .get(pk=assignment.pk)
    )
    if assignment.volunteer_id != volunteer.pk:
        raise SwapRefused(NOT_YOURS, _("You can only offer your own shifts."))
    if not assignment.is_active:
        raise SwapRefused(NOT_OPEN, _("This assignment has been cancelled."))
    if not assignment.shift.roster.is_published:
        raise SwapRefused(NOT_PUBLISHED, _("This roster is not published yet."))
    _check_not_started(assignment.shift, now)
    if kind not in SwapRequest.Kind.values:
        raise SwapRefused("invalid", _("Unknown kind of request."))
    try:
        with transaction.atomic():
            swap = SwapRequest.objects.create(
                assignment=assignment,
                kind=kind,
                offered_by=volunteer,
                note=note.strip()[:300],
                created_at=now,
                next_ask_at=now if kind == SwapRequest.Kind.DROP else None,
            )
    except IntegrityError as exc:
        raise SwapRefused(ALREADY_OFFERED, _("You have already offered this shift.")) from exc
    if kind == SwapRequest.Kind.DROP:
        drop_ask_wave(swap=swap, now=now)
    return swap


@transaction.atomic
def swap_withdraw(
    *, swap: SwapRequest, volunteer: Volunteer, now: dt.datetime | None = None
) -> SwapRequest:
    now = now or timezone.now()
    swap = _lock(swap)
    if swap.offered_by_id != volunteer.pk:
        raise SwapRefused(NOT_YOURS, _("You can only withdraw your own offers."))
    if not swap.is_live:
        raise SwapRefused(NOT_OPEN, _("This offer is no longer open."))
    swap.status = SwapRequest.Status.WITHDRAWN
    swap.decided_at = now
    swap.next_ask_at = None
    swap.save(update_fields=["status", "decided_at", "next_ask_at"])
    return swap


# --- who may take it -----------------------------------------------------------------------


def swap_violations(
    swap: SwapRequest, volunteer: Volunteer, *, facts: rules.VolunteerFacts | None = None
) -> list[Violation]:
    """The rules `volunteer` would break by taking the offered seat (the giver's seat is
    left out of the counts)."""
    a = swap.assignment
    return rules.check_assignment(
        shift=a.shift, volunteer=volunteer, role=a.role, ignore=a, facts=facts
    )


def swaps_claimable(
    volunteer: Volunteer, *, now: dt.datetime, limit: int = 50
) -> list[SwapRequest]:
    """Open offers and drops the volunteer may take: shifts not started, roles they hold,
    and every rule holds. The volunteer's facts are loaded once (three queries), then one
    query per candidate offer, at most `limit` offers."""
    candidates = (
        SwapRequest.objects.filter(
            status=SwapRequest.Status.OPEN,
            assignment__status=Assignment.Status.ACTIVE,
            assignment__role__in=volunteer.roles,
            assignment__shift__starts_at__gt=now,
            assignment__shift__roster__status=Roster.Status.PUBLISHED,
        )
        .exclude(offered_by=volunteer)
        .select_related("assignment__shift__roster__hotline", "offered_by")
        .order_by("assignment__shift__starts_at", "id")[:limit]
    )
    candidates = list(candidates)
    if not candidates:
        return []
    # Around the shifts as planned: the rules judge a shift with a staged edit at its new times.
    planned = [s.assignment.shift.planned() for s in candidates]
    facts = rules.volunteers_facts(
        [volunteer],
        starts_at=min(shift.starts_at for shift in planned),
        ends_at=max(shift.ends_at for shift in planned),
    )[volunteer.pk]
    return [s for s in candidates if not swap_violations(s, volunteer, facts=facts)]


def drop_candidates(swap: SwapRequest, *, limit: int | None = None) -> list[Volunteer]:
    """Volunteers who may take the dropped seat and have not been asked yet, in fair order:
    fewest hours of shifts in that local week first, then who joined first."""
    a = swap.assignment
    shift = a.shift
    week_start, week_end = rules.local_week_bounds(shift.starts_at, shift.roster.hotline.tz)
    hours = ExpressionWrapper(
        F("assignments__shift__ends_at") - F("assignments__shift__starts_at"),
        output_field=DurationField(),
    )
    in_week = Q(
        assignments__status=Assignment.Status.ACTIVE,
        assignments__shift__starts_at__gte=week_start,
        assignments__shift__starts_at__lt=week_end,
    )
    pool = (
        Volunteer.objects.filter(is_active=True, **{ROLE_FLAG[a.role]: True})
        .exclude(pk=swap.offered_by_id)
        .exclude(drop_asks__swap=swap)
        .annotate(week_time=Sum(hours, filter=in_week, default=dt.timedelta(0)))
        .order_by("week_time", "id")
    )
    found: list[Volunteer] = []
    chunk: list[Volunteer] = []
    # The rules' facts (assignments near the shift, time off, availability) are loaded per
    # chunk of 100 volunteers in three queries, leaving one query per check.
    for volunteer in pool.iterator(chunk_size=100):
        chunk.append(volunteer)
        if len(chunk) == 100:
            if _eligible(swap, chunk, found, limit):
                return found
            chunk = []
    if chunk:
        _eligible(swap, chunk, found, limit)
    return found


def _eligible(swap: SwapRequest, chunk: list[Volunteer], found: list, limit: int | None) -> bool:
    """Append the volunteers of `chunk` who may take the seat to `found`, in order; True
    once `limit` is reached."""
    shift = swap.assignment.shift.planned()  # where the rules judge it (a staged edit moves it)
    facts = rules.volunteers_facts(chunk, starts_at=shift.starts_at, ends_at=shift.ends_at)
    for volunteer in chunk:
        if not swap_violations(swap, volunteer, facts=facts[volunteer.pk]):
            found.append(volunteer)
            if limit is not None and len(found) >= limit:
                return True
    return False


def drop_ask_wave(*, swap: SwapRequest, now: dt.datetime) -> int:
    """Ask the next few eligible volunteers by SMS. Returns how many were asked; 0 means
    nobody is left (the drop stays open and shows as uncovered)."""
    size = max(1, settings.DROP_WAVE_SIZE)
    last = swap.asks.aggregate(last=Max("wave"))["last"]
    wave = 0 if last is None else last + 1
    asked = 0
    for volunteer in drop_candidates(swap, limit=size):
        DropAsk.objects.create(swap=swap, volunteer=volunteer, wave=wave, asked_at=now)
        _sms(
            volunteer,
            f"drop:{swap.pk}:ask:{volunteer.pk}",
            lambda: (
                _("Can you take a hotline shift? %(shift)s. Reply TAKE %(id)d, or open %(link)s")
                % {
                    "shift": shift_words(swap.assignment),
                    "id": swap.pk,
                    "link": site_url(reverse("scheduling:swap-list")),
                }
            ),
            # For the channels that cannot carry the reply or the link (texts.py).
            params={
                "drop": swap.pk,
                "shift": _in_language(volunteer, lambda: shift_words(swap.assignment)),
                "link": site_url(reverse("scheduling:swap-list")),
                "action_link": drop_take_link(swap, volunteer),
            },
        )
        asked += 1
    minutes = settings.DROP_WAVE_MINUTES
    SwapRequest.objects.filter(pk=swap.pk).update(
        next_ask_at=now + dt.timedelta(minutes=minutes) if asked else None
    )
    return asked


def drops_ask_due(*, now: dt.datetime | None = None) -> int:
    """Scheduled: ask the next wave for every open drop that is due; expire requests whose
    shift has started. Returns the number of volunteers asked."""
    now = now or timezone.now()
    SwapRequest.objects.filter(
        status__in=SwapRequest.LIVE, assignment__shift__starts_at__lte=now
    ).update(status=SwapRequest.Status.EXPIRED, next_ask_at=None, decided_at=now)
    asked = 0
    due = SwapRequest.objects.filter(
        kind=SwapRequest.Kind.DROP, status=SwapRequest.Status.OPEN, next_ask_at__lte=now
    ).select_related("assignment__shift__roster__hotline")
    for swap in due:
        with transaction.atomic():
            locked = _lock(swap)
            if (
                locked.status == SwapRequest.Status.OPEN
                and locked.next_ask_at
                and locked.next_ask_at <= now
            ):
                asked += drop_ask_wave(swap=locked, now=now)
    return asked


def drops_uncovered(*, now: dt.datetime, by=None):
    """Drops nobody has taken yet, for coordinators (`by`: those on the hotlines they
    manage), soonest shift first."""
    qs = SwapRequest.objects.all()
    if by is not None:
        qs = qs.filter(managed_hotlines_q(by, "assignment__shift__roster__hotline__"))
    return (
        qs.filter(
            kind=SwapRequest.Kind.DROP,
            status=SwapRequest.Status.OPEN,
            assignment__shift__starts_at__gt=now,
        )
        .select_related("assignment__shift__roster__hotline", "offered_by")
        .order_by("assignment__shift__starts_at", "id")
    )


# --- claiming and deciding -----------------------------------------------------------------


@transaction.atomic
def swap_claim(
    *, swap: SwapRequest, volunteer: Volunteer, now: dt.datetime | None = None
) -> SwapRequest:
    """Take an open offer or drop; refused with the rule's message if a rule would break.
    Approved at once when the hotline approves swaps automatically."""
    now = now or timezone.now()
    swap = _lock(swap)
    if swap.status != SwapRequest.Status.OPEN:
        raise SwapRefused(
            NOT_OPEN, _("Someone else has already taken this shift, or the offer was withdrawn.")
        )
    if swap.offered_by_id == volunteer.pk:
        raise SwapRefused(OWN_OFFER, _("You cannot take your own shift."))
    _check_seat_held(swap)
    _check_not_started(swap.assignment.shift, now)
    violations = swap_violations(swap, volunteer)
    if violations:
        raise RuleViolation(violations)
    swap.status = SwapRequest.Status.CLAIMED
    swap.claimant = volunteer
    swap.claimed_at = now
    swap.next_ask_at = None
    swap.save(update_fields=["status", "claimant", "claimed_at", "next_ask_at"])
    if swap.assignment.shift.roster.hotline.auto_approve_swaps:
        return _execute(swap, by=None, now=now, auto=True)
    _sms(
        swap.offered_by,
        f"swap:{swap.pk}:claimed",
        lambda: (
            _("%(name)s offered to take your shift %(shift)s; a coordinator will confirm.")
            % {"name": volunteer.display_name, "shift": shift_words(swap.assignment)}
        ),
    )
    return swap


def _execute(swap: SwapRequest, *, by, now: dt.datetime, auto: bool) -> SwapRequest:
    """Carry out a swap. Approved automatically (the volunteers' own arrangement), or by a
    coordinator on a shift within the freeze window, it takes effect at once and both are
    told here. Approved by a coordinator on a published roster otherwise, it is staged
    like any coordinator's change: the roster's publish applies it and tells them."""
    _check_seat_held(swap)
    _check_not_started(swap.assignment.shift, now)
    at_once = auto or services.change_mode(shift=swap.assignment.shift, now=now) != services.STAGED
    old = services.assignment_cancel(assignment=swap.assignment, by=by, immediate=at_once, now=now)
    new = services.assignment_create(
        shift=swap.assignment.shift,
        volunteer=swap.claimant,
        role=old.role,
        by=by,
        source=Assignment.Source.SWAP,
        locked=old.locked,
        immediate=at_once,
        now=now,
    )
    swap.status = SwapRequest.Status.DONE
    swap.new_assignment = new
    swap.decided_by = by if getattr(by, "is_authenticated", False) else None
    swap.decided_at = now
    swap.auto_approved = auto
    swap.save(
        update_fields=["status", "new_assignment", "decided_by", "decided_at", "auto_approved"]
    )
    # The same shift, as the service locked and loaded it (with roster and hotline).
    old.shift = new.shift
    if not at_once:
        return swap  # staged: the publish tells them
    # Both volunteers hear about it here; the change sweep need not tell them again.
    notices_record([old, new], now=now)
    _sms(
        swap.offered_by,
        f"swap:{swap.pk}:done:giver",
        lambda: (
            _("Swap done: %(name)s takes your shift %(shift)s. It is no longer yours.")
            % {"name": swap.claimant.display_name, "shift": shift_words(old)}
        ),
    )
    _sms(
        swap.claimant,
        f"swap:{swap.pk}:done:taker",
        lambda: (
            _("Swap done: the shift %(shift)s is now yours. Thank you!")
            % {"shift": shift_words(new)}
        ),
    )
    return swap


@transaction.atomic
def swap_approve(*, swap: SwapRequest, by, now: dt.datetime | None = None) -> SwapRequest:
    """A coordinator approves a claimed swap. The rules are checked again by the services:
    if something changed since the claim, the refusal says which rule."""
    now = now or timezone.now()
    if not can_decide_swaps(by):
        raise SwapRefused(NOT_YOURS, _("Only coordinators approve swaps."))
    swap = _lock(swap)
    if not can_decide_swap(by, swap.assignment.shift.roster.hotline):
        raise SwapRefused(NOT_YOURS, _("This swap is on a hotline you do not manage."))
    if swap.status != SwapRequest.Status.CLAIMED:
        raise SwapRefused(NOT_OPEN, _("This swap is not waiting for approval."))
    return _execute(swap, by=by, now=now, auto=False)


@transaction.atomic
def swap_reject(
    *, swap: SwapRequest, by, reason: str = "", now: dt.datetime | None = None
) -> SwapRequest:
    """A coordinator turns a claim down; the giver keeps the shift."""
    now = now or timezone.now()
    if not can_decide_swaps(by):
        raise SwapRefused(NOT_YOURS, _("Only coordinators decide on swaps."))
    swap = _lock(swap)
    if not can_decide_swap(by, swap.assignment.shift.roster.hotline):
        raise SwapRefused(NOT_YOURS, _("This swap is on a hotline you do not manage."))
    if not swap.is_live:
        raise SwapRefused(NOT_OPEN, _("This swap is no longer open."))
    swap.status = SwapRequest.Status.REJECTED
    swap.decided_by = by
    swap.decided_at = now
    swap.reject_reason = reason.strip()[:300]
    swap.next_ask_at = None
    swap.save(update_fields=["status", "decided_by", "decided_at", "reject_reason", "next_ask_at"])
    for who in filter(None, [swap.offered_by, swap.claimant]):
        _sms(
            who,
            f"swap:{swap.pk}:rejected:{who.pk}",
            lambda: (
                _("The swap of %(shift)s was not approved; it stays with %(name)s.")
                % {"shift": shift_words(swap.assignment), "name": swap.offered_by.display_name}
            ),
        )
    return swap


# --- SMS replies ---------------------------------------------------------------------------

TAKE_REPLY = re.compile(r"^\s*(?:TAKE|接)\s*#?(\d{1,12})\s*$", re.IGNORECASE)


def sms_take_reply(*, from_number: str, body: str, now: dt.datetime | None = None) -> str | None:
    """Handle a `TAKE <id>` SMS reply to a drop ask. Returns the reply text, or None when the
    message is not a TAKE reply (so other handlers may look at it). Fits
    `hotline.sms.inbound.SMS_HANDLERS` through "scheduling.tasks.sms_reply_take"."""
    match = TAKE_REPLY.match(body or "")
    if not match:
        return None
    try:
        number = normalize_phone(from_number)
    except ValidationError:  # an unreadable sender is simply nobody we know
        return None
    volunteer = Volunteer.objects.filter(phone_number=number, is_active=True).first()
    if volunteer is None:
        return None
    swap = SwapRequest.objects.filter(pk=int(match.group(1)), asks__volunteer=volunteer).first()
    with translation.override(volunteer.language):
        if swap is None:
            return _("No such request for you.")
        try:
            swap = swap_claim(swap=swap, volunteer=volunteer, now=now)
        except RuleViolation as exc:
            return exc.message
        if swap.status == SwapRequest.Status.DONE:
            return _("Done: the shift is yours.")
        return _("Thanks! A coordinator will confirm.")
