"""The crisis alert chain.

An escalation's whole state is its row: `tier` and `round` say who was alerted last and
`next_advance_at` when the chain moves on if nobody acknowledges. Nothing depends on a task
staying alive: the `escalations-advance` schedule (every minute) advances whatever is due,
and any number of workers may run it at once.

Moving on is claimed twice over: the row is locked with `SELECT … FOR UPDATE SKIP LOCKED`
(a second worker skips it instead of waiting), and the step itself is a conditional UPDATE
on (id, tier, round) — on a database without row locks (SQLite) only one of two identical
steps changes a row. The alert rows and their SMS (outbox messages, sent after commit) are
written in the same transaction as the step: a worker killed midway leaves nothing behind,
and the next run does the whole step again. Each alert row is unique per (escalation, tier,
round, recipient) and its SMS dedupe key derives from it, so no one is alerted twice for
one round.

Tiers: 1 supervisors on shift on the call's hotline, 2 every active supervisor, 3 the
coordinators (see hotline.crisis.selectors.tier_recipients). An empty tier is skipped at
once; the last tier is alerted again every window (round 2, 3, …) until acknowledged.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hotline.access import can_escalate, volunteer_of
from hotline.conflicts import DomainConflict
from hotline.crisis.audit import audit_record
from hotline.crisis.selectors import LAST_TIER, crisis_staff_by_phone, tier_recipients
from hotline.followups.services import debrief_offer
from hotline.links import action_token, site_url
from hotline.models import Escalation, EscalationAlert, Message
from hotline.sms.outbox import messages_cancel, sms_send

log = logging.getLogger(__name__)

LIVE = (Escalation.Status.OPEN, Escalation.Status.ACKNOWLEDGED)
# A code is not handed out again for this long after its escalation opened, so a late
# `ACK 4821` for an old escalation cannot acknowledge a new one by accident.
CODE_QUIET_PERIOD = dt.timedelta(days=7)
CODE_TRIES = 20
CODES = [str(n) for n in range(1000, 10000)]


class EscalationConflict(DomainConflict):
    """The escalation is not in a state that allows this (already acknowledged/resolved)."""


def escalation_link(escalation: Escalation) -> str:
    """Absolute URL of the escalation's page (for SMS: hotline.links.site_url)."""
    return site_url(reverse("crisis:escalation", args=[escalation.pk]))


def _new_code(now: dt.datetime) -> str:
    """Four digits, unused by any open escalation and by any opened in the quiet period."""
    taken = set(
        Escalation.objects.filter(
            Q(status=Escalation.Status.OPEN) | Q(opened_at__gte=now - CODE_QUIET_PERIOD)
        ).values_list("code", flat=True)
    )
    # 9000 escalations in a week: fall back to "not open" (the DB's rule)
    return secrets.choice([code for code in CODES if code not in taken] or CODES)


def _live_for_call(call) -> Escalation | None:
    return Escalation.objects.filter(call=call, status__in=LIVE).first()


@transaction.atomic
def escalation_raise(
    *,
    call,
    by,
    reason: str,
    now: dt.datetime,
    source: str = Escalation.Source.MANUAL,
    report=None,
    risk_level: int | None = None,
) -> Escalation:
    """Open an escalation for `call` and alert its first non-empty tier, in one transaction.

    A call has at most one live (open or acknowledged) escalation: raising again — a report
    at risk 3 after a manual escalation, a double click — joins the live one and returns it.
    Raising by hand needs `can_escalate` (else PermissionDenied), for the web page and the
    API alike; a report's escalation is raised for its author by hotline.crisis.reports."""
    if source == Escalation.Source.MANUAL and not can_escalate(by, call):
        raise PermissionDenied
    live = _live_for_call(call)
    if live is not None:
        return _join(live, by=by, source=source, report=report, now=now)
    escalation = None
    for _attempt in range(CODE_TRIES):
        try:
            with transaction.atomic():
                escalation = Escalation.objects.create(
                    call=call,
                    hotline_id=call.hotline_id,
                    report=report,
                    source=source,
                    raised_by=by,
                    reason=reason[:2000],
                    risk_level=risk_level,
                    code=_new_code(now),
                    opened_at=now,
                    next_advance_at=now,
                )
            break
        except IntegrityError:
            live = _live_for_call(call)
            if live is not None:  # someone raised it a moment ago
                return _join(live, by=by, source=source, report=report, now=now)
    if escalation is None:
        raise RuntimeError("could not find a free acknowledgement code")
    audit_record(
        actor=by,
        action="escalation.open",
        obj=escalation,
        at=now,
        detail={
            "call": call.pk,
            "source": source,
            "risk_level": risk_level,
            "report": report.pk if report else None,
        },
    )
    escalation.hotline = call.hotline
    _step(escalation, now)
    # Care for the volunteer who took the call: a debrief with the supervisor on shift.
    debrief_offer(escalation=escalation, now=now)
    return escalation


