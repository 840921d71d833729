"""Password reset by SMS code, for volunteers who have no e-mail.

A coordinator (or a superuser) sends a code to a volunteer's phone through the outbox; the
volunteer enters her username, the code and a new password on /accounts/reset/. The code is
stored as a keyed hash, works once, for PASSWORD_RESET_CODE_MINUTES, and for at most
PASSWORD_RESET_CODE_ATTEMPTS wrong guesses; a newer code replaces older ones. Setting the
password this way ends the user's API tokens like any other password change.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from hotline import access
from hotline.crisis.audit import audit_record
from hotline.models import PasswordResetCode, Volunteer
from hotline.sms.outbox import sms_send

CODE_DIGITS = 6


class ResetRefused(ValidationError):
    """The code, the username or the new password was not accepted; nothing changed."""


def _digest(user_id: int, code: str) -> str:
    return salted_hmac(
        "hotline.password-reset", f"{user_id}:{code}", algorithm="sha256"
    ).hexdigest()


@transaction.atomic
def password_reset_send(
    *, volunteer: Volunteer, by, now: dt.datetime | None = None
) -> PasswordResetCode:
    """Send a new reset code to `volunteer`'s phone; older unused codes stop working."""
    if not access.can_send_password_reset(by, volunteer):
        raise PermissionDenied
    now = now or timezone.now()
    PasswordResetCode.objects.filter(user=volunteer.user, used_at__isnull=True).update(used_at=now)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    minutes = settings.PASSWORD_RESET_CODE_MINUTES
    row = PasswordResetCode.objects.create(
        user=volunteer.user,
        code_digest=_digest(volunteer.user_id, code),
        issued_by=by,
        created_at=now,
        expires_at=now + dt.timedelta(minutes=minutes),
    )
    with translation.override(volunteer.language or settings.LANGUAGE_CODE):
        body = _(
            "Hotline Roster: your password reset code is %(code)s (username %(username)s). "
            "It works for %(minutes)s minutes. If you did not ask for it, tell your coordinator."
        ) % {"code": code, "username": volunteer.user.get_username(), "minutes": minutes}
    sms_send(
        to=volunteer.phone_number,
        body=body,
        dedupe_key=f"password-reset:{row.pk}",
        purpose="password_reset",
    )
    audit_record(actor=by, action="password.reset_sent", obj=volunteer, at=now)
    return row


def password_reset_redeem(
    *, username: str, code: str, new_password: str, now: dt.datetime | None = None
) -> None:
    """Set a new password with a code; ResetRefused (one message for every wrong answer,
    so the page says nothing about which usernames exist) or the password rules' errors."""
    now = now or timezone.now()
    refused = ResetRefused(
        _("That code does not work. Check it, or ask your coordinator for a new one.")
    )
    user = get_user_model().objects.filter(username=username.strip(), is_active=True).first()
    if user is None:
        raise refused
    row = (
        PasswordResetCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if row is None or row.failed_attempts >= settings.PASSWORD_RESET_CODE_ATTEMPTS:
        raise refused
    if not constant_time_compare(row.code_digest, _digest(user.pk, code.strip())):
        # Counted in the database, so every worker process sees the same count.
        PasswordResetCode.objects.filter(pk=row.pk).update(failed_attempts=F("failed_attempts") + 1)
        raise refused
    # The code was right: now the new password must pass the rules (checked against the user).
    validate_password(new_password, user=user)
    with transaction.atomic():
        taken = PasswordResetCode.objects.filter(
            pk=row.pk,
            used_at__isnull=True,
            failed_attempts__lt=settings.PASSWORD_RESET_CODE_ATTEMPTS,
        ).update(used_at=now)
        if not taken:  # used a moment ago by another request
            raise refused
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit_record(actor=user, action="password.reset", obj=user, at=now)
