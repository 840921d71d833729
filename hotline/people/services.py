"""Writes to volunteers and their logins.

A Volunteer and its User are created and changed together, and stay in step: a volunteer
is active exactly when their login is, so deactivating either one stops both the roster
and the sign-in, and reactivating either one restores both. The API, the admin (volunteer
and user pages) and `seed_demo` all write through here, and the checks live here (or in
the validators called from here), not in a serializer or a form only: usernames (Django's
characters, unique whatever the case), the password rules of AUTH_PASSWORD_VALIDATORS
(judged against the login they protect), roles, phone numbers in E.164 (hotline/phone.py)
and the model's own field checks.

Errors are ValidationErrors keyed by the Volunteer's field names, plus `username`,
`password` and `roles`.

Who may write (`by`, the signed-in user; None for the system itself: `seed_demo`, management
commands): hotline/access.py decides. Only superusers change staff, superuser or coordinator
accounts; a coordinator changes the volunteers of the organisations they manage and puts
volunteers only into those. A refusal is a PermissionDenied, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline import access, stamps
from hotline.models import Hotline, MessageChannel, Organisation, Role, Volunteer
from hotline.phone import normalize_phone

User = get_user_model()

# The Volunteer fields a write may set, besides its login and roles.
VOLUNTEER_FIELDS = (
    "display_name",
    "phone_number",
    "crisis_trained",
    "languages",
    "gender",
    "language",
    "organisation",
    "max_shifts_per_week",
    "is_active",
    "channels",
    "wecom_user_id",
)
_username_characters = UnicodeUsernameValidator()


# --- checks ---------------------------------------------------------------------------------------


def username_validate(username: str, *, user=None) -> str:
    """A username Django accepts and no other login has in any case (`user`: the login
    being renamed, which may keep its own)."""
    try:
        _username_characters(username)
    except ValidationError as exc:
        raise ValidationError({"username": exc.messages}) from exc
    taken = User.objects.filter(username__iexact=username)
    if user is not None and user.pk is not None:
        taken = taken.exclude(pk=user.pk)
    if taken.exists():
        raise ValidationError({"username": [_("This username is taken.")]})
    return username


def password_validate(password: str, *, user) -> None:
    """The password rules (AUTH_PASSWORD_VALIDATORS), judged against the login they protect,
    so a password like its own username is refused here as on Django's own forms."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc


def roles_validate(roles: Iterable[str]) -> list[str]:
    roles = list(roles)
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationError(
            {"roles": [_("“%(role)s” is not a role.") % {"role": r} for r in unknown]}
        )
    if len(set(roles)) != len(roles):
        raise ValidationError({"roles": [_("List each role once.")]})
    return roles


def phone_validate(phone_number: str) -> str:
    """The number in E.164, however it was typed."""
    try:
        return normalize_phone(phone_number)
    except ValidationError as exc:
        raise ValidationError({"phone_number": exc.messages}) from exc


def channels_validate(channels) -> list[str]:
    """A person's channel order: known channels, each once (empty: the defaults)."""
    if not isinstance(channels, list | tuple):
        raise ValidationError({"channels": [_("Give the channels as a list, e.g. wecom, sms.")]})
    unknown = [c for c in channels if c not in MessageChannel.values]
    if unknown:
        raise ValidationError(
            {
                "channels": [
                    _("“%(channel)s” is not a channel (sms, voice, wecom).") % {"channel": c}
                    for c in unknown
                ]
            }
        )
    if len(set(channels)) != len(channels):
        raise ValidationError({"channels": [_("Name each channel once.")]})
    return list(channels)


