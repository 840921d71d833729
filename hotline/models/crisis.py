"""Crisis work: call reports (+ addenda), escalations and their alerts, the audit log.

Foreign keys to the call models are string references, so this module imports no other
model module. Services live in hotline/crisis/. Every free-text field here can hold what a
caller said: each is stored encrypted (hotline/fields.py), and none can be searched in SQL.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from hotline.fields import EncryptedCharField, EncryptedTextField


class RiskLevel(models.IntegerChoices):
    NONE = 0, _("0 · none")
    LOW = 1, _("1 · low")
    MODERATE = 2, _("2 · moderate")
    HIGH = 3, _("3 · high")
    IMMINENT = 4, _("4 · imminent")


# Shown next to each level wherever a volunteer chooses one.
RISK_DESCRIPTIONS = {
    RiskLevel.NONE: _("No sign of risk to the caller or anyone else."),
    RiskLevel.LOW: _("Distressed, but no thoughts of harming self or others."),
    RiskLevel.MODERATE: _(
        "Thoughts of harm without a plan; support and protective factors present."
    ),
    RiskLevel.HIGH: _(
        "Thoughts of harm with a plan or means, or violence at home: a supervisor is alerted."
    ),
    RiskLevel.IMMINENT: _(
        "Danger now: an attempt under way or expected within hours: a supervisor is alerted."
    ),
}

# A report at this level or above opens an escalation by itself.
ESCALATION_RISK = RiskLevel.HIGH


class ReportCategory(models.TextChoices):
    """The call menu's categories, plus `other`: the first codes of the category table
    (hotline.TaxonomyCategory), which is what reports are checked against now."""

    PSYCHOLOGICAL = "psychological", _("psychological support")
    FAMILY_EDUCATION = "family_education", _("family education")
    MEDICAL_FAMILY = "medical_family", _("medical-worker family support")
    OTHER = "other", _("other")


class CallerSex(models.TextChoices):
    FEMALE = "female", _("female")
    MALE = "male", _("male")
    OTHER = "other", _("other or not said")


class CallerAgeBand(models.TextChoices):
    UNDER_18 = "under_18", _("under 18")
    AGE_18_29 = "18_29", _("18-29")
    AGE_30_44 = "30_44", _("30-44")
    AGE_45_59 = "45_59", _("45-59")
    AGE_60_PLUS = "60_plus", _("60 and over")


class CallerGroup(models.TextChoices):
    MEDICAL_FAMILY = "medical_family", _("medical worker or family")
    PREGNANT_NEW_MOTHER = "pregnant_new_mother", _("pregnant or new mother")
    SINGLE_MOTHER = "single_mother", _("single mother in hardship")
    PARENT = "parent", _("parent")
    OTHER = "other", _("other")


class CallReport(models.Model):
    """The answering volunteer's log of one call. Editable by its author for
    REPORT_EDIT_HOURS; after that only addenda. `summary` and `referral` are notes: erased
    after RETENTION_DAYS_NOTES; the other fields are statistics and stay."""

    call = models.OneToOneField(
        "hotline.Call", on_delete=models.CASCADE, related_name="report", verbose_name=_("call")
    )
    author = models.ForeignKey(
        "hotline.Volunteer",
        on_delete=models.PROTECT,
        related_name="call_reports",
        verbose_name=_("author"),
    )
    # Codes of the taxonomy tables (hotline/models/taxonomy.py): stable, so statistics
    # survive a renamed label; a deactivated code stays on the reports that have it.
    category = models.CharField(_("category"), max_length=40, db_index=True)
    sub_category = models.CharField(_("sub-category"), max_length=40, blank=True)
    caller_group = models.CharField(_("caller group"), max_length=40, db_index=True)
    actions = models.ManyToManyField(
        "hotline.TaxonomyAction",
        blank=True,
        related_name="reports",
        verbose_name=_("actions taken"),
    )
    # Minimum necessary: optional, and only as a band.
    caller_sex = models.CharField(
        _("caller's sex"), max_length=6, choices=CallerSex.choices, blank=True
    )
    caller_age_band = models.CharField(
        _("caller's age band"), max_length=8, choices=CallerAgeBand.choices, blank=True
    )
    summary = EncryptedTextField(_("summary"), blank=True, max_length=5000)
    risk_level = models.PositiveSmallIntegerField(
        _("risk level"),
        choices=RiskLevel.choices,
        validators=[MinValueValidator(0), MaxValueValidator(4)],
    )
    follow_up_needed = models.BooleanField(_("follow-up needed"), default=False)
    referral = EncryptedCharField(
        _("referral given"),
        max_length=300,
        blank=True,
        help_text=_("Where the caller was referred, if anywhere."),
    )
    # The directory entries the caller was referred to (statistics count them by category);
    # `referral` keeps free text for anything not in the directory.
    referred_resources = models.ManyToManyField(
        "hotline.Resource",
        blank=True,
        related_name="referrals",
        verbose_name=_("referred to (directory)"),
    )
    created_at = models.DateTimeField(_("filed at"), db_index=True)
    updated_at = models.DateTimeField(_("last changed at"))
    notes_purged_at = models.DateTimeField(_("notes erased at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("call report")
        verbose_name_plural = _("call reports")
        constraints = [
            models.CheckConstraint(
                condition=Q(risk_level__gte=0, risk_level__lte=4), name="report_risk_0_4"
            ),
        ]

    def __str__(self) -> str:
        return f"report on call {self.call_id} · risk {self.risk_level}"


class CallReportAddendum(models.Model):
    """A note added to a report after its edit window closed. Never changed afterwards."""

    report = models.ForeignKey(CallReport, on_delete=models.CASCADE, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = EncryptedTextField(_("addendum"), max_length=5000)
    created_at = models.DateTimeField(_("added at"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("report addendum")
        verbose_name_plural = _("report addenda")

    def __str__(self) -> str:
        return f"addendum {self.pk} to report {self.report_id}"


class Escalation(models.Model):
    """An alert chain for one call. The chain's whole state is here, so any worker can move
    it on: `tier`/`round` say who was alerted last, `next_advance_at` when to move on if
    nobody acknowledges. Tier 0 means "nobody alerted yet"."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("escalation status", "open")
        ACKNOWLEDGED = "acknowledged", _("acknowledged")
        RESOLVED = "resolved", _("resolved")

    class Outcome(models.TextChoices):
        EMERGENCY_SERVICES = "emergency_services", _("emergency services called")
        FOLLOW_UP_ARRANGED = "follow_up_arranged", _("follow-up arranged")
        REFERRED = "referred", _("referred")
        RESOLVED_ON_CALL = "resolved_on_call", _("resolved on the call")
        FALSE_ALARM = "false_alarm", _("false alarm")

    class Source(models.TextChoices):
        REPORT = "report", _("call report at high risk")
        MANUAL = "manual", _("raised by hand")

    class Channel(models.TextChoices):
        WEB = "web", _("web page")
        API = "api", _("API")
        SMS = "sms", _("SMS reply")
        VOICE = "voice", _("key press on an alert call")
        WECOM = "wecom", _("WeCom link")

    call = models.ForeignKey(
        "hotline.Call", on_delete=models.PROTECT, related_name="escalations", verbose_name=_("call")
    )
    hotline = models.ForeignKey(
        "hotline.Hotline",
        on_delete=models.PROTECT,
        related_name="escalations",
        verbose_name=_("hotline"),
    )
    report = models.ForeignKey(
        CallReport,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="escalations",
        verbose_name=_("call report"),
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("raised by"),
    )
    reason = EncryptedTextField(_("reason"), blank=True, max_length=2000)
    risk_level = models.PositiveSmallIntegerField(
        _("risk level"), choices=RiskLevel.choices, null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    # The short code of `ACK 4821`: unique among open escalations (a partial unique index).
    code = models.CharField(_("acknowledgement code"), max_length=4)
    tier = models.PositiveSmallIntegerField(_("tier reached"), default=0)
    round = models.PositiveSmallIntegerField(_("round"), default=0)
    next_advance_at = models.DateTimeField(_("next tier due at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), db_index=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    ack_channel = models.CharField(
        _("acknowledged through"), max_length=8, choices=Channel.choices, blank=True
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    resolution_notes = EncryptedTextField(_("resolution notes"), blank=True, max_length=5000)
    notes_purged_at = models.DateTimeField(_("notes erased at"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=Q(status="open"), name="escalation_code_unique_open"
            ),
            # One live chain per call: a report at risk 3 after a manual escalation joins it.
            models.UniqueConstraint(
                fields=["call"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="escalation_one_live_per_call",
            ),
            models.CheckConstraint(
                condition=Q(tier__gte=0, tier__lte=3), name="escalation_tier_0_3"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_advance_at"], name="escalation_due_idx"),
        ]

    def __str__(self) -> str:
        return f"escalation {self.pk} · call {self.call_id} · {self.status}"

    @property
    def reason_text(self) -> str:
        """The reason in the reader's language: a report's escalation says why in our words
        (its risk level), translated when shown; a reason a person typed stays as typed."""
        if self.source == self.Source.REPORT and self.risk_level is not None:
            return gettext("Call report at risk level %(level)s.") % {"level": self.risk_level}
        return self.reason


class EscalationAlert(models.Model):
    """One person alerted in one tier and round. Unique: with the SMS dedupe key derived
    from it, a retried or concurrent advance never alerts anyone twice."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="alerts")
    tier = models.PositiveSmallIntegerField(_("tier"))
    round = models.PositiveSmallIntegerField(_("round"))
    recipient = models.ForeignKey(
        "hotline.Volunteer",
        on_delete=models.PROTECT,
        related_name="escalation_alerts",
        verbose_name=_("recipient"),
    )
    message = models.ForeignKey(
        "hotline.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    alerted_at = models.DateTimeField(_("alerted at"))

    class Meta:
        ordering = ["alerted_at", "id"]
        verbose_name = _("escalation alert")
        verbose_name_plural = _("escalation alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "tier", "round", "recipient"], name="alert_once_per_round"
            ),
        ]

    def __str__(self) -> str:
        return f"escalation {self.escalation_id} t{self.tier} r{self.round} → {self.recipient_id}"

    @property
    def dedupe_key(self) -> str:
        return alert_dedupe_key(self.escalation_id, self.tier, self.round, self.recipient_id)


def alert_dedupe_key(escalation_id: int, tier: int, round_: int, recipient_id: int) -> str:
    return f"esc:{escalation_id}:t{tier}:r{round_}:v{recipient_id}"


class AuditLog(models.Model):
    """Who did or saw what, when. Written by hotline/crisis/audit.py only; never edited.
    `detail` holds ids and field names, never notes or caller details."""

    at = models.DateTimeField(_("when"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    # Kept when the user is gone, and names non-user actors ("system", "sms").
    actor_label = models.CharField(_("who (as recorded)"), max_length=150)
    action = models.CharField(_("what"), max_length=40, db_index=True)
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.PositiveBigIntegerField(_("object id"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"


# For drf-spectacular's ENUM_NAME_OVERRIDES (it imports a module attribute by path).
ESCALATION_OUTCOMES = Escalation.Outcome.choices
