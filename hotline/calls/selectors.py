"""Reads for call routing and the call pages. Each is a bounded number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import Col
from django.db.models.functions import Coalesce

from hotline import access
from hotline.models import (
    CATEGORY_ROLE,
    Call,
    CallAttempt,
    CallbackRequest,
    CallJoin,
    CallReport,
    Category,
    Escalation,
    Hotline,
    Role,
    Volunteer,
)
from scheduling.models import Assignment, Roster, Shift
from scheduling.selectors import volunteers_on_shift

# An accepted leg whose end we never heard about stops counting as "on a call" after this.
BUSY_HORIZON = dt.timedelta(hours=4)
# An offer nothing ever closed (its call's routing stopped without it) stops counting after
# this; the queue closes every offer past its ring time long before.
PENDING_HORIZON = dt.timedelta(minutes=10)


def hotline_open(hotline: Hotline, at: dt.datetime) -> bool:
    """The roster is the opening hours: open while a published shift covers `at`."""
    return Shift.objects.filter(
        roster__hotline=hotline,
        roster__status=Roster.Status.PUBLISHED,
        starts_at__lte=at,
        ends_at__gt=at,
    ).exists()


def hotline_for_number(number: str) -> Hotline | None:
    """The active hotline on `number` (a read: works while another connection writes)."""
    return Hotline.objects.filter(phone_number=number, is_active=True).first()


def hotline_with_open_flag(number: str, at: dt.datetime) -> Hotline | None:
    """The active hotline on `number`, with `.is_open` (see hotline_open).

    One query, in SQL written out and its row turned into a Hotline as the ORM would: the
    incoming-call webhook runs it on every call, and compiling the equivalent ORM query (an
    annotated Exists) cost more than running it. tests/hotline/calls/test_query_count.py checks
    it against `hotline_open`.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the thread's connection, not the proxy
    sql, attnames, converted = _hotline_open_plan(db)
    when = db.ops.adapt_datetimefield_value(at)
    # On PostgreSQL a prepared statement, planned once per connection (config/postgresql).
    prepared = getattr(db, "prepared_cursor", None)
    with prepared() if prepared else db.cursor() as cursor:
        cursor.execute(sql, [Roster.Status.PUBLISHED.value, when, when, number, True])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row[:-1])
    for i, col in converted:
        for convert in db.ops.get_db_converters(col) + col.field.get_db_converters(db):
            values[i] = convert(values[i], col, db)
    hotline = Hotline.from_db(db.alias, attnames, values)
    hotline.is_open = bool(row[-1])
    return hotline


_HOTLINE_OPEN_PLANS: dict[str, tuple[str, list[str], list[tuple[int, Col]]]] = {}


def _hotline_open_plan(db) -> tuple[str, list[str], list[tuple[int, Col]]]:
    """The SQL, the attribute names in column order, and the columns whose values need the
    backend's or the field's converters; built once per database vendor."""
    plan = _HOTLINE_OPEN_PLANS.get(db.vendor)
    if plan is None:
        qn = db.ops.quote_name
        fields = Hotline._meta.concrete_fields
        hotline_t = Hotline._meta.db_table
        shift_t, roster_t = qn(Shift._meta.db_table), qn(Roster._meta.db_table)
        columns = ", ".join(f"h.{qn(f.column)}" for f in fields)
        # Names come from model metadata; every value is a query parameter.
        sql = (
            f"SELECT {columns}, EXISTS (SELECT 1 FROM {shift_t} s INNER JOIN {roster_t} r"  # noqa: S608
            " ON s.roster_id = r.id WHERE r.hotline_id = h.id AND r.status = %s"
            " AND s.starts_at <= %s AND s.ends_at > %s)"
            f" FROM {qn(hotline_t)} h WHERE h.phone_number = %s AND h.is_active = %s"
        )
        cols = [(i, f.get_col(hotline_t)) for i, f in enumerate(fields)]
        converted = [
            (i, col)
            for i, col in cols
            if db.ops.get_db_converters(col) or col.field.get_db_converters(db)
        ]
        plan = _HOTLINE_OPEN_PLANS[db.vendor] = (sql, [f.attname for f in fields], converted)
    return plan


def tier_role(call: Call, tier: str) -> str:
    if tier == Call.Tier.SUPERVISORS:
        return Role.SUPERVISOR
    return CATEGORY_ROLE[Category(call.category or Category.PSYCHOLOGICAL)]


