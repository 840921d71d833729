from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from api.serializers.common import PhoneNumberField
from hotline.models import Hotline


class HotlineSerializer(serializers.ModelSerializer):
    # Declared explicitly, so the model's unique=True does not add this validator by itself.
    phone_number = PhoneNumberField(
        max_length=30, validators=[UniqueValidator(queryset=Hotline.objects.all())]
    )

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
            "max_queue_seconds",
            "auto_approve_swaps",
            "ack_window_minutes",
        ]
