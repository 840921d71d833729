"""Sign-in records of our own: API tokens (lockouts and two-factor devices belong to
django-axes and django-otp)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A bearer token for the REST API (`Authorization: Token <key>`).

    Only a SHA-256 digest of the key is stored: a copy of the database gives no working
    token. A token lasts until `expires_at`, until revoked, and only while the user's
    password is the one it was issued under (`password_fingerprint`): a password change by
    any path (admin, command, API, password page) ends every token issued before it.
    """

    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    password_fingerprint = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="api_token_expires_after_created",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.expires_at:%Y-%m-%d %H:%M}"


class PasswordResetCode(models.Model):
    """A one-time code that lets a volunteer (who has no e-mail) set a new password.

    A coordinator asks for it; the code goes to the volunteer's phone by SMS. Only a keyed
    hash is stored. It works once, for `PASSWORD_RESET_CODE_MINUTES`, and for at most
    `PASSWORD_RESET_CODE_ATTEMPTS` wrong guesses; a newer code replaces it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="password_reset_codes",
        verbose_name=_("user"),
    )
    code_digest = models.CharField(max_length=64, editable=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("asked for by"),
    )
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(_("wrong guesses"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("password reset code")
        verbose_name_plural = _("password reset codes")
        indexes = [models.Index(fields=["user", "-created_at"], name="reset_code_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} · {self.created_at:%Y-%m-%d %H:%M}"
