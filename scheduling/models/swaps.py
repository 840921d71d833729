"""Swap and drop offers, and who was asked to take a dropped shift."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hotline.models import Volunteer
from scheduling.models.rosters import Assignment


class SwapRequest(models.Model):
    """A volunteer gives up an assignment: an offer (others see it and claim it) or a drop
    (the system also asks eligible volunteers by SMS, in fair order, until one takes it)."""

    class Kind(models.TextChoices):
        OFFER = "offer", _("swap offer")
        DROP = "drop", _("drop request")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLAIMED = "claimed", _("claimed, awaiting approval")
        DONE = "done", _("done")
        WITHDRAWN = "withdrawn", _("withdrawn")
        REJECTED = "rejected", _("rejected")
        EXPIRED = "expired", _("expired")

    LIVE = (Status.OPEN, Status.CLAIMED)

    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="swap_requests", verbose_name=_("shift")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OFFER)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    offered_by = models.ForeignKey(
        Volunteer,
        on_delete=models.CASCADE,
        related_name="swaps_offered",
        verbose_name=_("offered by"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    claimant = models.ForeignKey(
        Volunteer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="swaps_claimed",
        verbose_name=_("taken by"),
    )
    new_assignment = models.ForeignKey(
        Assignment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("new assignment"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    auto_approved = models.BooleanField(_("approved automatically"), default=False)
    reject_reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("offered at"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # Drops: when the next wave of SMS asks is due.
    next_ask_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("swap request")
        verbose_name_plural = _("swap requests")
        constraints = [
            models.UniqueConstraint(
                fields=["assignment"],
                condition=Q(status__in=["open", "claimed"]),
                name="one_live_swap_per_assignment",
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"], name="swap_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.assignment_id} · {self.get_status_display()}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class DropAsk(models.Model):
    """One volunteer asked by SMS to take a dropped shift (asked once per drop)."""

    swap = models.ForeignKey(SwapRequest, on_delete=models.CASCADE, related_name="asks")
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="drop_asks")
    wave = models.PositiveSmallIntegerField()
    asked_at = models.DateTimeField()

    class Meta:
        ordering = ["asked_at", "id"]
        verbose_name = _("drop ask")
        verbose_name_plural = _("drop asks")
        constraints = [
            models.UniqueConstraint(fields=["swap", "volunteer"], name="ask_once_per_drop"),
        ]

    def __str__(self) -> str:
        return f"drop {self.swap_id} → {self.volunteer_id} (wave {self.wave})"


# Named for the API schema (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
SWAP_KINDS = SwapRequest.Kind.choices