def busy_q(*, at: dt.datetime, leg_linger: dt.timedelta) -> Q:
    """Whether a volunteer (OuterRef "pk") is busy at `at`: being offered a call (a pending
    attempt), on a call (accepted, not ended, within BUSY_HORIZON), in a live call's
    conference by a join or being rung into one (in_conference_q), or still holding a phone
    leg whose final status has not arrived: an answered leg we stopped or gave up on
    (Twilio ignores a cancel on an answered leg), or whose caller hung up, for at most
    `leg_linger` after that; a leg we cancelled while it rang, for CANCEL_LINGER. An offer
    given up after its ring time and never answered is over: Twilio ended it at its
    timeout."""
    return Q(in_conference_q(at=at)) | Q(
        Exists(
            CallAttempt.objects.filter(volunteer=OuterRef("pk")).filter(
                Q(result=CallAttempt.Result.PENDING, offered_at__gt=at - PENDING_HORIZON)
                | Q(
                    result=CallAttempt.Result.ACCEPTED,
                    ended_at__isnull=True,
                    offered_at__gt=at - BUSY_HORIZON,
                )
                | (
                    Q(leg_sid__isnull=False)
                    & ~Q(result=CallAttempt.Result.PENDING)
                    & (
                        Q(leg_status__in=LEG_ANSWERED, ended_at__gt=at - leg_linger)
                        # Cancelled while we read it ringing: answered in that instant? The
                        # whisper's request (marking it answered) comes within a second.
                        | Q(
                            result=CallAttempt.Result.CANCELLED,
                            leg_status__in=LEG_RINGING,
                            ended_at__gt=at - CANCEL_LINGER,
                        )
                    )
                )
                # A caller offered on a leg answered for another (`leg_of`, no SID of its own):
                # the phone is that leg, up until the leg's own final status.
                | (
                    ~Q(result=CallAttempt.Result.PENDING)
                    & Q(leg_of__leg_status__in=LEG_ANSWERED, ended_at__gt=at - leg_linger)
                )
            )
        )
    )


# Twilio's statuses of a phone leg: before it is answered, answered, final.
LEG_RINGING = ("", "queued", "initiated", "ringing")
LEG_ANSWERED = ("in-progress", "answered")
LEG_FINAL = ("completed", "busy", "no-answer", "failed", "canceled")
CANCEL_LINGER = dt.timedelta(seconds=5)
# A leg's final status comes within a second of its end. One this late — an offer past its
# ring time, a leg we cancelled or hung up — is read from Twilio when a waiting caller
# needs its volunteer (queue._legs_to_read): its callback may be lost, and the volunteer
# would count busy until the bounds above.
LEG_READ_AFTER = dt.timedelta(seconds=2)
# A supervisor asked to join a live call whose phone never answered stops counting busy
# this long after (a join rings for the hotline's ring time, at most 60 s).
JOIN_RING = dt.timedelta(seconds=90)


def in_conference_q(*, at: dt.datetime) -> Exists:
    """Whether a volunteer (OuterRef "pk") is in a live call's conference by a join —
    listening, speaking, or handed the call by a warm transfer — or their phone rings for
    one: a join not ended, of a call still in conversation (when the call ends, so does
    its conference, whatever became of the join's own callbacks); one never answered, only
    for JOIN_RING after it was asked for."""
    return Exists(
        CallJoin.objects.filter(
            Q(joined_at__isnull=False) | Q(requested_at__gt=at - JOIN_RING),
            volunteer=OuterRef("pk"),
            ended_at__isnull=True,
            call__state=Call.State.CONNECTED,
            requested_at__gt=at - BUSY_HORIZON,
        )
    )


def lingering_until(
    *, volunteer_ids, at: dt.datetime, leg_linger: dt.timedelta
) -> dt.datetime | None:
    """The earliest time after `at` one of these volunteers' stopped legs stops counting
    them busy (busy_q) though its final status never came, or is due a read from Twilio
    (LEG_READ_AFTER, a leg of its own not read yet), or None: when a waiting caller should
    be looked at again, as nothing else will tell us. One query."""
    until = None
    for status, carried, result, ended, own, read in CallAttempt.objects.filter(
        Q(leg_sid__isnull=False) | Q(leg_of__isnull=False),
        volunteer_id__in=volunteer_ids,
        ended_at__gt=at - max(leg_linger, CANCEL_LINGER),
    ).values_list(
        "leg_status", "leg_of__leg_status", "result", "ended_at", "leg_sid", "leg_read_at"
    ):
        if carried is not None:  # on a leg answered for another caller: that leg's status
            status = carried
        if status in LEG_ANSWERED and result != CallAttempt.Result.PENDING:
            free = ended + leg_linger
        elif status in LEG_RINGING and result == CallAttempt.Result.CANCELLED:
            free = ended + CANCEL_LINGER
        else:
            continue
        if own and read is None and ended + LEG_READ_AFTER > at:
            free = ended + LEG_READ_AFTER
        if free > at and (until is None or free < until):
            until = free
    return until


