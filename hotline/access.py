"""Who may do what: the personas of DESIGN.md, decided in one place.

Three kinds of function live here, and nowhere else:

- who someone is: `is_coordinator`, `volunteer_of`, `active_volunteer_of`, `is_crisis_staff`;
- what they may do: the `can_*` predicates. Page views and the DRF permission classes
  (api/permissions.py) only wrap them, and services that refuse a change ask them too;
- where: which hotlines (and organisations) a user manages or works on, as query filters
  (`managed_hotlines_q`, `managed_organisations_q`, `supervised_hotlines`) that the
  visibility selectors (`calls_visible_to`, `rosters_visible_to`, …) build on.

Today a coordinator manages every hotline and every organisation. Scoping coordinators to
their own organisation and its branches changes `managed_hotlines_q` and
`managed_organisations_q`, and every list, page and API that shows a coordinator rows
follows.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet

from hotline.models import Call, FollowUp, Hotline, Volunteer
from scheduling.models import Assignment, Roster

COORDINATORS_GROUP = "coordinators"

# Filters that match every row, or no row, of whatever model they filter, without a join:
# `qs.filter(EVERY_ROW)` adds no WHERE clause, and OR-ed with another filter it wins.
EVERY_ROW = ~Q(pk__in=[])
NO_ROW = Q(pk__in=[])


# --- who someone is ---------------------------------------------------------------------------


def is_coordinator(user: User | AnonymousUser | None) -> bool:
    """Staff, superusers and members of the coordinators group (active logins only)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or user.is_superuser:
        return True
    # Cached per user object: permission checks run several times per request.
    cached = getattr(user, "_is_coordinator", None)
    if cached is None:
        cached = user.groups.filter(name=COORDINATORS_GROUP).exists()
        user._is_coordinator = cached
    return cached


def coordinator_q(user_path: str = "user__") -> Q:
    """`is_coordinator` as a query filter, for rows related to a user through `user_path`
    (active users only), so lists of coordinators agree with the permission check."""
    return Q(**{f"{user_path}is_active": True}) & (
        Q(**{f"{user_path}is_staff": True})
        | Q(**{f"{user_path}is_superuser": True})
        | Q(**{f"{user_path}groups__name": COORDINATORS_GROUP})
    )


def volunteer_of(user) -> Volunteer | None:
    """The user's Volunteer record, or None (coordinators need not have one)."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.volunteer
    except ObjectDoesNotExist:  # the reverse one-to-one's RelatedObjectDoesNotExist
        return None


# --- signing in (docs/security-logins.md) ------------------------------------------------


def is_supervisor(user) -> bool:
    volunteer = volunteer_of(user)
    return volunteer is not None and volunteer.is_supervisor


def holds_privileged_role(user) -> bool:
    """Staff, superusers, coordinators and supervisors: the people who see other people's
    calls and notes. They sign in with two factors and are signed out sooner when idle."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return is_coordinator(user) or is_supervisor(user)


def two_factor_required(user) -> bool:
    """Must this user confirm a one-time code after their password? (`OTP_REQUIRED`)."""
    return bool(settings.OTP_REQUIRED) and holds_privileged_role(user)


def can_unlock_login(user, *, username: str | None = None, ip_address: str | None = None) -> bool:
    """Who may lift a sign-in lockout. Superusers: any. Coordinators: accounts that are
    not staff (only superusers change staff accounts), never a whole client address (that
    would also reset the count of guesses against staff accounts from it)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if ip_address or not username or not is_coordinator(user):
        return False
    target = User.objects.filter(username=username).only("is_staff", "is_superuser").first()
    return target is None or not (target.is_staff or target.is_superuser)


def active_volunteer_of(user) -> Volunteer | None:
    """The user's Volunteer record if it is active, else None."""
    volunteer = volunteer_of(user)
    return volunteer if volunteer is not None and volunteer.is_active else None


def is_crisis_staff(user) -> bool:
    """Supervisors (active, with the supervisor role) and coordinators: they receive alerts,
    see every report and escalation, acknowledge and resolve."""
    if is_coordinator(user):
        return True
    volunteer = active_volunteer_of(user)
    return bool(volunteer and volunteer.is_supervisor)


# --- what they may do -------------------------------------------------------------------------


def can_manage_rosters(user) -> bool:
    """Use the coverage board: assign by hand, auto-fill, publish (coordinators)."""
    return is_coordinator(user)


def can_override_rules(user) -> bool:
    """Set aside the overridable roster rules (availability, time off) with a recorded
    reason (coordinators)."""
    return is_coordinator(user)


def can_decide_swaps(user) -> bool:
    """Approve or turn down a claimed swap (coordinators)."""
    return is_coordinator(user)


