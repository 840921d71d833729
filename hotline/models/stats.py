"""Activity reports kept for download: last month's report per organisation, built by the
monthly task (hotline/stats/services.py)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from hotline.models.people import Organisation


class ActivityReport(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="activity_reports",
        verbose_name=_("organisation"),
    )
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    language = models.CharField(_("language"), max_length=10)
    figures = models.JSONField(_("figures"), default=dict)
    xlsx = models.BinaryField(_("spreadsheet"))
    docx = models.BinaryField(_("document"))
    built_at = models.DateTimeField(_("built at"))
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-first_day", "organisation__name"]
        verbose_name = _("activity report")
        verbose_name_plural = _("activity reports")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "first_day", "last_day"], name="activity_report_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.first_day:%Y-%m}"
