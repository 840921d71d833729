"""When a volunteer can serve: weekly windows and dated time off."""

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from hotline.models import Volunteer
from scheduling.validators import validate_time_off_span, validate_window


class Availability(models.Model):
    """A weekly window, read in the local time of whichever hotline a shift belongs to."""

    class Kind(models.TextChoices):
        AVAILABLE = "available", _("available")
        PREFERRED = "preferred", _("preferred")

    volunteer = models.ForeignKey(
        Volunteer,
        on_delete=models.CASCADE,
        related_name="availability",
        verbose_name=_("volunteer"),
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), validators=[MaxValueValidator(6)], help_text=_("0 = Monday … 6 = Sunday")
    )
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(
        _("until"), help_text=_("At or before the start means until that time the next day.")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.AVAILABLE)

    class Meta:
        ordering = ["volunteer", "weekday", "start_time"]
        verbose_name = _("availability window")
        verbose_name_plural = _("availability windows")
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="availability_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} {self.weekday} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def clean(self) -> None:
        super().clean()
        validate_window(self.start_time, self.end_time)


class TimeOff(models.Model):
    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.CASCADE, related_name="time_off", verbose_name=_("volunteer")
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    imported = models.BooleanField(
        _("imported from a calendar"), default=False, help_text=_("Replaced on re-import.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["volunteer", "starts_at"]
        verbose_name = _("time off")
        verbose_name_plural = _("time off")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="time_off_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"

    @property
    def label(self) -> str:
        """What to call it on a page, in the reader's language: an import's label is ours
        (its events' titles are never kept), so it is translated when shown, not when stored."""
        if self.imported:
            return gettext("busy (imported calendar)")
        return self.reason

    def clean(self) -> None:
        super().clean()
        validate_time_off_span(self.starts_at, self.ends_at)


# Named for the API schema (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
AVAILABILITY_KINDS = Availability.Kind.choices
