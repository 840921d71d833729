import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from hotline.models import Hotline, Role, Volunteer

REQUIREMENT_FIELDS = {
    Role.COUNSELLOR: "required_counsellors",
    Role.FAMILY_EDUCATOR: "required_family_educators",
    Role.SUPERVISOR: "required_supervisors",
}


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
        if self.crisis_trained_required > self.required_counsellors:
            raise ValidationError(
                {
                    "crisis_trained_required": _(
                        "Cannot require more crisis-trained counsellors than counsellors."
                    )
                }
            )


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
    # Monday=0 … Sunday=6, as in datetime.weekday().
    weekdays = models.JSONField(_("weekdays"), default=list, help_text=_("0 = Monday … 6 = Sunday"))
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
        if self.first_day and self.last_day and self.last_day < self.first_day:
            raise ValidationError({"last_day": _("The last day cannot be before the first day.")})

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
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("A shift must end after it starts.")})

    @property
    def hotline(self) -> Hotline:
        return self.roster.hotline

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

    def clean(self) -> None:
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("Time off must end after it starts.")})


# --- Volunteers on their own: calendar feeds, swaps, reminders, change notices ------------


class CalendarToken(models.Model):
    """The secret in a calendar feed URL. Good for that feed only; rotating replaces it, so the
    old URL stops working at once. One per user and kind."""

    class Kind(models.TextChoices):
        SHIFTS = "shifts", _("my shifts")
        OPEN = "open", _("unfilled slots")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_tokens"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SHIFTS)
    token = models.CharField(_("token"), max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(_("rotated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar token")
        verbose_name_plural = _("calendar tokens")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_calendar_token_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.kind}"


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


from scheduling.builder_models import *  # noqa: E402,F403

# Choice sets named for the API schema (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
AVAILABILITY_KINDS = Availability.Kind.choices
SWAP_KINDS = SwapRequest.Kind.choices