@dataclass
class PoolMember:
    volunteer: Volunteer
    role: str
    busy: bool


def queue_pool(*, hotline: Hotline, at: dt.datetime, leg_linger: dt.timedelta) -> list[PoolMember]:
    """Everyone on shift on `hotline` now, with the role they are on shift in and whether
    they are busy (busy_q), in fair-rotation order: longest since their last offered call
    first (never offered first). One query."""
    on_now = Assignment.objects.filter(
        status=Assignment.Status.ACTIVE,
        volunteer=OuterRef("pk"),
        shift__roster__hotline=hotline,
        shift__roster__status=Roster.Status.PUBLISHED,
        shift__starts_at__lte=at,
        shift__ends_at__gt=at,
    )
    rows = (
        volunteers_on_shift(hotline, at)
        .annotate(
            shift_role=Subquery(on_now.order_by("shift__starts_at").values("role")[:1]),
            is_busy=ExpressionWrapper(
                busy_q(at=at, leg_linger=leg_linger), output_field=BooleanField()
            ),
        )
        .order_by(F("ring_rotation__last_offered_at").asc(nulls_first=True), "id")
    )
    return [PoolMember(v, v.shift_role, v.is_busy) for v in rows]


def call_for_hold(call_id: int) -> Call | None:
    """The waiting caller's call with its hotline, `ahead` (callers of the hotline waiting
    before it) and `being_offered` (a phone is ringing for it now). One query: the hold
    loop asks every few seconds for every waiting caller."""
    ahead = (
        Call.objects.filter(
            Q(arrived_at__lt=OuterRef("arrived_at"))
            | Q(arrived_at=OuterRef("arrived_at"), pk__lt=OuterRef("pk")),
            hotline_id=OuterRef("hotline_id"),
            state=Call.State.RINGING,
        )
        .order_by()
        .values("hotline_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Call.objects.select_related("hotline")
        .annotate(
            ahead=Coalesce(Subquery(ahead), 0),
            being_offered=Exists(
                CallAttempt.objects.filter(call=OuterRef("pk"), result=CallAttempt.Result.PENDING)
            ),
        )
        .filter(pk=call_id)
        .first()
    )


def shift_of(*, volunteer: Volunteer, hotline: Hotline, at: dt.datetime) -> Shift | None:
    """The published shift of `hotline` the volunteer is on at `at`, if any."""
    assignment = (
        Assignment.objects.filter(
            volunteer=volunteer,
            status=Assignment.Status.ACTIVE,
            shift__roster__hotline=hotline,
            shift__roster__status=Roster.Status.PUBLISHED,
            shift__starts_at__lte=at,
            shift__ends_at__gt=at,
        )
        .select_related("shift")
        .order_by("shift__starts_at")
        .first()
    )
    return assignment.shift if assignment else None


def voicemail_recipients(*, hotline: Hotline, at: dt.datetime) -> list[Volunteer]:
    """Who hears about a new voicemail: the volunteers of the current shift (every role,
    supervisors included) and the coordinators who manage the line
    (`hotline_coordinators_q`) with an active Volunteer record, which carries their phone.
    One entry per phone number. Two queries."""
    on_shift = list(volunteers_on_shift(hotline, at))
    coordinators = Volunteer.objects.filter(is_active=True).filter(
        access.hotline_coordinators_q(hotline)
    )
    seen: set[str] = set()
    result = []
    for volunteer in [*coordinators.distinct().order_by("id"), *on_shift]:
        if volunteer.phone_number and volunteer.phone_number not in seen:
            seen.add(volunteer.phone_number)
            result.append(volunteer)
    return result


def calls_visible_to(user) -> QuerySet[Call]:
    """Coordinators: every call of the hotlines they manage. Supervisors: every call of the
    hotlines they work on, and the calls they answered. Other volunteers: only the calls
    they answered."""
    qs = Call.objects.select_related("hotline", "answered_by").order_by("-arrived_at", "-id")
    if access.is_coordinator(user):
        hotlines = access.managed_hotline_ids(user)
        return qs if hotlines is None else qs.filter(hotline_id__in=sorted(hotlines))
    volunteer = access.active_volunteer_of(user)
    if volunteer is None:
        return qs.none()
    if volunteer.is_supervisor:
        return qs.filter(
            Q(answered_by=volunteer) | Q(hotline__in=access.supervised_hotlines(volunteer))
        )
    return qs.filter(answered_by=volunteer)


def calls_filtered(calls: QuerySet[Call], filters: dict, *, tz) -> QuerySet[Call]:
    """Narrow a visible-calls queryset by the calls list's filters (CallFilterForm's cleaned
    data): days in `tz`, outcome, category (the report's, else the menu's), risk level
    (the report's), who answered, the caller's last four digits."""
    if filters.get("start"):
        start = dt.datetime.combine(filters["start"], dt.time(0), tzinfo=tz)
        calls = calls.filter(arrived_at__gte=start)
    if filters.get("end"):
        end = dt.datetime.combine(filters["end"] + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
        calls = calls.filter(arrived_at__lt=end)
    if filters.get("outcome"):
        calls = calls.filter(outcome=filters["outcome"])
    if filters.get("category"):
        category = filters["category"]
        calls = calls.filter(
            Q(report__category=category) | Q(report__isnull=True, category=category)
        )
    if filters.get("risk") is not None:
        calls = calls.filter(report__risk_level=filters["risk"])
    if filters.get("answered_by"):
        calls = calls.filter(answered_by=filters["answered_by"])
    if filters.get("last4"):
        calls = calls.filter(caller_last4=filters["last4"])
    return calls


def with_report_and_escalation(calls: QuerySet[Call]) -> QuerySet[Call]:
    """Annotate `report_id` (its report, if filed), `report_risk` and `escalation_id` (its
    latest escalation), in the same query, for links from a list."""
    latest = Escalation.objects.filter(call=OuterRef("pk")).order_by("-opened_at", "-id")
    report = CallReport.objects.filter(call=OuterRef("pk"))
    return calls.annotate(
        report_pk=Subquery(report.values("pk")[:1]),
        report_risk=Subquery(report.values("risk_level")[:1]),
        escalation_pk=Subquery(latest.values("pk")[:1]),
    )


REPEAT_WINDOW = dt.timedelta(days=30)


def with_earlier_calls(calls: QuerySet[Call]) -> QuerySet[Call]:
    """Annotate `earlier_calls`: how many calls came from the same number (same caller hash)
    in the 30 days before each call. Calls without a caller number count 0. One correlated
    subquery on the caller-hash index, in the same query."""
    earlier = (
        Call.objects.filter(
            caller_hash=OuterRef("caller_hash"),
            arrived_at__lt=OuterRef("arrived_at"),
            arrived_at__gte=ExpressionWrapper(
                OuterRef("arrived_at") - REPEAT_WINDOW, output_field=DateTimeField()
            ),
        )
        .exclude(caller_hash="")
        .order_by()
        .values("caller_hash")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return calls.annotate(earlier_calls=Coalesce(Subquery(earlier), 0))


def callbacks_visible_to(user, *, open_only: bool = False) -> QuerySet[CallbackRequest]:
    """The callback queue: coordinators that of the hotlines they manage, supervisors that of
    the hotlines they work on, others none."""
    qs = CallbackRequest.objects.select_related("call", "hotline", "done_by__volunteer").order_by(
        "requested_at", "id"
    )
    if open_only:
        qs = qs.filter(done_at__isnull=True)
    if access.is_coordinator(user):
        return qs.filter(access.managed_hotlines_q(user, "hotline__"))
    if not access.can_see_callbacks(user):
        return qs.none()
    return qs.filter(hotline__in=access.supervised_hotlines(access.volunteer_of(user)))


def recordings_visible_to(user) -> QuerySet[Call]:
    """Calls whose voicemail `user` may hear: the people who work the callback queue
    (`can_see_callbacks`), for the calls they may see and the hotlines whose queue they see
    — coordinators every call, supervisors their hotlines'. Only calls with a recording."""
    if not access.can_see_callbacks(user):
        return Call.objects.none()
    qs = calls_visible_to(user).exclude(recording_sid="")
    if access.is_coordinator(user):
        return qs.filter(access.managed_hotlines_q(user, "hotline__"))
    return qs.filter(hotline__in=access.supervised_hotlines(access.volunteer_of(user)))


def with_recording_flag(calls: QuerySet[Call], user) -> QuerySet[Call]:
    """Annotate `recording_audible`: whether `user` may hear the call's voicemail
    (recordings_visible_to), in the same query."""
    return calls.annotate(
        recording_audible=Exists(recordings_visible_to(user).filter(pk=OuterRef("pk")))
    )
