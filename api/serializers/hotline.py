from rest_framework import serializers

from api.serializers.common import PhoneNumberField
from hotline.models import Hotline


class HotlineSerializer(serializers.ModelSerializer):
    phone_number = PhoneNumberField(max_length=30)

    class Meta:
        model = Hotline
        fields = [
            "id",
            "name",
            "phone_number",
            "language",
            "time_zone",
            "min_rest_hours",
            "allow_back_to_back",
            "ring_batch_size",
            "ring_timeout",
            "auto_approve_swaps",
            "ack_window_minutes",
        ]
