from rest_framework import serializers

from hotline.models import MessageChannel
from scheduling.models import SwapRequest


class SwapRequestSerializer(serializers.ModelSerializer):
    shift = serializers.IntegerField(source="assignment.shift_id", read_only=True)
    role = serializers.CharField(source="assignment.role", read_only=True)
    starts_at = serializers.DateTimeField(source="assignment.shift.starts_at", read_only=True)
    ends_at = serializers.DateTimeField(source="assignment.shift.ends_at", read_only=True)
    hotline = serializers.IntegerField(source="assignment.shift.roster.hotline_id", read_only=True)

    class Meta:
        model = SwapRequest
        fields = [
            "id",
            "assignment",
            "kind",
            "status",
            "note",
            "offered_by",
            "claimant",
            "new_assignment",
            "auto_approved",
            "reject_reason",
            "shift",
            "role",
            "starts_at",
            "ends_at",
            "hotline",
            "created_at",
            "claimed_at",
            "decided_at",
        ]
        read_only_fields = [f for f in fields if f not in ("assignment", "kind", "note")]


class SwapRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class CalendarLinkSerializer(serializers.Serializer):
    url = serializers.URLField(read_only=True)
    webcal_url = serializers.CharField(read_only=True)


class ReminderPreferenceSerializer(serializers.Serializer):
    reminders_enabled = serializers.BooleanField()


class ChannelPreferenceSerializer(serializers.Serializer):
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=MessageChannel.choices),
        allow_empty=True,
        help_text="In order; empty: each kind of message's default order.",
    )
    wecom_user_id = serializers.CharField(max_length=64, allow_blank=True, required=False)


class CalendarImportSerializer(serializers.Serializer):
    file = serializers.FileField()


class CalendarImportResultSerializer(serializers.Serializer):
    imported = serializers.IntegerField()
