"""Records of automatic roster builds (auto-fill runs)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AutofillRun(models.Model):
    """One auto-fill of one roster: queued → running → done or failed.

    The partial unique constraint allows one live (queued or running) run per roster, so
    two builders never write to the same roster at once, whatever the number of web
    processes and task workers.
    """

    class Mode(models.TextChoices):
        FILL = "fill", _("fill gaps only")
        REBUILD = "rebuild", _("rebuild the unlocked part")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    LIVE = (Status.QUEUED, Status.RUNNING)

    roster = models.ForeignKey(
        "scheduling.Roster",
        on_delete=models.CASCADE,
        related_name="autofill_runs",
        verbose_name=_("roster"),
    )
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.FILL)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    time_limit = models.FloatField(_("time limit (seconds)"), default=10.0)
    greedy = models.BooleanField(_("greedy only"), default=False)
    seed = models.PositiveIntegerField(_("random seed"), default=0)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    message = models.CharField(_("message"), max_length=300, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("auto-fill run")
        verbose_name_plural = _("auto-fill runs")
        constraints = [
            models.UniqueConstraint(
                fields=["roster"],
                condition=Q(status__in=["queued", "running"]),
                name="one_live_autofill_per_roster",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.roster} {self.get_mode_display()} {self.get_status_display()}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE
