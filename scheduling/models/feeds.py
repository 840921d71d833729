"""Calendar-feed tokens."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hotline.fields import EncryptedCharField


class CalendarToken(models.Model):
    """The secret in a calendar feed URL. Good for that feed only; rotating replaces it, so the
    old URL stops working at once. One per user and kind.

    Feeds are found by `token_hash`, a keyed hash of the token (hotline.crypto.keyed_hash).
    The token itself is kept encrypted, only so that My shifts can show the volunteer their
    link again (to copy it or scan it on another device) without making a new one; a copy
    of the database alone opens no feed."""

    class Kind(models.TextChoices):
        SHIFTS = "shifts", _("my shifts")
        OPEN = "open", _("unfilled slots")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_tokens"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SHIFTS)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    token = EncryptedCharField(_("token"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(_("rotated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar token")
        verbose_name_plural = _("calendar tokens")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_calendar_token_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.kind}"