def can_see_open_slots(user) -> bool:
    """Hold the calendar feed of every unfilled slot (coordinators)."""
    return is_coordinator(user)


def can_see_failed_sms(user) -> bool:
    """Read the list of SMS that could not be delivered (coordinators)."""
    return is_coordinator(user)


def can_see_callbacks(user) -> bool:
    """Crisis staff (coordinators and active supervisors) work the callback queue."""
    return is_crisis_staff(user)


def can_report_on(user, call: Call) -> bool:
    """The volunteer who answered the call files its report. A voicemail (or a callback
    request) nobody answered is reported by whoever handles it: a supervisor, or the
    volunteer a follow-up on it is assigned to. Coordinators without a volunteer record
    cannot author reports."""
    volunteer = active_volunteer_of(user)
    if volunteer is None:
        return False
    if call.answered_by_id is not None:
        return call.answered_by_id == volunteer.pk
    if call.outcome != Call.Outcome.VOICEMAIL and not call.recording_sid:
        return False
    return (
        volunteer.is_supervisor or FollowUp.objects.filter(call=call, assignee=volunteer).exists()
    )


def can_escalate(user, call: Call) -> bool:
    """Who may raise an escalation on `call` by hand (the web page and the API alike): the
    volunteer who answered it, and crisis staff."""
    return can_report_on(user, call) or is_crisis_staff(user)


def is_active_supervisor(user) -> bool:
    """An active volunteer record with the supervisor role (coordinators alone are not)."""
    volunteer = active_volunteer_of(user)
    return bool(volunteer and volunteer.is_supervisor)


def can_manage_follow_ups(user) -> bool:
    """The supervisors' follow-up queue: see every follow-up of the line (debriefs aside),
    assign and reassign, create one from an escalation (crisis staff)."""
    return is_crisis_staff(user)


def can_see_debriefs(user) -> bool:
    """Debriefs and their notes are for supervisors only: not coordinators (who read
    statistics per person), not the volunteer debriefed."""
    return is_active_supervisor(user)


def can_work_follow_up(user, follow_up) -> bool:
    """Change, complete or call back through one follow-up: its assignee, and whoever
    manages follow-ups (supervisors only, for a debrief)."""
    if follow_up.kind == "debrief":
        return can_see_debriefs(user)
    volunteer = active_volunteer_of(user)
    if volunteer is not None and follow_up.assignee_id == volunteer.pk:
        return True
    return can_manage_follow_ups(user)


def can_send_password_reset(user, target: Volunteer) -> bool:
    """Who may have a password reset code sent to a volunteer's phone: superusers for anyone
    with a phone; coordinators for volunteers of the organisations they manage whose login
    is not staff (only superusers change staff accounts)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if not target.phone_number or not target.is_active:
        return False
    if user.is_superuser:
        return True
    if not is_coordinator(user) or target.user.is_staff or target.user.is_superuser:
        return False
    return Volunteer.objects.filter(
        managed_organisations_q(user, "organisation__"), pk=target.pk
    ).exists()


# --- where: the hotlines and organisations a user manages or works on --------------------------


def managed_hotlines_q(user, path: str = "") -> Q:
    """Rows on the hotlines `user` manages, for rows that reach their Hotline through `path`
    ("" for hotlines themselves, "hotline__" for calls, "roster__hotline__" for shifts).

    Coordinators manage every hotline today (EVERY_ROW, so the filter costs nothing); anyone
    else none. Scoping coordinators to their organisation and its branches returns a filter
    on `f"{path}…"` here.
    """
    return EVERY_ROW if is_coordinator(user) else NO_ROW


def managed_organisations_q(user, path: str = "") -> Q:
    """Rows in the organisations `user` manages, for rows that reach their Organisation
    through `path` ("organisation__" for volunteers). Every organisation for coordinators
    today; none for anyone else (see managed_hotlines_q)."""
    return EVERY_ROW if is_coordinator(user) else NO_ROW


def supervised_hotlines(volunteer: Volunteer) -> QuerySet[Hotline]:
    """Hotlines a supervisor works on: any active assignment on a published roster."""
    return Hotline.objects.filter(
        rosters__status=Roster.Status.PUBLISHED,
        rosters__shifts__assignments__volunteer=volunteer,
        rosters__shifts__assignments__status=Assignment.Status.ACTIVE,
    ).distinct()


# --- statistics (hotline/stats/, docs/reports.md) ---------------------------------------------


def can_see_statistics(user) -> bool:
    """Read the activity statistics and exports of the hotlines one manages (coordinators)."""
    return is_coordinator(user)


def can_see_crisis_statistics(user) -> bool:
    """Read the crisis part (risk levels, escalations): coordinators, and supervisors for the
    hotlines they work on."""
    return is_crisis_staff(user)