def _join(live: Escalation, *, by, source, report, now) -> Escalation:
    if report is not None and live.report_id is None:
        Escalation.objects.filter(pk=live.pk, report__isnull=True).update(report=report)
        live.report = report
    audit_record(
        actor=by,
        action="escalation.join",
        obj=live,
        at=now,
        detail={"source": source, "report": report.pk if report else None},
    )
    return live


def _next_position(tier: int, round_: int) -> tuple[int, int]:
    if tier < LAST_TIER:
        return tier + 1, 1
    return tier, round_ + 1


def _step(escalation: Escalation, now: dt.datetime) -> bool:
    """Alert the next non-empty tier (or the last tier again). False when another worker
    moved the escalation first. Runs inside the caller's transaction."""
    from_tier, from_round = escalation.tier, escalation.round
    tier, round_ = from_tier, from_round
    skipped: list[int] = []
    while True:
        tier, round_ = _next_position(tier, round_)
        recipients = tier_recipients(escalation=escalation, tier=tier, at=now)
        if recipients or tier == LAST_TIER:
            break
        skipped.append(tier)
    window = dt.timedelta(minutes=escalation.hotline.ack_window_minutes)
    claimed = Escalation.objects.filter(
        pk=escalation.pk, status=Escalation.Status.OPEN, tier=from_tier, round=from_round
    ).update(tier=tier, round=round_, next_advance_at=now + window)
    if not claimed:
        return False
    escalation.tier, escalation.round = tier, round_
    escalation.next_advance_at = now + window
    for volunteer in recipients:
        _alert(escalation, volunteer, now)
    if not recipients:
        log.error(
            "escalation %s: nobody to alert (no supervisor, no coordinator with a phone)",
            escalation.pk,
        )
    audit_record(
        actor=None,
        action="escalation.alert",
        obj=escalation,
        at=now,
        detail={
            "tier": tier,
            "round": round_,
            "recipients": [v.pk for v in recipients],
            "skipped_empty_tiers": skipped,
        },
    )
    return True


def _alert(escalation: Escalation, volunteer, now: dt.datetime) -> EscalationAlert:
    alert, _created = EscalationAlert.objects.get_or_create(
        escalation=escalation,
        tier=escalation.tier,
        round=escalation.round,
        recipient=volunteer,
        defaults={"alerted_at": now},
    )
    with translation.override(volunteer.language or settings.LANGUAGE_CODE):
        body = _(
            "Hotline Roster: crisis escalation on %(hotline)s. Reply ACK %(code)s to take it. %(link)s"
        ) % {
            "hotline": escalation.hotline.name,
            "code": escalation.code,
            "link": escalation_link(escalation),
        }
        if escalation.round > 1 or escalation.tier > 1:
            # A repeated alert is never the identical text again (carriers refuse repeats).
            body = _("(alert %(n)s) ") % {"n": escalation.tier - 1 + escalation.round} + body
    # The key derives from the alert row: a retried step finds the message already queued.
    # Its texts for other channels (spoken, WeCom card, plain SMS) are made from `params`.
    message = sms_send(
        to=volunteer.phone_number,
        body=body,
        dedupe_key=alert.dedupe_key,
        purpose="escalation",
        recipient=volunteer,
        params=alert_params(escalation, volunteer),
        used_before=_channel_used_before(escalation, volunteer),
    )
    if alert.message_id != message.pk:
        EscalationAlert.objects.filter(pk=alert.pk).update(message=message)
        alert.message = message
    return alert


def alert_params(escalation: Escalation, volunteer) -> dict:
    """What the alert's texts are made of: no caller details, ever."""
    return {
        "escalation": escalation.pk,
        "hotline": escalation.hotline.name,
        "caller_id": escalation.hotline.phone_number,
        "code": escalation.code,
        "tier": escalation.tier,
        "round": escalation.round,
        "link": escalation_link(escalation),
        "action_link": site_url(
            reverse(
                "crisis:escalation-take",
                args=[
                    action_token(
                        action="escalation", object_id=escalation.pk, volunteer_id=volunteer.pk
                    )
                ],
            )
        ),
    }


