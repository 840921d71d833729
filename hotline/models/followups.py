"""The work after a call: follow-ups (call the caller back, confirm help arrived, a debrief
for the volunteer) and each call-back attempt placed through the hotline.

Services live in hotline/followups/. Free text (outcome notes, the best time to call) and
the number to call are stored encrypted (hotline/fields.py); none can be searched in SQL.
Foreign keys to the call and crisis models are string references.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from hotline.fields import EncryptedCharField, EncryptedTextField
from hotline.models.calls import CallbackBestTime


class FollowUp(models.Model):
    """One piece of work after a call, with a due time and one assignee (volunteer or
    supervisor; empty: waiting in the supervisors' queue to be assigned)."""

    class Kind(models.TextChoices):
        CALL_BACK = "call_back", _("call the caller back")
        CONFIRM_HELP = "confirm_help", _("confirm help arrived")
        DEBRIEF = "debrief", _("debrief with the volunteer")

    class Source(models.TextChoices):
        REPORT = "report", _("call report")
        VOICEMAIL = "voicemail", _("voicemail callback request")
        ESCALATION = "escalation", _("escalation")
        VOLUNTEER = "volunteer", _("asked for by the volunteer")
        MANUAL = "manual", _("created by hand")

    class Method(models.TextChoices):
        PHONE = "phone", _("phone call back")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("follow-up status", "open")
        DONE = "done", _("done")
        NOT_REACHED = "not_reached", _("could not reach")
        CANCELLED = "cancelled", _("cancelled")

    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    source = models.CharField(_("created from"), max_length=12, choices=Source.choices)
    # Empty only for a debrief a volunteer asked for from My shifts.
    hotline = models.ForeignKey(
        "hotline.Hotline",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("hotline"),
    )
    call = models.ForeignKey(
        "hotline.Call",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("call"),
    )
    callback = models.ForeignKey(
        "hotline.CallbackRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("callback request"),
    )
    report = models.ForeignKey(
        "hotline.CallReport",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("call report"),
    )
    escalation = models.ForeignKey(
        "hotline.Escalation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("escalation"),
    )
    # A debrief is about this volunteer (the one who took the hard call).
    volunteer = models.ForeignKey(
        "hotline.Volunteer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="debriefs",
        verbose_name=_("volunteer to debrief"),
    )
    assignee = models.ForeignKey(
        "hotline.Volunteer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("assigned to"),
    )
    due_at = models.DateTimeField(_("due at"), db_index=True)
    method = models.CharField(
        _("method"), max_length=6, choices=Method.choices, default=Method.PHONE
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    # The caller's own answers (None: not asked). `safe_to_call` False forbids calling back.
    safe_to_call = models.BooleanField(_("safe to call back"), null=True, blank=True)
    safe_to_leave_message = models.BooleanField(_("safe to leave a message"), null=True, blank=True)
    best_time = EncryptedCharField(_("best time to call"), max_length=200, blank=True)
    # Given on the report with the caller's consent; voicemail requests keep theirs on the
    # CallbackRequest. Erased with the callback numbers (hotline/crisis/retention.py).
    number = EncryptedCharField(_("number to call back"), max_length=20, blank=True)
    notes = EncryptedTextField(_("outcome notes"), blank=True, max_length=5000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), db_index=True)
    updated_at = models.DateTimeField(_("last changed at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    # Set in the same transaction as the overdue SMS: a follow-up is reported overdue once.
    overdue_alerted_at = models.DateTimeField(_("overdue alert sent at"), null=True, blank=True)
    notes_purged_at = models.DateTimeField(_("notes erased at"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(status="open", overdue_alerted_at__isnull=True),
                name="followup_overdue_idx",
            ),
            models.Index(fields=["assignee", "status"], name="followup_assignee_idx"),
        ]
        constraints = [
            # One open follow-up of a kind per report / callback request: a replayed webhook
            # or a re-saved report never makes a second one.
            models.UniqueConstraint(
                fields=["report", "kind"],
                condition=Q(status="open", report__isnull=False),
                name="followup_one_open_per_report",
            ),
            models.UniqueConstraint(
                fields=["callback"],
                condition=Q(status="open", callback__isnull=False),
                name="followup_one_open_per_callback",
            ),
        ]

    def __str__(self) -> str:
        return f"follow-up {self.pk} · {self.kind} · {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    def is_overdue(self, now) -> bool:
        return self.is_open and self.due_at < now

    @property
    def best_time_text(self) -> str:
        """The best time to call in the reader's language: a voicemail caller's key press is
        kept as its code ("morning") and translated when shown; typed words stay as typed."""
        if self.best_time in CallbackBestTime.values:
            return str(CallbackBestTime(self.best_time).label)
        return self.best_time


class CallBackAttempt(models.Model):
    """One call-back through the hotline: the volunteer's phone rings first, then the caller
    is dialled with the hotline's number as caller ID. Its result is logged here."""

    class Result(models.TextChoices):
        PENDING = "", _("ringing the volunteer")
        CONNECTED = "connected", _("connected to the caller")
        CALLER_NO_ANSWER = "caller_no_answer", _("the caller did not answer")
        VOLUNTEER_NO_ANSWER = "volunteer_no_answer", _("the volunteer did not answer")
        DECLINED = "declined", _("the volunteer did not press 1")
        FAILED = "failed", _("could not be placed")

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="attempts")
    volunteer = models.ForeignKey(
        "hotline.Volunteer", on_delete=models.PROTECT, related_name="callback_attempts"
    )
    leg_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    result = models.CharField(_("result"), max_length=20, choices=Result.choices, blank=True)
    error = models.CharField(max_length=300, blank=True)
    dial_status = models.CharField(max_length=20, blank=True)
    duration = models.PositiveIntegerField(_("talk time (seconds)"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = _("call-back attempt")
        verbose_name_plural = _("call-back attempts")

    def __str__(self) -> str:
        return f"call-back {self.pk} on follow-up {self.follow_up_id}: {self.result or 'ringing'}"


class FollowUpSms(models.Model):
    """One SMS sent to the caller of a follow-up, through the outbox and from the hotline's
    number (never the volunteer's). The text and the number are on the outbox Message;
    retention erases both there (hotline/crisis/retention.py)."""

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="sms")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    message = models.ForeignKey(
        "hotline.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("outbox message"),
    )
    length = models.PositiveSmallIntegerField(_("length (characters)"))
    created_at = models.DateTimeField(_("sent at"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("follow-up SMS")
        verbose_name_plural = _("follow-up SMS")

    def __str__(self) -> str:
        return f"SMS {self.pk} on follow-up {self.follow_up_id}"


# For drf-spectacular's ENUM_NAME_OVERRIDES (it imports a module attribute by path).
FOLLOW_UP_KINDS = FollowUp.Kind.choices
FOLLOW_UP_SOURCES = FollowUp.Source.choices
FOLLOW_UP_STATUSES = FollowUp.Status.choices
