"""Who may do what: the personas of DESIGN.md, decided in one place.

Three kinds of function live here, and nowhere else:

- who someone is: `is_coordinator`, `volunteer_of`, `active_volunteer_of`, `is_crisis_staff`;
- what they may do: the `can_*` predicates. Page views and the DRF permission classes
  (api/permissions.py) only wrap them, and services that refuse a change ask them too;
- where: which hotlines (and organisations) a user manages or works on, as query filters
  (`managed_hotlines_q`, `managed_organisations_q`, `supervised_hotlines`) that the
  visibility selectors (`calls_visible_to`, `rosters_visible_to`, …) build on.

Superusers manage everything. A coordinator manages their own organisation (their
Volunteer record's) and every organisation under it — a city federation over its county
branches — and the hotlines and volunteers of those organisations; a coordinator who belongs
to no organisation manages only what belongs to none (a single-organisation deployment needs
no organisations at all). `managed_hotlines_q` and `managed_organisations_q` say so as query
filters, and every list, page and API that shows a coordinator rows builds on them.

Accounts: only superusers change staff, superuser or coordinator accounts, or make someone
staff or a coordinator (`can_change_account`, `can_grant_roles`); every path that writes a
login (the API, the admin, hotline/people/services.py) asks these.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet

from hotline.models import Call, FollowUp, Hotline, Organisation, Volunteer
from hotline.people.selectors import organisation_ancestor_ids, organisation_subtree_ids
from scheduling.models import Assignment, Roster, Shift

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
    not privileged and that they manage (`can_change_account`), never a whole client address
    (that would also reset the count of guesses against staff accounts from it)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if ip_address or not username or not is_coordinator(user):
        return False
    target = User.objects.filter(username=username).first()
    return target is None or can_change_account(user, target)


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


def can_decide_swap(user, hotline: Hotline) -> bool:
    """Approve or turn down a swap on `hotline`: coordinators who manage it."""
    return can_decide_swaps(user) and manages_hotline(user, hotline)


def can_see_open_slots(user) -> bool:
    """Hold the calendar feed of every unfilled slot (coordinators)."""
    return is_coordinator(user)


def can_edit_taxonomy(user) -> bool:
    """Add, relabel, reorder and deactivate the taxonomy's entries (categories, actions taken,
    caller groups): coordinators. The tables are the federation's, shared by every
    organisation like the referral directory, so there is no narrower scope (the API's
    writes ask the same: api.permissions.CoordinatorWritesOthersRead)."""
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
    volunteer who answered it, supervisors, and the coordinators who manage its hotline."""
    if can_report_on(user, call):
        return True
    if is_coordinator(user):
        return manages_hotline(user, call.hotline)
    return is_crisis_staff(user)


def can_join_call(user, call: Call) -> bool:
    """Who may join a live call from the escalation page (listening or speaking): crisis
    staff with an active Volunteer record, whose phone is dialled."""
    return is_crisis_staff(user) and active_volunteer_of(user) is not None


def can_ask_for_supervisor(user, call: Call) -> bool:
    """Who may bring the supervisor on shift into a live call: the volunteer on it."""
    return can_report_on(user, call)


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
    with a phone; coordinators for the accounts they may change (`can_change_account`:
    volunteers of the organisations they manage, never staff, superuser or coordinator
    accounts)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if not target.phone_number or not target.is_active:
        return False
    return can_change_account(user, target.user)


# --- where: the hotlines and organisations a user manages or works on --------------------------


def coordinator_organisation(user) -> Organisation | None:
    """The organisation a coordinator works for: their Volunteer record's (None without one)."""
    volunteer = volunteer_of(user)
    return volunteer.organisation if volunteer is not None else None


def managed_organisation_ids(user) -> frozenset[int] | None:
    """The organisations `user` manages, as ids: None for every one (superusers); for a
    coordinator their own and every one under it (empty when they belong to none); empty
    for anyone else. Cached on the user object for the request."""
    if not is_coordinator(user):
        return frozenset()
    if user.is_superuser:
        return None
    cached = getattr(user, "_managed_organisation_ids", None)
    if cached is None:
        volunteer = volunteer_of(user)
        root = volunteer.organisation_id if volunteer is not None else None
        cached = organisation_subtree_ids([root]) if root is not None else frozenset()
        user._managed_organisation_ids = cached
    return cached


def managed_hotlines_q(user, path: str = "") -> Q:
    """Rows on the hotlines `user` manages, for rows that reach their Hotline through `path`
    ("" for hotlines themselves, "hotline__" for calls, "roster__hotline__" for shifts).

    Every hotline for superusers (EVERY_ROW: the filter costs nothing); for a coordinator,
    the hotlines of the organisations they manage (those of no organisation if they belong
    to none); none for anyone else.
    """
    if not is_coordinator(user):
        return NO_ROW
    ids = managed_organisation_ids(user)
    if ids is None:
        return EVERY_ROW
    if ids:
        return Q(**{f"{path}organisation__in": sorted(ids)})
    return Q(**{f"{path}organisation__isnull": True})


