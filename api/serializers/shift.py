from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.common import AwareDateTimeField, ManagedChoicesMixin
from hotline.models import Role
from scheduling import services
from scheduling.models import REQUIREMENT_FIELDS, Shift
from scheduling.validators import (
    validate_requirements,
    validate_shift_in_roster,
    validate_shift_span,
)

MAX_SEATS = 50


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            role: {"type": "integer", "minimum": 0, "maximum": MAX_SEATS} for role in Role.values
        },
        "additionalProperties": False,
    }
)
class RequirementsField(serializers.Field):
    default_error_messages = {
        "not_a_dict": _(
            'Give requirements as {"counsellor": n, "family_educator": n, "supervisor": n}.'
        ),
        "unknown_role": _("“%(role)s” is not a role."),
        "bad_count": _("The count for %(role)s must be a whole number from 0 to %(max)d."),
    }

    def to_representation(self, shift):
        return shift.requirements

    def get_attribute(self, instance):
        return instance

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            # Not self.fail(): it runs str.format, and the message's braces are literal.
            raise serializers.ValidationError(self.error_messages["not_a_dict"], code="not_a_dict")
        result = {}
        for role, count in data.items():
            if role not in Role.values:
                raise serializers.ValidationError(
                    self.error_messages["unknown_role"] % {"role": role}
                )
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_SEATS:
                raise serializers.ValidationError(
                    self.error_messages["bad_count"] % {"role": role, "max": MAX_SEATS}
                )
            result[REQUIREMENT_FIELDS[role]] = count
        return result


def planned_shift_data(shift: Shift) -> dict | None:
    """A shift's staged edit as the API shows it (None when there is none): the shift as it
    will be once its roster's changes are published, times in the hotline's zone."""
    if not shift.has_pending_edit:
        return None
    planned = shift.planned()
    tz = shift.roster.hotline.tz
    return {
        "starts_at": planned.starts_at.astimezone(tz).isoformat(),
        "ends_at": planned.ends_at.astimezone(tz).isoformat(),
        "requirements": planned.requirements,
        "crisis_trained_required": planned.crisis_trained_required,
    }


PLANNED_SHIFT_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": (
        "The staged edit of a published shift, pending publication (null: none): the shift "
        "as it will be. Volunteers, feeds, reminders and call routing see the fields above."
    ),
    "properties": {
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time"},
        "requirements": {"type": "object", "additionalProperties": {"type": "integer"}},
        "crisis_trained_required": {"type": "integer"},
    },
}


@extend_schema_field(PLANNED_SHIFT_SCHEMA)
class PendingEditField(serializers.Field):
    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return instance

    def to_representation(self, shift):
        return planned_shift_data(shift)


class ShiftSerializer(ManagedChoicesMixin, serializers.ModelSerializer):
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    requirements = RequirementsField()
    crisis_trained_required = serializers.IntegerField(min_value=0, max_value=MAX_SEATS, default=0)
    pending = PendingEditField()
    change_mode = serializers.SerializerMethodField(
        help_text="After a write: direct (draft roster), staged (pending publication) or urgent "
        "(within the freeze window: applied now, volunteers told); null on reads."
    )

    class Meta:
        model = Shift
        fields = [
            "id",
            "roster",
            "starts_at",
            "ends_at",
            "requirements",
            "crisis_trained_required",
            "pending",
            "change_mode",
        ]

    def get_change_mode(self, instance) -> str | None:
        return getattr(instance, "change_mode", None)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Times in the hotline's own zone, with the offset: what the coordinator means.
        tz = instance.roster.hotline.tz
        data["starts_at"] = instance.starts_at.astimezone(tz).isoformat()
        data["ends_at"] = instance.ends_at.astimezone(tz).isoformat()
        return data

    def validate(self, attrs):
        requirements = attrs.pop("requirements", None)
        if requirements is not None:
            attrs.update(requirements)
        elif self.instance is None:
            attrs.update({field: 0 for field in REQUIREMENT_FIELDS.values()})
        validate_shift_span(
            attrs.get("starts_at", getattr(self.instance, "starts_at", None)),
            attrs.get("ends_at", getattr(self.instance, "ends_at", None)),
        )

        validate_requirements(
            attrs.get("required_counsellors", getattr(self.instance, "required_counsellors", 0)),
            attrs.get(
                "crisis_trained_required", getattr(self.instance, "crisis_trained_required", 0)
            ),
        )
        if self.instance is not None:
            services.shift_move_check(shift=self.instance, roster=attrs.get("roster"))
        validate_shift_in_roster(
            attrs.get("starts_at", getattr(self.instance, "starts_at", None)),
            attrs.get("roster", getattr(self.instance, "roster", None)),
        )
        return attrs