def _apply(volunteer: Volunteer, fields: dict) -> None:
    unknown = set(fields) - set(VOLUNTEER_FIELDS)
    if unknown:
        raise TypeError(f"not a volunteer field: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        if name == "phone_number":
            value = phone_validate(value)
        if name == "channels":
            value = channels_validate(value)
        if name == "wecom_user_id":
            value = (value or "").strip()
        setattr(volunteer, name, value)


def _save(volunteer: Volunteer) -> None:
    """Save; a concurrent request that took the phone number between `full_clean` and now
    (the partial unique constraint) is refused on the field like the check itself."""
    try:
        with transaction.atomic():
            volunteer.save()
    except IntegrityError:
        taken = Volunteer.objects.filter(
            phone_number=volunteer.phone_number, is_active=True
        ).exclude(pk=volunteer.pk)
        if volunteer.is_active and volunteer.phone_number and taken.exists():
            raise ValidationError(
                {"phone_number": [_("Another active volunteer has this phone number.")]},
                code="unique",
            ) from None
        raise


def _may_place(by, organisation) -> None:
    if by is not None and not access.manages_organisation(by, organisation):
        raise PermissionDenied(
            _("You manage only the volunteers of your own organisation and its branches.")
        )


def _may_change(by, user) -> None:
    if by is None:
        return
    if access.is_privileged_account(user) and not by.is_superuser:
        raise PermissionDenied(
            _("Only a superuser may change a staff, superuser or coordinator account.")
        )
    if not access.can_change_account(by, user):
        raise PermissionDenied(
            _("You manage only the volunteers of your own organisation and its branches.")
        )


# --- writes ---------------------------------------------------------------------------------------


@transaction.atomic
def volunteer_create(
    *,
    by,
    display_name: str,
    phone_number: str,
    roles: Iterable[str] = (),
    user=None,
    username: str | None = None,
    password: str | None = None,
    crisis_trained: bool = False,
    languages: list[str] | None = None,
    gender: str = "",
    language: str = "zh-hans",
    organisation: Organisation | None = None,
    max_shifts_per_week: int = 3,
    is_active: bool = True,
    channels: list[str] | None = None,
    wecom_user_id: str = "",
) -> Volunteer:
    """A volunteer with a new login (`username` and `password`) or for an existing `user`
    (the admin, seed_demo); the login is active exactly when the volunteer is. `by`: who
    asks (None: the system)."""
    if (user is None) == (username is None):
        raise TypeError("give either user or username")
    _may_place(by, organisation)
    if user is not None and by is not None and not by.is_superuser:
        if access.is_privileged_account(user):
            raise PermissionDenied(
                _("Only a superuser may change a staff, superuser or coordinator account.")
            )
    if user is None:
        username = username_validate(username)
        if not password:
            raise ValidationError({"password": [_("Set a password for the new login.")]})
        user = User(username=username)
        password_validate(password, user=user)
        user.set_password(password)
    elif password is not None:
        raise TypeError("an existing login keeps its password")
    volunteer = Volunteer(user=user if user.pk else None, languages=languages or [])
    volunteer.set_roles(roles_validate(roles))
    _apply(
        volunteer,
        {
            "display_name": display_name,
            "phone_number": phone_number,
            "crisis_trained": crisis_trained,
            "gender": gender,
            "language": language,
            "organisation": organisation,
            "max_shifts_per_week": max_shifts_per_week,
            "is_active": is_active,
            "channels": channels or [],
            "wecom_user_id": wecom_user_id,
        },
    )
    volunteer.full_clean(exclude=[] if user.pk else ["user"])
    user.is_active = is_active
    user.save()
    volunteer.user = user
    _save(volunteer)
    return volunteer


@transaction.atomic
def volunteer_update(
    *,
    by,
    volunteer: Volunteer,
    username: str | None = None,
    password: str | None = None,
    roles: Iterable[str] | None = None,
    **fields,
) -> Volunteer:
    """Change a volunteer and their login: any of VOLUNTEER_FIELDS, `roles`, `username`,
    `password` (None: unchanged). `is_active` changes the login's too. `by`: who asks
    (None: the system)."""
    volunteer = Volunteer.objects.select_for_update().select_related("user").get(pk=volunteer.pk)
    user = volunteer.user
    _may_change(by, user)
    if "organisation" in fields:
        _may_place(by, fields["organisation"])
    if username is not None and username != user.username:
        user.username = username_validate(username, user=user)
    if password is not None:
        password_validate(password, user=user)
        user.set_password(password)
    if roles is not None:
        volunteer.set_roles(roles_validate(roles))
    renamed = "display_name" in fields and fields["display_name"] != volunteer.display_name
    was_active = volunteer.is_active
    _apply(volunteer, fields)
    volunteer.full_clean()
    user.is_active = volunteer.is_active
    user.save()
    _save(volunteer)
    if renamed:
        # Co-volunteers' calendar feeds name them (their own feed follows `updated_at`).
        stamps.everything_changed()
    if was_active and not volunteer.is_active:
        _deactivated([volunteer])
    return volunteer


@transaction.atomic
def hotline_save(*, hotline: Hotline) -> Hotline:
    """Save a hotline (admin, API). Every calendar feed may name it: their stamps are raised."""
    hotline.save()
    stamps.everything_changed()
    return hotline


@transaction.atomic
def user_active_set(*, by, user, is_active: bool) -> None:
    """Activate or deactivate a login (the admin's user page); its volunteer follows."""
    _may_change(by, user)
    User.objects.filter(pk=user.pk).update(is_active=is_active)
    user.is_active = is_active
    following = list(
        Volunteer.objects.select_for_update().filter(user=user).exclude(is_active=is_active)
    )
    Volunteer.objects.filter(pk__in=[v.pk for v in following]).update(
        is_active=is_active, updated_at=timezone.now()
    )
    if not is_active:
        for volunteer in following:
            volunteer.is_active = False
        _deactivated(following)


def _deactivated(volunteers: Iterable[Volunteer]) -> None:
    """Volunteers just deactivated: every upcoming published shift they hold is now a
    conflict (the rule layer's `inactive`), and the coordinators of its hotline hear of it
    through the outbox — once per volunteer per change (the notice's dedupe key is made of
    the clashing assignments and codes, so deactivating twice tells nobody twice). The board
    and GET /api/v1/rosters/{id}/conflicts/ read the same conflicts."""
    # Function-level: hotline → scheduling only here (docs/architecture.md, known exceptions).
    from scheduling.availability.services import conflicts_after_change

    for volunteer in volunteers:
        conflicts_after_change(volunteer=volunteer)
