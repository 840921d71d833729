from rest_framework import serializers

from hotline.models import Call, CallbackRequest


class CallSerializer(serializers.ModelSerializer):
    """A call record. Never carries the caller's number (not even its hash)."""

    answered_by = serializers.PrimaryKeyRelatedField(read_only=True)
    earlier_calls_30d = serializers.IntegerField(
        source="earlier_calls",
        read_only=True,
        help_text="Calls from the same number in the 30 days before this one (from the "
        "caller hash; 0 when the number was withheld).",
    )

    class Meta:
        model = Call
        fields = [
            "id",
            "call_sid",
            "hotline",
            "category",
            "outcome",
            "answered_by",
            "arrived_at",
            "answered_at",
            "ended_at",
            "duration",
            "earlier_calls_30d",
        ]
        read_only_fields = fields


class CallbackSerializer(serializers.ModelSerializer):
    """A callback request. `number` is the caller's full number: only coordinators and
    supervisors can list callbacks at all."""

    call = serializers.PrimaryKeyRelatedField(read_only=True)
    done_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CallbackRequest
        fields = ["id", "call", "hotline", "number", "requested_at", "done_at", "done_by", "note"]
        read_only_fields = fields


class CallbackDoneSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
