from rest_framework import serializers

from api.serializers.common import ManagedChoicesMixin
from scheduling.models import Roster
from scheduling.validators import validate_roster_days


class RosterSerializer(ManagedChoicesMixin, serializers.ModelSerializer):
    class Meta:
        model = Roster
        fields = ["id", "hotline", "first_day", "last_day", "status", "published_at"]
        read_only_fields = ["status", "published_at"]

    def validate(self, attrs):
        validate_roster_days(
            attrs.get("first_day", getattr(self.instance, "first_day", None)),
            attrs.get("last_day", getattr(self.instance, "last_day", None)),
        )
        return attrs
