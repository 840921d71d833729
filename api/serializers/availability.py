from rest_framework import serializers

from api.serializers.common import AwareDateTimeField, ManagedChoicesMixin
from scheduling.models import Availability, TimeOff
from scheduling.validators import validate_time_off_span, validate_window


class AvailabilitySerializer(ManagedChoicesMixin, serializers.ModelSerializer):
    weekday = serializers.IntegerField(
        min_value=0, max_value=6, help_text="0 = Monday … 6 = Sunday"
    )

    class Meta:
        model = Availability
        fields = ["id", "volunteer", "weekday", "start_time", "end_time", "kind"]

    def validate(self, attrs):
        validate_window(
            attrs.get("start_time", getattr(self.instance, "start_time", None)),
            attrs.get("end_time", getattr(self.instance, "end_time", None)),
        )
        return attrs


class TimeOffSerializer(ManagedChoicesMixin, serializers.ModelSerializer):
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()

    class Meta:
        model = TimeOff
        fields = ["id", "volunteer", "starts_at", "ends_at", "reason", "imported"]
        read_only_fields = ["imported"]

    def validate(self, attrs):
        validate_time_off_span(
            attrs.get("starts_at", getattr(self.instance, "starts_at", None)),
            attrs.get("ends_at", getattr(self.instance, "ends_at", None)),
        )
        return attrs
