"""Reminder preferences and the record of what each volunteer was told."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from hotline.models import Volunteer
from scheduling.models.rosters import Assignment


class ReminderPreference(models.Model):
    """A volunteer's choice about shift reminders (no row: reminders on)."""

    volunteer = models.OneToOneField(
        Volunteer, on_delete=models.CASCADE, related_name="reminder_preference", primary_key=True
    )
    reminders_enabled = models.BooleanField(
        _("send me SMS reminders before my shifts"), default=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reminder preference")
        verbose_name_plural = _("reminder preferences")

    def __str__(self) -> str:
        return f"{self.volunteer_id}: reminders {'on' if self.reminders_enabled else 'off'}"


class AssignmentNotice(models.Model):
    """What the volunteer was last told about an assignment of a published roster.

    Publishing (or the change sweep) compares it with the assignment: only volunteers whose
    assignments differ get an SMS. The fingerprint also catches changes made outside the
    services (e.g. a roster moved to another hotline) and raises the assignment's sequence.
    """

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="notice", primary_key=True
    )
    sequence = models.PositiveIntegerField()
    fingerprint = models.CharField(max_length=200)
    notified_at = models.DateTimeField()

    class Meta:
        verbose_name = _("assignment notice")
        verbose_name_plural = _("assignment notices")

    def __str__(self) -> str:
        return f"assignment {self.assignment_id} told at sequence {self.sequence}"
