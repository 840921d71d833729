"""Rosters, shift patterns, shifts and the assignments that fill them."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from hotline.models import Hotline, Role, Volunteer
from scheduling.validators import (
    validate_requirements,
    validate_roster_days,
    validate_shift_in_roster,
    validate_shift_span,
)

REQUIREMENT_FIELDS = {
    Role.COUNSELLOR: "required_counsellors",
    Role.FAMILY_EDUCATOR: "required_family_educators",
    Role.SUPERVISOR: "required_supervisors",
}


# The requirement fields a staged shift edit may change (Shift.pending_requirements).
PENDING_REQUIREMENT_FIELDS = (*REQUIREMENT_FIELDS.values(), "crisis_trained_required")


class Requirements(models.Model):
    """Seats per role, shared by shift patterns and shifts."""

    required_counsellors = models.PositiveSmallIntegerField(
        _("counsellors"), default=0, validators=[MaxValueValidator(50)]
    )
    required_family_educators = models.PositiveSmallIntegerField(
        _("family-education experts"), default=0, validators=[MaxValueValidator(50)]
    )
    required_supervisors = models.PositiveSmallIntegerField(
        _("supervisors"), default=0, validators=[MaxValueValidator(50)]
    )
    crisis_trained_required = models.PositiveSmallIntegerField(
        _("of the counsellors, crisis-trained"), default=0
    )

    class Meta:
        abstract = True

    @property
    def requirements(self) -> dict[str, int]:
        return {str(role): getattr(self, field) for role, field in REQUIREMENT_FIELDS.items()}

    def required(self, role: str) -> int:
        field = REQUIREMENT_FIELDS.get(role)
        return getattr(self, field) if field else 0

    def clean(self) -> None:
        super().clean()
        validate_requirements(self.required_counsellors, self.crisis_trained_required)


class ShiftPattern(Requirements):
    """A recurring shift, in the hotline's local time: e.g. every day 20:00 to 08:00."""

    hotline = models.ForeignKey(
        Hotline, on_delete=models.CASCADE, related_name="shift_patterns", verbose_name=_("hotline")
    )
    name = models.CharField(_("name"), max_length=100)
    start_time = models.TimeField(_("starts (local time)"))
    end_time = models.TimeField(
        _("ends (local time)"), help_text=_("At or before the start means the next day.")
    )

    class Days(models.TextChoices):
        ALL = "all", _("its weekdays, holidays or not")
        WORKDAYS = (
            "workdays",
            _("working days: its weekdays except public holidays, and make-up working days"),
        )
        HOLIDAYS = "holidays", _("public holidays only")

    # Monday=0 … Sunday=6, as in datetime.weekday().
    weekdays = models.JSONField(_("weekdays"), default=list, help_text=_("0 = Monday … 6 = Sunday"))
    # Chinese public holidays and make-up working days (scheduling.holidays): a holiday
    # pattern of its own, or a pattern that keeps to working days.
    days = models.CharField(
        _("runs on"),
        max_length=10,
        choices=Days.choices,
        default=Days.ALL,
        help_text=_("Holidays follow the mainland calendar (hotlines in a mainland time zone)."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["hotline", "start_time"]
        verbose_name = _("shift pattern")
        verbose_name_plural = _("shift patterns")
        constraints = [
            models.CheckConstraint(
                condition=Q(crisis_trained_required__lte=F("required_counsellors")),
                name="pattern_crisis_within_counsellors",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hotline} {self.name}"

    def clean(self) -> None:
        super().clean()
        days = self.weekdays if isinstance(self.weekdays, list) else None
        # A holiday pattern needs no weekdays: the holidays are its days.
        if days == [] and self.days == self.Days.HOLIDAYS:
            return
        if not days or any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
            raise ValidationError({"weekdays": _("List weekdays as numbers 0 (Monday) to 6.")})

    def runs_on(self, day: dt.date) -> bool:
        return day.weekday() in (self.weekdays or [])


class Roster(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    hotline = models.ForeignKey(
        Hotline, on_delete=models.PROTECT, related_name="rosters", verbose_name=_("hotline")
    )
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["hotline", "-first_day"]
        verbose_name = _("roster")
        verbose_name_plural = _("rosters")
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__gte=F("first_day")), name="roster_last_after_first"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hotline} {self.first_day:%Y-%m-%d}–{self.last_day:%Y-%m-%d}"

    def clean(self) -> None:
        super().clean()
        validate_roster_days(self.first_day, self.last_day)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class Shift(Requirements):
    roster = models.ForeignKey(
        Roster,
        on_delete=models.CASCADE,
        related_name="shifts",
        verbose_name=_("roster"),
        db_index=False,  # shift_roster_end_idx starts with it
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    pattern = models.ForeignKey(
        ShiftPattern, on_delete=models.SET_NULL, null=True, blank=True, related_name="shifts"
    )
    # A staged edit of a published shift (docs/roster-changes.md): the new times and seats wait
    # here until the roster's changes are published. Volunteers, feeds, reminders and call
    # routing read `starts_at`/`ends_at` and the requirement fields above, never these.
    pending_starts_at = models.DateTimeField(
        _("new start, pending publication"), null=True, blank=True
    )
    pending_ends_at = models.DateTimeField(_("new end, pending publication"), null=True, blank=True)
    # {requirement field name: seats} for the requirement fields with a pending change.
    pending_requirements = models.JSONField(
        _("new seats, pending publication"), default=dict, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="shift_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(crisis_trained_required__lte=F("required_counsellors")),
                name="shift_crisis_within_counsellors",
            ),
        ]
        indexes = [
            models.Index(fields=["starts_at", "ends_at"], name="shift_span_idx"),
            # "Is a shift of this roster on now?" seeks straight past the roster's ended
            # shifts: the incoming-call webhook asks it of every roster of the hotline.
            models.Index(fields=["roster", "ends_at"], name="shift_roster_end_idx"),
        ]

    def __str__(self) -> str:
        start, end = self.local_start, self.local_end
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"

    def clean(self) -> None:
        super().clean()
        validate_shift_span(self.starts_at, self.ends_at)
        if self.roster_id is not None:
            validate_shift_in_roster(self.starts_at, self.roster)

    @property
    def hotline(self) -> Hotline:
        return self.roster.hotline

    @property
    def has_pending_edit(self) -> bool:
        return bool(
            self.pending_starts_at is not None
            or self.pending_ends_at is not None
            or self.pending_requirements
        )

    def planned(self) -> "Shift":
        """The shift as it will be once its roster's changes are published: an unsaved copy
        with the staged edit applied (itself when there is none)."""
        if not self.has_pending_edit:
            return self
        copy = Shift(
            pk=self.pk,
            roster_id=self.roster_id,
            pattern_id=self.pattern_id,
            starts_at=self.pending_starts_at or self.starts_at,
            ends_at=self.pending_ends_at or self.ends_at,
            required_counsellors=self.required_counsellors,
            required_family_educators=self.required_family_educators,
            required_supervisors=self.required_supervisors,
            crisis_trained_required=self.crisis_trained_required,
        )
        for name, value in self.pending_requirements.items():
            if name in PENDING_REQUIREMENT_FIELDS:
                setattr(copy, name, value)
        if Shift.roster.is_cached(self):
            copy.roster = self.roster
        return copy

    @property
    def local_start(self) -> dt.datetime:
        return self.starts_at.astimezone(self.roster.hotline.tz)

    @property
    def local_end(self) -> dt.datetime:
        return self.ends_at.astimezone(self.roster.hotline.tz)

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600


class Assignment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        CANCELLED = "cancelled", _("cancelled")
        # A staged addition to a published roster: nobody but coordinators sees it until
        # the roster's changes are published (scheduling.services.roster_publish).
        PENDING = "pending", _("pending publication")

    class Source(models.TextChoices):
        MANUAL = "manual", _("by hand")
        AUTO = "auto", _("automatic builder")
        SWAP = "swap", _("swap")

    shift = models.ForeignKey(
        Shift, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("shift")
    )
    volunteer = models.ForeignKey(
        Volunteer,
        on_delete=models.PROTECT,
        related_name="assignments",
        verbose_name=_("volunteer"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    locked = models.BooleanField(
        _("locked"), default=False, help_text=_("The automatic builder keeps locked assignments.")
    )
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.MANUAL
    )
    # Grows on every change; calendar feeds use it as SEQUENCE.
    sequence = models.PositiveIntegerField(_("sequence"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("made by"),
    )
    override_reason = models.TextField(_("override reason"), blank=True)
    overridden_rules = models.JSONField(_("overridden rules"), default=list, blank=True)
    # Why the automatic builder made this change (added, or cancelled it): the solver's
    # change entry (scheduling.solver.diff), rendered in each reader's language.
    change_reason = models.JSONField(_("reason for the change"), default=dict, blank=True)
    # A staged removal: the assignment stays active (volunteers, feeds, reminders and call
    # routing still see it) until the roster's changes are published, or is kept on discard.
    pending_cancel = models.BooleanField(_("removal pending publication"), default=False)
    # The builder's reason for a staged removal; becomes `change_reason` when published.
    pending_reason = models.JSONField(_("reason for the pending removal"), default=dict, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shift__starts_at", "role", "id"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["shift", "volunteer"],
                condition=Q(status="active"),
                name="one_active_assignment_per_volunteer_per_shift",
            ),
            models.UniqueConstraint(
                fields=["shift", "volunteer"],
                condition=Q(status="pending"),
                name="one_pending_assignment_per_volunteer_per_shift",
            ),
        ]
        indexes = [
            models.Index(fields=["volunteer", "status"], name="assignment_volunteer_idx"),
            models.Index(fields=["shift", "status", "role"], name="assignment_shift_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer} · {self.get_role_display()} · {self.shift}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_pending(self) -> bool:
        """A staged change not yet published: an addition, or the removal of this one."""
        return self.status == self.Status.PENDING or self.pending_cancel
