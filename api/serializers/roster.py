from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from scheduling.models import Roster


class RosterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Roster
        fields = ["id", "hotline", "first_day", "last_day", "status", "published_at"]
        read_only_fields = ["status", "published_at"]

    def validate(self, attrs):
        first = attrs.get("first_day", getattr(self.instance, "first_day", None))
        last = attrs.get("last_day", getattr(self.instance, "last_day", None))
        if first and last and last < first:
            raise serializers.ValidationError(
                {"last_day": [_("The last day cannot be before the first day.")]}
            )
        if first and last and (last - first).days > 366:
            raise serializers.ValidationError({"last_day": [_("A roster covers at most a year.")]})
        return attrs
