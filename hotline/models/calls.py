"""Inbound calls: the menu categories, the call, its ring attempts and callback requests."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hotline.fields import EncryptedCharField
from hotline.models.hotlines import Hotline
from hotline.models.people import Role, Volunteer

# --- Calls --------------------------------------------------------------------------------


class Category(models.TextChoices):
    """What the caller asked for in the voice menu (the digit is the menu key)."""

    PSYCHOLOGICAL = "psychological", _("psychological support")
    FAMILY_EDUCATION = "family_education", _("family education")
    MEDICAL_FAMILY = "medical_family", _("medical-worker family support")


# Menu key → category, and category → the role that takes it.
MENU_KEYS = {
    "1": Category.PSYCHOLOGICAL,
    "2": Category.FAMILY_EDUCATION,
    "3": Category.MEDICAL_FAMILY,
}
CATEGORY_ROLE = {
    Category.PSYCHOLOGICAL: Role.COUNSELLOR,
    Category.FAMILY_EDUCATION: Role.FAMILY_EDUCATOR,
    Category.MEDICAL_FAMILY: Role.COUNSELLOR,
}


class NonDataType(models.TextChoices):
    """Calls that count but need no report, marked with one tap on the call's page."""

    SILENT = "silent", _("silent call")
    HANG_UP = "hang_up", _("hung up at once")
    WRONG_NUMBER = "wrong_number", _("wrong number")
    PRANK = "prank", _("prank call")
    ABUSIVE = "abusive", _("abusive call")
    TEST = "test", _("test call")


