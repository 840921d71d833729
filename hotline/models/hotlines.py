"""A hotline: one phone number and how it routes and escalates."""

import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from hotline.phone import validate_e164
from hotline.timezones import validate_time_zone

PREFERENCE = re.compile(r"^(female|lang:[a-z]{2,3})$")


def validate_preference_options(value) -> None:
    """At most 8 distinct options, each "female" or "lang:<code>" (keys 2–9 of the menu)."""
    if (
        not isinstance(value, list)
        or len(value) > 8
        or len(set(map(str, value))) != len(value)
        or not all(isinstance(v, str) and PREFERENCE.match(v) for v in value)
    ):
        raise ValidationError(
            _(
                'Give at most 8 different options, each "female" or "lang:" and a language '
                'code, e.g. ["female", "lang:en"].'
            ),
            code="preference_options",
        )


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
        _("ring time (seconds)"),
        default=20,
        validators=[MinValueValidator(5), MaxValueValidator(60)],
    )
    max_queue_seconds = models.PositiveSmallIntegerField(
        _("longest wait in the queue (seconds)"),
        default=180,
        validators=[MinValueValidator(0), MaxValueValidator(1800)],
        help_text=_(
            "While everyone who can take the call is busy, the caller waits this long "
            "before voicemail."
        ),
    )
    # What the caller may ask for after choosing a service, in menu order (keys 2, 3, …;
    # 1 is "no preference"): "female" (a female counsellor) or "lang:<code>" (a volunteer
    # speaking that language, as in Volunteer.languages, e.g. "lang:en").
    preference_options = models.JSONField(
        _("caller preferences offered in the menu"),
        default=list,
        blank=True,
        help_text=_('e.g. ["female", "lang:en", "lang:yue"]; empty: no second menu'),
        validators=[validate_preference_options],
    )
    preference_wait_seconds = models.PositiveSmallIntegerField(
        _("longest wait for a volunteer who fits the preference (seconds)"),
        default=60,
        validators=[MinValueValidator(0), MaxValueValidator(1800)],
        help_text=_("After this, anyone who can take the call is offered it."),
    )
    # Swaps and escalations
    auto_approve_swaps = models.BooleanField(_("approve swaps automatically"), default=False)
    ack_window_minutes = models.PositiveSmallIntegerField(
        _("escalation acknowledgement window (minutes)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Who runs the line: its coordinators (and those of the organisations above) manage it.
    # Blank: only superusers and coordinators who belong to no organisation manage it.
    organisation = models.ForeignKey(
        "hotline.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hotlines",
        verbose_name=_("organisation"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("hotline")
        verbose_name_plural = _("hotlines")

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)
