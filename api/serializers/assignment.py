from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from api.serializers.common import ManagedChoicesMixin
from hotline.models import Role
from scheduling.models import Assignment


class AssignmentSerializer(ManagedChoicesMixin, serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices)
    override_reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "shift",
            "volunteer",
            "role",
            "status",
            "locked",
            "override_reason",
            "source",
            "sequence",
            "pending_cancel",
        ]
        # status "pending" / pending_cancel: a staged change of a published roster
        # (docs/roster-changes.md).
        read_only_fields = ["status", "source", "sequence", "pending_cancel"]

    def validate(self, attrs):
        if self.instance is not None:
            for field in ("shift", "volunteer"):
                if field in attrs and attrs[field] != getattr(self.instance, field):
                    raise serializers.ValidationError(
                        {field: [_("Cancel this assignment and create a new one instead.")]}
                    )
        return attrs
