from rest_framework import serializers

from hotline.models import Escalation


class EscalationSerializer(serializers.ModelSerializer):
    """An escalation as supervisors see it. No caller details (there are none to give)."""

    call = serializers.PrimaryKeyRelatedField(read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Escalation
        fields = [
            "id",
            "call",
            "status",
            "tier",
            "opened_at",
            "acknowledged_at",
            "acknowledged_by",
            "outcome",
            "hotline",
            "round",
            "source",
            "risk_level",
            "code",
            "next_advance_at",
            "ack_channel",
            "resolved_at",
            "resolved_by",
        ]
        read_only_fields = fields


class EscalationRaiseSerializer(serializers.Serializer):
    call = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=2000)


class EscalationResolveSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Escalation.Outcome.choices)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
