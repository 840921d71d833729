"""Volunteers, their roles and organisations."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from hotline.phone import validate_e164


class Role(models.TextChoices):
    COUNSELLOR = "counsellor", _("counsellor")
    FAMILY_EDUCATOR = "family_educator", _("family-education expert")
    SUPERVISOR = "supervisor", _("supervisor")


# Each role's flag on Volunteer.
ROLE_FLAG = {
    Role.COUNSELLOR: "is_counsellor",
    Role.FAMILY_EDUCATOR: "is_family_educator",
    Role.SUPERVISOR: "is_supervisor",
}


class MessageChannel(models.TextChoices):
    """How a message reaches a person (hotline/sms/channels.py)."""

    SMS = "sms", _("SMS")
    VOICE = "voice", _("voice call")
    WECOM = "wecom", _("WeCom")


class Organisation(models.Model):
    """A county/district branch or a unit; volunteers belong to one, reports group by it."""

    name = models.CharField(_("name"), max_length=200)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(Lower("name"), name="organisation_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class Volunteer(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="volunteer"
    )
    display_name = models.CharField(_("display name"), max_length=100)
    phone_number = models.CharField(
        _("phone number"), max_length=20, validators=[validate_e164], help_text=_("E.164")
    )
    # Three flags rather than a list: the rule layer and the routing query filter on them.
    is_counsellor = models.BooleanField(_("counsellor"), default=False)
    is_family_educator = models.BooleanField(_("family-education expert"), default=False)
    is_supervisor = models.BooleanField(_("supervisor"), default=False)
    crisis_trained = models.BooleanField(
        _("crisis-trained"), default=False, help_text=_("Crisis-intervention training")
    )
    languages = models.JSONField(
        _("languages spoken"), default=list, blank=True, help_text=_('e.g. ["zh", "en"]')
    )
    language = models.CharField(
        _("language for pages, SMS and calendar"),
        max_length=10,
        choices=[("zh-hans", _("Simplified Chinese")), ("en", _("English"))],
        default="zh-hans",
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="volunteers",
        verbose_name=_("organisation"),
    )
    max_shifts_per_week = models.PositiveSmallIntegerField(
        _("maximum shifts per week"), default=3, validators=[MaxValueValidator(21)]
    )
    is_active = models.BooleanField(_("active"), default=True)
    # The channels messages reach this person on, in order (values of MessageChannel); empty:
    # the defaults of each kind of message (setting MESSAGE_CHANNELS).
    # db_default: rows written by code older than this field (a rolling upgrade) stay valid.
    channels = models.JSONField(
        _("message channels, in order"),
        default=list,
        db_default=models.Value([], output_field=models.JSONField()),
        blank=True,
        help_text=_('e.g. ["wecom", "voice", "sms"]; empty: the defaults'),
    )
    wecom_user_id = models.CharField(
        _("WeCom user id"),
        max_length=64,
        blank=True,
        default="",
        db_default="",
        help_text=_("The member's UserID in WeCom"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "id"]
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        constraints = [
            # SMS replies (ACK, swap answers) are matched to a person by number: two active
            # volunteers on one number would make that a guess. Code "unique" on one field:
            # model validation (the admin) reports it on the phone number field.
            models.UniqueConstraint(
                fields=["phone_number"],
                condition=Q(is_active=True) & ~Q(phone_number=""),
                name="volunteer_phone_unique_active",
                violation_error_code="unique",
                violation_error_message=_("Another active volunteer has this phone number."),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def roles(self) -> list[str]:
        return [str(role) for role, flag in ROLE_FLAG.items() if getattr(self, flag)]

    def set_roles(self, roles) -> None:
        roles = set(roles)
        for role, flag in ROLE_FLAG.items():
            setattr(self, flag, role in roles)

    def holds(self, role: str) -> bool:
        return role in self.roles