def _channel_used_before(escalation: Escalation, volunteer) -> str:
    """The channel that carried this person's latest earlier alert for this escalation."""
    previous = (
        EscalationAlert.objects.filter(escalation=escalation, recipient=volunteer)
        .exclude(tier=escalation.tier, round=escalation.round)
        .exclude(message__isnull=True)
        .order_by("-alerted_at", "-id")
        .values_list("message__channel", flat=True)
        .first()
    )
    return previous or ""


def escalation_advance(*, escalation_id: int, now: dt.datetime | None = None) -> bool:
    """Move one escalation on if it is open and its window has passed. True if this call
    moved it; False if it was not due, not open, or another worker holds or moved it."""
    now = now or timezone.now()
    with transaction.atomic():
        escalation = (
            Escalation.objects.select_for_update(skip_locked=True)
            .filter(pk=escalation_id, status=Escalation.Status.OPEN, next_advance_at__lte=now)
            .first()
        )
        if escalation is None:
            return False
        return _step(escalation, now)


def escalations_advance_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """The schedule's job, each minute: advance every open escalation whose window has
    passed. One failing escalation never stops the others. Returns how many moved."""
    now = now or timezone.now()
    due = list(
        Escalation.objects.filter(status=Escalation.Status.OPEN, next_advance_at__lte=now)
        .order_by("next_advance_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    moved = 0
    for escalation_id in due:
        try:
            moved += escalation_advance(escalation_id=escalation_id, now=now)
        except Exception:
            log.exception("escalation %s could not be advanced; retrying next run", escalation_id)
    return moved


def _cancel_queued_alerts(escalation: Escalation, now: dt.datetime) -> int:
    """Alerts still waiting for a retry are not sent once someone has taken the escalation,
    and an alert call still ringing hands over to no further channel."""
    return messages_cancel(
        dedupe_prefix=f"esc:{escalation.pk}:",
        reason="not sent: the escalation was acknowledged first",
        now=now,
    )


@transaction.atomic
def escalation_acknowledge(
    *, escalation: Escalation, by, now: dt.datetime, channel: str = Escalation.Channel.WEB
) -> Escalation:
    """Someone has taken it: the chain stops. Raises EscalationConflict unless open."""
    updated = Escalation.objects.filter(pk=escalation.pk, status=Escalation.Status.OPEN).update(
        status=Escalation.Status.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=by,
        ack_channel=channel,
        next_advance_at=None,
    )
    escalation.refresh_from_db()
    if not updated:
        raise EscalationConflict(
            "not_open",
            _("This escalation was already acknowledged.")
            if escalation.status == Escalation.Status.ACKNOWLEDGED
            else _("This escalation is already resolved."),
        )
    cancelled = _cancel_queued_alerts(escalation, now)
    audit_record(
        actor=by,
        action="escalation.acknowledge",
        obj=escalation,
        at=now,
        detail={
            "channel": channel,
            "tier": escalation.tier,
            "round": escalation.round,
            "cancelled_sms": cancelled,
        },
    )
    return escalation


@transaction.atomic
def escalation_resolve(
    *,
    escalation: Escalation,
    by,
    outcome: str,
    notes: str = "",
    now: dt.datetime,
    channel: str = Escalation.Channel.WEB,
) -> Escalation:
    """Record the outcome. An open escalation resolved directly counts as acknowledged by
    the same person at the same moment. Raises EscalationConflict if already resolved."""
    if outcome not in Escalation.Outcome.values:
        raise ValidationError({"outcome": [_("Choose one of the outcomes.")]})
    was_open = Escalation.objects.filter(pk=escalation.pk, status=Escalation.Status.OPEN).update(
        acknowledged_at=now, acknowledged_by=by, ack_channel=channel
    )
    updated = Escalation.objects.filter(pk=escalation.pk, status__in=LIVE).update(
        status=Escalation.Status.RESOLVED,
        resolved_at=now,
        resolved_by=by,
        outcome=outcome,
        resolution_notes=notes[:5000],
        next_advance_at=None,
    )
    escalation.refresh_from_db()
    if not updated:
        raise EscalationConflict("not_open", _("This escalation is already resolved."))
    cancelled = _cancel_queued_alerts(escalation, now) if was_open else 0
    audit_record(
        actor=by,
        action="escalation.resolve",
        obj=escalation,
        at=now,
        detail={
            "outcome": outcome,
            "channel": channel,
            "was_open": bool(was_open),
            "cancelled_sms": cancelled,
        },
    )
    return escalation


def escalation_viewed(*, escalation: Escalation, by, now: dt.datetime, via: str = "web") -> None:
    audit_record(actor=by, action="escalation.view", obj=escalation, at=now, detail={"via": via})


# --- acknowledging by a key press on the alert call, or by a WeCom card's link ---------------


def escalation_ack_voice(*, message: Message, digits: str, now: dt.datetime) -> str:
    """A key press on an escalation's alert call. Returns what the caller hears: `1` takes
    the escalation (channel `voice`) for the person the call was for."""
    escalation = Escalation.objects.filter(pk=(message.params or {}).get("escalation")).first()
    volunteer = message.recipient
    language = (volunteer.language if volunteer else "") or settings.LANGUAGE_CODE
    with translation.override(language):
        if escalation is None or volunteer is None:
            return _("This alert is no longer valid.")
        if digits != "1":
            return _("Nothing was changed.")
        try:
            escalation_acknowledge(
                escalation=escalation, by=volunteer.user, now=now, channel=Escalation.Channel.VOICE
            )
        except EscalationConflict:
            escalation.refresh_from_db()
            if escalation.acknowledged_by_id:
                return _("Escalation %(code)s was already acknowledged by %(name)s.") % {
                    "code": escalation.code,
                    "name": _person(escalation.acknowledged_by),
                }
            return _("This escalation is already resolved.")
        return _("Thank you. The escalation is yours; the details are on the Hotline Roster site.")


def escalation_take_link(*, escalation: Escalation, by, now: dt.datetime) -> Escalation:
    """The signed link of a WeCom card, opened and confirmed by its own person."""
    return escalation_acknowledge(
        escalation=escalation, by=by, now=now, channel=Escalation.Channel.WECOM
    )


# --- acknowledging by SMS ---------------------------------------------------------------------

ACK_PATTERN = re.compile(r"^\s*(?:ACK|确认)\s*#?\s*(\d{4})\s*[.!。！]?\s*$", re.IGNORECASE)
ACK_WORD = re.compile(r"^\s*(?:ACK|确认)", re.IGNORECASE)


def _person(user) -> str:
    volunteer = volunteer_of(user)
    return volunteer.display_name if volunteer is not None else user.get_username()


def escalation_ack_sms(*, from_number: str, body: str, now: dt.datetime) -> str | None:
    """An SMS reply `ACK 4821`. Only a supervisor's or coordinator's number can acknowledge,
    and only they get a reply; an unknown number gets nothing at all (the text may come from
    anyone). An unknown code, or an escalation already taken, changes nothing.

    Returns None for a message that does not start with ACK (or 确认), so the incoming-SMS
    dispatcher can offer it to other handlers."""
    if not ACK_WORD.match(body or ""):
        return None
    staff = crisis_staff_by_phone(from_number)
    if staff is None:
        log.info("an SMS from a number that is no supervisor's or coordinator's was ignored")
        return None
    with translation.override(staff.language or settings.LANGUAGE_CODE):
        match = ACK_PATTERN.match(body)
        if match is None:
            return _("To acknowledge an escalation, reply ACK and its 4-digit code, e.g. ACK 4821.")
        code = match.group(1)
        escalation = (
            Escalation.objects.select_for_update()
            .filter(code=code, status=Escalation.Status.OPEN)
            .first()
        )
        if escalation is None:
            earlier = (
                Escalation.objects.filter(code=code, opened_at__gte=now - CODE_QUIET_PERIOD)
                .select_related("acknowledged_by__volunteer")
                .order_by("-opened_at", "-id")
                .first()
            )
            if earlier is not None and earlier.acknowledged_by_id:
                return _("Escalation %(code)s was already acknowledged by %(name)s.") % {
                    "code": code,
                    "name": _person(earlier.acknowledged_by),
                }
            return _("No open escalation has the code %(code)s.") % {"code": code}
        try:
            escalation_acknowledge(
                escalation=escalation, by=staff.user, now=now, channel=Escalation.Channel.SMS
            )
        except EscalationConflict:
            return _("Escalation %(code)s was already acknowledged.") % {"code": code}
        return _("Acknowledged: escalation %(code)s is yours. %(link)s") % {
            "code": code,
            "link": escalation_link(escalation),
        }
