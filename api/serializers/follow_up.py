from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from hotline.followups.callbacks import number_to_call
from hotline.followups.messages import BODY_MAX
from hotline.models import CallBackAttempt, FollowUp, FollowUpSms, Volunteer


class CallBackAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallBackAttempt
        fields = ["id", "volunteer", "result", "dial_status", "duration", "started_at", "ended_at"]
        read_only_fields = fields


class FollowUpSmsSerializer(serializers.ModelSerializer):
    """One SMS sent to the caller: who, when, how long, and the outbox's status (never the
    number; the text stays on the follow-up page)."""

    status = serializers.CharField(source="message.status", read_only=True, default=None)

    class Meta:
        model = FollowUpSms
        fields = ["id", "sent_by", "length", "status", "created_at"]
        read_only_fields = fields


class FollowUpSendSmsSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=BODY_MAX)


class FollowUpListSerializer(serializers.ModelSerializer):
    """A follow-up in a list: no notes and no number (read one to see its notes; each
    read is audited)."""

    overdue = serializers.SerializerMethodField()
    assignee_name = serializers.CharField(
        source="assignee.display_name", read_only=True, default=None
    )

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "kind",
            "source",
            "status",
            "hotline",
            "call",
            "callback",
            "report",
            "escalation",
            "volunteer",
            "assignee",
            "assignee_name",
            "due_at",
            "overdue",
            "method",
            "safe_to_call",
            "safe_to_leave_message",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields

    def get_overdue(self, follow_up) -> bool:
        return follow_up.is_overdue(self.context["now"])


class FollowUpSerializer(FollowUpListSerializer):
    """One follow-up. Writable: `due_at` (not in the past), `assignee` (a volunteer's id;
    supervisors and coordinators only), `method`, the caller's safety answers,
    `best_time`, `notes`, and `number` (write-only: only its last four digits are shown)."""

    assignee = serializers.PrimaryKeyRelatedField(
        queryset=Volunteer.objects.filter(is_active=True), allow_null=True, required=False
    )
    due_at = serializers.DateTimeField(required=False)
    method = serializers.ChoiceField(choices=FollowUp.Method.choices, required=False)
    safe_to_call = serializers.BooleanField(allow_null=True, required=False)
    safe_to_leave_message = serializers.BooleanField(allow_null=True, required=False)
    best_time = serializers.CharField(max_length=200, allow_blank=True, required=False)
    notes = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    number = serializers.CharField(max_length=20, allow_blank=True, required=False, write_only=True)
    number_last4 = serializers.SerializerMethodField()
    attempts = CallBackAttemptSerializer(many=True, read_only=True)
    sms = FollowUpSmsSerializer(many=True, read_only=True)

    class Meta(FollowUpListSerializer.Meta):
        fields = [
            *FollowUpListSerializer.Meta.fields,
            "best_time",
            "notes",
            "number",
            "number_last4",
            "attempts",
            "sms",
            "updated_at",
        ]
        read_only_fields = [
            f
            for f in fields
            if f
            not in {
                "assignee",
                "due_at",
                "method",
                "safe_to_call",
                "safe_to_leave_message",
                "best_time",
                "notes",
                "number",
            }
        ]

    def get_number_last4(self, follow_up) -> str:
        return number_to_call(follow_up)[-4:]


class FollowUpCreateSerializer(serializers.Serializer):
    """Give `escalation` (confirm help arrived; supervisors and coordinators) or `call` (a
    call-back; the volunteer who answered it, or crisis staff)."""

    escalation = serializers.IntegerField(min_value=1, required=False)
    call = serializers.IntegerField(min_value=1, required=False)
    due_at = serializers.DateTimeField()
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=Volunteer.objects.filter(is_active=True), allow_null=True, required=False
    )
    method = serializers.ChoiceField(
        choices=FollowUp.Method.choices, required=False, default=FollowUp.Method.PHONE
    )
    safe_to_call = serializers.BooleanField(allow_null=True, required=False)
    safe_to_leave_message = serializers.BooleanField(allow_null=True, required=False)
    best_time = serializers.CharField(max_length=200, allow_blank=True, required=False)
    number = serializers.CharField(max_length=20, allow_blank=True, required=False)
    notes = serializers.CharField(max_length=5000, allow_blank=True, required=False, default="")

    def validate(self, attrs):
        if bool(attrs.get("escalation")) == bool(attrs.get("call")):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Give either an escalation or a call.")]}
            )
        return attrs


class FollowUpCompleteSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[
            (FollowUp.Status.DONE, FollowUp.Status.DONE.label),
            (FollowUp.Status.NOT_REACHED, FollowUp.Status.NOT_REACHED.label),
            (FollowUp.Status.CANCELLED, FollowUp.Status.CANCELLED.label),
        ]
    )
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
