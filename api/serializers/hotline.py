from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from api.serializers.common import ManagedChoicesMixin, PhoneNumberField
from hotline import access
from hotline.models import Hotline


class HotlineSerializer(ManagedChoicesMixin, serializers.ModelSerializer):
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
            "organisation",
        ]
        extra_kwargs = {"organisation": {"required": False, "allow_null": True}}

    def validate_organisation(self, value):
        # A coordinator's hotlines stay in the organisations they manage.
        if not access.manages_organisation(self.context["request"].user, value):
            raise serializers.ValidationError(_("Choose an organisation you manage."))
        return value

    def create(self, validated_data):
        # Left out: the coordinator's own organisation (so the new line stays theirs).
        if "organisation" not in validated_data:
            user = self.context["request"].user
            own = access.coordinator_organisation(user)
            if access.managed_organisation_ids(user) and own is not None:
                validated_data["organisation"] = own
        return super().create(validated_data)