def managed_hotline_ids(user) -> frozenset[int] | None:
    """The ids of the hotlines `user` manages (managed_hotlines_q): None for every one
    (superusers). One query, cached on the user object for the request. For filters on
    tables that grow for years (calls): `hotline_id IN (…)` with the ids written out lets
    the database walk the (hotline, arrived_at) index in order, where a join to the
    hotline table made SQLite sort every call."""
    if managed_organisation_ids(user) is None:
        return None
    cached = getattr(user, "_managed_hotline_ids", None)
    if cached is None:
        cached = frozenset(
            Hotline.objects.filter(managed_hotlines_q(user)).values_list("pk", flat=True)
        )
        user._managed_hotline_ids = cached
    return cached


def managed_organisations_q(user, path: str = "") -> Q:
    """Rows in the organisations `user` manages, for rows that reach their Organisation
    through `path` ("" for organisations themselves, "organisation__" for volunteers,
    "volunteer__organisation__" for availability). As managed_hotlines_q: every row for
    superusers, a coordinator's organisation and those under it (rows of no organisation
    for a coordinator who belongs to none), nothing for anyone else."""
    if not is_coordinator(user):
        return NO_ROW
    ids = managed_organisation_ids(user)
    if ids is None:
        return EVERY_ROW
    if ids:
        return Q(**{f"{path}pk__in": sorted(ids)})
    if not path:
        return NO_ROW
    return Q(**{f"{path.removesuffix('__')}__isnull": True})


def manages_organisation(user, organisation: Organisation | int | None) -> bool:
    """May `user` put rows in `organisation` (None: no organisation)? The same answer as
    managed_organisations_q, for one organisation being written."""
    if not is_coordinator(user):
        return False
    ids = managed_organisation_ids(user)
    if ids is None:
        return True
    pk = getattr(organisation, "pk", organisation)
    return pk in ids if ids else pk is None


def hotline_coordinators_q(hotline: Hotline | None, user_path: str = "user__") -> Q:
    """The coordinators who manage `hotline`, as a filter on Volunteer rows (their record
    carries the organisation and the phone): superusers, and coordinators of the hotline's
    organisation or of one above it (of no organisation, for a hotline of none, or for no
    hotline at all). Alerts and voicemail notices about a line go to these, not to every
    coordinator."""
    ancestors = organisation_ancestor_ids(hotline.organisation_id if hotline else None)
    own = Q(organisation__in=sorted(ancestors)) if ancestors else Q(organisation__isnull=True)
    return coordinator_q(user_path) & (Q(**{f"{user_path}is_superuser": True}) | own)


def managed_q_for(user, model) -> Q | None:
    """The managed-rows filter for rows of `model` itself (Hotline, Organisation, Volunteer,
    Roster, Shift, Assignment), or None for models this module does not scope. Forms and
    serializers narrow their choices with it."""
    if model is Hotline:
        return managed_hotlines_q(user)
    if model is Organisation:
        return managed_organisations_q(user)
    if model is Volunteer:
        return managed_organisations_q(user, "organisation__")
    if model is Roster:
        return managed_hotlines_q(user, "hotline__")
    if model is Shift:
        return managed_hotlines_q(user, "roster__hotline__")
    if model is Assignment:
        return managed_hotlines_q(user, "shift__roster__hotline__")
    return None


def can_place_organisation(user, parent: Organisation | None) -> bool:
    """May `user` create an organisation under `parent`, or move one there? Superusers:
    anywhere, top level too. Coordinators: under an organisation they manage (so a new
    branch stays theirs), never at the top level."""
    if not is_coordinator(user):
        return False
    ids = managed_organisation_ids(user)
    if ids is None:
        return True
    return parent is not None and parent.pk in ids


def manages_hotline(user, hotline: Hotline) -> bool:
    """Does `user` manage `hotline` (managed_hotlines_q for one hotline)?"""
    return manages_organisation(user, hotline.organisation_id)


def manages_volunteer(user, volunteer: Volunteer) -> bool:
    """Is `volunteer` in an organisation `user` manages?"""
    return manages_organisation(user, volunteer.organisation_id)


# --- accounts: who may change a login, and who may hand out roles ------------------------------


def is_privileged_account(user) -> bool:
    """Staff, superusers and coordinators (whatever their login's active flag): accounts
    only superusers change."""
    if user is None or user.pk is None:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return user.groups.filter(name=COORDINATORS_GROUP).exists()


def can_grant_roles(user) -> bool:
    """Make someone staff, superuser or a coordinator, or take it away: superusers only."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)


def can_change_account(user, target) -> bool:
    """May `user` change `target`'s login (password, username, active flag) or the volunteer
    record on it? Superusers: any. Coordinators: accounts that are not privileged (staff,
    superuser, coordinator), never their own through this path, and only volunteers of the
    organisations they manage (a login without a volunteer record: superusers only)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not is_coordinator(user) or is_privileged_account(target):
        return False
    volunteer = volunteer_of(target)
    return volunteer is not None and manages_volunteer(user, volunteer)


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