class Call(models.Model):
    """One inbound call, keyed by Twilio's CallSid. Never holds the caller's full number."""

    class State(models.TextChoices):
        MENU = "menu", _("in the menu")
        # Waiting in the queue, with or without volunteers' phones ringing for it.
        RINGING = "ringing", _("waiting for a volunteer")
        CONNECTED = "connected", _("connected")
        VOICEMAIL = "voicemail", _("in voicemail")
        ENDED = "ended", _("ended")

    class Outcome(models.TextChoices):
        ANSWERED = "answered", _("answered")
        VOICEMAIL = "voicemail", _("voicemail")
        MISSED = "missed", _("missed")
        ABANDONED = "abandoned", _("abandoned")
        OUT_OF_HOURS = "out_of_hours", _("out of hours")

    class Tier(models.TextChoices):
        VOLUNTEERS = "volunteers", _("volunteers on shift")
        SUPERVISORS = "supervisors", _("supervisors on shift")

    call_sid = models.CharField(_("call SID"), max_length=64, unique=True)
    hotline = models.ForeignKey(
        Hotline, on_delete=models.PROTECT, related_name="calls", verbose_name=_("hotline")
    )
    caller_hash = models.CharField(_("caller hash"), max_length=64, blank=True, db_index=True)
    caller_last4 = models.CharField(_("caller's last four digits"), max_length=4, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.MENU)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=Outcome.choices, blank=True, db_index=True
    )
    non_data_type = models.CharField(
        _("non-data call"), max_length=12, choices=NonDataType.choices, blank=True
    )

    class VoicemailReason(models.TextChoices):
        CLOSED = "closed", _("closed: no published shift")
        NOBODY_ON_SHIFT = "nobody_on_shift", _("nobody on shift for the service")
        ALL_BUSY_TIMEOUT = "all_busy_timeout", _("everyone busy until the wait limit")
        NOBODY_ANSWERED = "nobody_answered", _("everyone on shift rung, nobody answered")
        CALLER_CHOSE = "caller_chose", _("the caller chose voicemail")
        NOT_RECORDED = "not_recorded", _("ended before it could be recorded")

    # Why the caller went to voicemail (VoicemailReason).
    voicemail_reason = models.CharField(
        _("voicemail reason"), max_length=20, choices=VoicemailReason.choices, blank=True
    )
    twilio_status = models.CharField(_("Twilio status"), max_length=20, blank=True)
    menu_attempts = models.PositiveSmallIntegerField(default=0)
    # The caller's preference from the second menu: "female" or "lang:<code>"; blank: none.
    wants = models.CharField(
        _("caller's preference"), max_length=20, blank=True, default="", db_default=""
    )
    # Routing state, kept in the database so any process (webhook, task) can move it on.
    ring_tier = models.CharField(max_length=12, choices=Tier.choices, blank=True)
    ring_batch = models.PositiveSmallIntegerField(default=0)
    batch_deadline = models.DateTimeField(null=True, blank=True)
    # When the caller, found alone on the call (their volunteer gone), was sent to the
    # words of voice/volunteer-gone: once, whichever event or sweep found it first.
    alone_told_at = models.DateTimeField(null=True, blank=True)
    # Indexed only where set (Meta.indexes): a new call has neither, so its INSERT
    # touches fewer index pages on the incoming-call path.
    answered_by = models.ForeignKey(
        Volunteer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="answered_calls",
        verbose_name=_("answered by"),
    )
    shift = models.ForeignKey(
        "scheduling.Shift",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="calls",
        verbose_name=_("shift"),
    )
    arrived_at = models.DateTimeField(_("arrived at"), db_index=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    duration = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    # Where Twilio reaches us, as seen on the incoming webhook: leg URLs are built from it.
    webhook_base = models.CharField(max_length=200, blank=True)
    # The voicemail, by SID only: it is played through our own page, fetched from Twilio with
    # our credentials (hotline/calls/recordings.py); its raw URL is never stored or shown.
    recording_sid = models.CharField(_("recording SID"), max_length=64, blank=True)
    recording_duration = models.PositiveIntegerField(
        _("recording length (seconds)"), null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-arrived_at", "-id"]
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        # Partial: rows where the column is NULL (every call as it arrives) stay out of these
        # indexes. A lookup by value (`answered_by=v`, `batch_deadline__lte=t`) implies
        # NOT NULL, so SQLite and PostgreSQL both use them.
        indexes = [
            models.Index(
                fields=["state", "batch_deadline"],
                condition=models.Q(batch_deadline__isnull=False),
                name="call_ringing_idx",
            ),
            # With arrived_at: a volunteer's calls, newest first, come from the index in
            # order (the calls list stops at its page instead of sorting years of them).
            models.Index(
                fields=["answered_by", "arrived_at"],
                condition=models.Q(answered_by__isnull=False),
                name="call_answered_by_arrived_idx",
            ),
            models.Index(
                fields=["shift"], condition=models.Q(shift__isnull=False), name="call_shift_idx"
            ),
            # Statistics (hotline/stats/): a hotline's calls in a period, without reading
            # every other hotline's or every other year's.
            models.Index(fields=["hotline", "arrived_at"], name="call_hotline_arrived_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.call_sid} · {self.get_outcome_display() or self.get_state_display()}"

    @property
    def queue_name(self) -> str:
        return f"call-{self.pk}"

    @property
    def wait_seconds(self) -> int | None:
        if self.answered_at is None:
            return None
        return int((self.answered_at - self.arrived_at).total_seconds())


class CallAttempt(models.Model):
    """One volunteer offered one call: an outbound leg dialled through the REST API."""

    class Result(models.TextChoices):
        PENDING = "", _("ringing")
        ACCEPTED = "accepted", _("accepted")
        NO_ANSWER = "no-answer", _("no answer")
        BUSY = "busy", _("busy")
        DECLINED = "declined", _("declined")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped: unusable number")
        CANCELLED = "cancelled", _("cancelled: taken by another")
        LATE = "late", _("accepted too late")

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="attempts")
    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="call_attempts")
    tier = models.CharField(max_length=12, choices=Call.Tier.choices)
    batch = models.PositiveSmallIntegerField()
    leg_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    leg_status = models.CharField(max_length=20, blank=True)
    result = models.CharField(max_length=10, choices=Result.choices, blank=True, db_index=True)
    error = models.CharField(max_length=500, blank=True)
    offered_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # An offer made on a phone leg already open for another attempt (that caller was taken
    # while this volunteer answered; they are offered the next waiting caller on the same
    # leg). The leg's status callbacks name the attempt that dialled it.
    leg_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="reoffers"
    )
    # When the dispatcher read this leg's status from Twilio, its final status callback
    # being late while a waiting caller needed the volunteer (queue._legs_to_read): once.
    leg_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["offered_at", "id"]
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")
        constraints = [
            # One open offer of a caller to a volunteer at a time. A phone that rang
            # unanswered may be rung once more for the same caller (queue.RETRY_AFTER).
            models.UniqueConstraint(
                fields=["call", "volunteer"],
                condition=models.Q(result=""),
                name="attempt_open_once_per_call",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call_id} → {self.volunteer_id}: {self.result or 'ringing'}"


class CallJoin(models.Model):
    """Someone brought onto a live call's conference: a supervisor listening (muted) or
    speaking, asked for from the escalation page or by the volunteer on the call."""

    class Mode(models.TextChoices):
        LISTEN = "listen", _("listening (muted)")
        SPEAK = "speak", _("speaking")

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="joins")
    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.CASCADE, related_name="call_joins", verbose_name=_("who")
    )
    mode = models.CharField(_("mode"), max_length=6, choices=Mode.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("asked for by"),
    )
    requested_at = models.DateTimeField(_("asked for at"))
    leg_sid = models.CharField(max_length=64, blank=True)
    joined_at = models.DateTimeField(_("joined at"), null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # A warm transfer: the volunteer brought the supervisor in with the key sequence, the
    # caller on hold while they talk; `handed_over_at`: the volunteer left the caller with
    # the supervisor. `ended_at`: the supervisor's leg ended (answered or not).
    transfer = models.BooleanField(_("warm transfer"), default=False)
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        verbose_name = _("call join")
        verbose_name_plural = _("call joins")

    def __str__(self) -> str:
        return f"{self.call_id} + {self.volunteer_id} ({self.mode})"


class RingRotation(models.Model):
    """When each volunteer was last offered a call: the fair-rotation order."""

    volunteer = models.OneToOneField(
        Volunteer, on_delete=models.CASCADE, primary_key=True, related_name="ring_rotation"
    )
    last_offered_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("ring rotation")
        verbose_name_plural = _("ring rotation")

    def __str__(self) -> str:
        return f"{self.volunteer_id} last offered {self.last_offered_at:%Y-%m-%d %H:%M}"


class CallbackBestTime(models.TextChoices):
    """When a caller who left a voicemail said is best to reach them (a key press)."""

    MORNING = "morning", _("morning")
    AFTERNOON = "afternoon", _("afternoon")
    EVENING = "evening", _("evening")
    ANY = "any", _("any time")


class CallbackRequest(models.Model):
    """A caller asked to be called back. The one place a full caller number is kept:
    encrypted, like the note (hotline/fields.py), and erased after RETENTION_DAYS_CALLBACK.

    The caller's safety answers, given by key presses before the message (None / "": no key,
    or a key that means nothing): carried to the follow-up the request makes."""

    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="callback")
    hotline = models.ForeignKey(Hotline, on_delete=models.PROTECT, related_name="callbacks")
    number = EncryptedCharField(_("number to call back"), max_length=20)
    requested_at = models.DateTimeField(_("requested at"), db_index=True)
    done_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("called back by"),
    )
    note = EncryptedCharField(_("note"), max_length=500, blank=True)
    safe_to_call = models.BooleanField(_("safe to call back"), null=True, blank=True)
    safe_to_leave_message = models.BooleanField(_("safe to leave a message"), null=True, blank=True)
    best_time = models.CharField(
        _("best time to call"), max_length=10, choices=CallbackBestTime.choices, blank=True
    )

    class Meta:
        ordering = ["requested_at", "id"]
        verbose_name = _("callback request")
        verbose_name_plural = _("callback requests")

    def __str__(self) -> str:
        return f"callback {self.call_id}"
