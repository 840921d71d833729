"""The SMS outbox and the replay guard for incoming SMS."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from hotline.models.people import MessageChannel

EMPTY_LIST = models.Value([], output_field=models.JSONField())
EMPTY_DICT = models.Value({}, output_field=models.JSONField())


class Message(models.Model):
    """One outbound message in the outbox. Sent by a background task; never twice for one
    key. With a `recipient`, it goes over their channels in order (`channels`), falling back
    to the next when one fails; `channel` is the one in use, `channel_log` what happened on
    each (hotline/sms/channels.py)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        UNDELIVERED = "undelivered", _("undelivered")
        FAILED = "failed", _("failed")

    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    to = models.CharField(_("to"), max_length=20)
    # A number in E.164 or a Messaging Service SID ("MG" + 32 hex digits): TWILIO_SMS_FROM
    # may be either, and PostgreSQL refuses a longer value where SQLite would keep it.
    from_number = models.CharField(_("from"), max_length=34, blank=True)
    body = models.TextField(_("text"))
    purpose = models.CharField(_("purpose"), max_length=40, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # The provider's id for what was sent: a Twilio message or call SID, a WeCom msgid, an
    # Alibaba Cloud BizId (the column keeps its first name).
    twilio_sid = models.CharField(
        _("provider id"), max_length=64, null=True, blank=True, unique=True
    )
    recipient = models.ForeignKey(
        "hotline.Volunteer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recipient"),
    )
    # db_default on every new column: messages queued by code older than them (a rolling
    # upgrade) are plain SMS, as before.
    channel = models.CharField(_("channel"), max_length=8, default="sms", db_default="sms")
    channels = models.JSONField(
        _("channels, in order"), default=list, db_default=EMPTY_LIST, blank=True
    )
    channel_log = models.JSONField(
        _("what each channel did"), default=list, db_default=EMPTY_LIST, blank=True
    )
    # What the texts of this kind (`purpose`) are made of, for channels that cannot carry
    # `body` as it is (templates, no links, spoken); no caller details ever.
    params = models.JSONField(_("text parameters"), default=dict, db_default=EMPTY_DICT, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True, db_default="")
    # Set when the message is no longer wanted (an escalation taken): no further channel.
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "purpose", "sent_at"], name="message_recipient_kind_idx"
            )
        ]
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS outbox")

    def __str__(self) -> str:
        return f"{self.to} · {self.get_status_display()} · {self.dedupe_key}"

    @property
    def channel_label(self) -> str:
        try:
            return str(MessageChannel(self.channel).label)
        except ValueError:
            return self.channel


class InboundSms(models.Model):
    """Replay guard for incoming SMS: the MessageSid only, never the sender or the text."""

    message_sid = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("incoming SMS")
        verbose_name_plural = _("incoming SMS")

    def __str__(self) -> str:
        return self.message_sid
