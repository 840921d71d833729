from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hotline.models import Call, CallbackRequest


def recording_url(request, call_id: int) -> str:
    path = reverse("api:call-recording", kwargs={"pk": call_id})
    return request.build_absolute_uri(path) if request is not None else path


RECORDING_HELP = (
    "URL of the call's voicemail, played through this API (GET it with your credentials; "
    "the access is audited), or null: no voicemail, or not yours to hear. Twilio's own "
    "recording URL is never given out."
)


class CallSerializer(serializers.ModelSerializer):
    """A call record. Never carries the caller's number (not even its hash)."""

    answered_by = serializers.PrimaryKeyRelatedField(read_only=True)
    earlier_calls_30d = serializers.IntegerField(
        source="earlier_calls",
        read_only=True,
        help_text="Calls from the same number in the 30 days before this one (from the "
        "caller hash; 0 when the number was withheld).",
    )
    recording = serializers.SerializerMethodField(help_text=RECORDING_HELP)

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
            "recording",
            "non_data_type",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_recording(self, call: Call) -> str | None:
        # `recording_audible` is annotated by the view (hotline.calls.selectors).
        if not call.recording_sid or not getattr(call, "recording_audible", False):
            return None
        return recording_url(self.context.get("request"), call.pk)


class CallbackSerializer(serializers.ModelSerializer):
    """A callback request. `number` is the caller's full number: only coordinators and
    supervisors can list callbacks at all."""

    call = serializers.PrimaryKeyRelatedField(read_only=True)
    done_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    recording = serializers.SerializerMethodField(help_text=RECORDING_HELP)

    class Meta:
        model = CallbackRequest
        fields = [
            "id",
            "call",
            "hotline",
            "number",
            "requested_at",
            "done_at",
            "done_by",
            "note",
            "recording",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_recording(self, callback: CallbackRequest) -> str | None:
        # Whoever sees a callback may hear its voicemail (recordings_visible_to).
        if not callback.call.recording_sid:
            return None
        return recording_url(self.context.get("request"), callback.call_id)


class CallbackDoneSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class NonDataSerializer(serializers.Serializer):
    """`type`: silent, hang_up, wrong_number, prank, abusive, test; "" undoes it."""

    type = serializers.CharField(max_length=20, allow_blank=True)
