from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from api.serializers.common import AwareDateTimeField
from scheduling.models import Availability, TimeOff


class AvailabilitySerializer(serializers.ModelSerializer):
    weekday = serializers.IntegerField(
        min_value=0, max_value=6, help_text="0 = Monday … 6 = Sunday"
    )

    class Meta:
        model = Availability
        fields = ["id", "volunteer", "weekday", "start_time", "end_time", "kind"]

    def validate(self, attrs):
        start = attrs.get("start_time", getattr(self.instance, "start_time", None))
        end = attrs.get("end_time", getattr(self.instance, "end_time", None))
        if start is not None and start == end:
            raise serializers.ValidationError(
                {"end_time": [_("A window cannot start and end at the same time.")]}
            )
        return attrs


class TimeOffSerializer(serializers.ModelSerializer):
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()

    class Meta:
        model = TimeOff
        fields = ["id", "volunteer", "starts_at", "ends_at", "reason", "imported"]
        read_only_fields = ["imported"]

    def validate(self, attrs):
        starts = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts and ends and ends <= starts:
            raise serializers.ValidationError(
                {"ends_at": [_("Time off must end after it starts.")]}
            )
        return attrs
