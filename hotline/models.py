import zoneinfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from hotline.phone import validate_e164
from hotline.timezones import validate_time_zone


class Role(models.TextChoices):
    COUNSELLOR = "counsellor", _("counsellor")
    FAMILY_EDUCATOR = "family_educator", _("family-education expert")
    SUPERVISOR = "supervisor", _("supervisor")


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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "id"]
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")

    def __str__(self) -> str:
        return self.display_name

    @property
    def roles(self) -> list[str]:
        flags = {
            Role.COUNSELLOR: self.is_counsellor,
            Role.FAMILY_EDUCATOR: self.is_family_educator,
            Role.SUPERVISOR: self.is_supervisor,
        }
        return [str(role) for role, held in flags.items() if held]

    def set_roles(self, roles) -> None:
        roles = set(roles)
        self.is_counsellor = Role.COUNSELLOR in roles
        self.is_family_educator = Role.FAMILY_EDUCATOR in roles
        self.is_supervisor = Role.SUPERVISOR in roles

    def holds(self, role: str) -> bool:
        return role in self.roles


ROLE_FLAG = {
    Role.COUNSELLOR: "is_counsellor",
    Role.FAMILY_EDUCATOR: "is_family_educator",
    Role.SUPERVISOR: "is_supervisor",
}


class Hotline(models.Model):
    class Language(models.TextChoices):
        ZH_CN = "zh-CN", _("Chinese (Mandarin)")
        EN = "en", _("English")

    name = models.CharField(_("name"), max_length=200)
    phone_number = models.CharField(
        _("phone number"), max_length=20, unique=True, validators=[validate_e164]
    )
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.ZH_CN
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_time_zone]
    )
    min_rest_hours = models.PositiveSmallIntegerField(
        _("minimum rest between shifts (hours)"), default=11, validators=[MaxValueValidator(48)]
    )
    allow_back_to_back = models.BooleanField(
        _("allow back-to-back shifts"),
        default=False,
        help_text=_("A volunteer may take a shift that starts when their previous one ends."),
    )
    # Call routing
    greeting = models.TextField(_("greeting"), blank=True)
    emergency_numbers = models.CharField(
        _("emergency numbers read out of hours"), max_length=200, blank=True
    )
    ring_batch_size = models.PositiveSmallIntegerField(
        _("volunteers rung at once"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
    )
    ring_timeout = models.PositiveSmallIntegerField(
        _("ring time (seconds)"), default=20, validators=[MinValueValidator(5), MaxValueValidator(60)]
    )
    # Swaps and escalations
    auto_approve_swaps = models.BooleanField(_("approve swaps automatically"), default=False)
    ack_window_minutes = models.PositiveSmallIntegerField(
        _("escalation acknowledgement window (minutes)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("hotline")
        verbose_name_plural = _("hotlines")

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Message(models.Model):
    """One outbound SMS in the outbox. Sent by a background task; never twice for one key."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        UNDELIVERED = "undelivered", _("undelivered")
        FAILED = "failed", _("failed")

    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    to = models.CharField(_("to"), max_length=20)
    from_number = models.CharField(_("from"), max_length=20, blank=True)
    body = models.TextField(_("text"))
    purpose = models.CharField(_("purpose"), max_length=40, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    twilio_sid = models.CharField(_("Twilio SID"), max_length=64, null=True, blank=True, unique=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS outbox")

    def __str__(self) -> str:
        return f"{self.to} · {self.get_status_display()} · {self.dedupe_key}"
