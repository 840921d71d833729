from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import get_error_detail

from api.serializers.common import PhoneNumberField
from hotline.models import MessageChannel, Role, Volunteer
from hotline.people import services as people

# The service names errors by model field; the API by its own field names.
API_FIELD = {"display_name": "name"}


def _api_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    detail = get_error_detail(exc)
    if isinstance(detail, dict):
        detail = {API_FIELD.get(field, field): errors for field, errors in detail.items()}
    return serializers.ValidationError(detail)


# Writes go through hotline.people.services, which checks everything (the password rules,
# a password for a new login, the phone number…); its errors come back under the API's
# field names. Username and roles are checked per field first, by the same checks.
class VolunteerSerializer(serializers.ModelSerializer):
    # The user model's own rule (letters, digits and @.+-_), which a plain CharField skips;
    # here too so the schema shows it.
    username = serializers.CharField(
        source="user.username", max_length=150, validators=[UnicodeUsernameValidator()]
    )
    name = serializers.CharField(source="display_name", max_length=100)
    phone_number = PhoneNumberField(max_length=30)
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices), allow_empty=True
    )
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=MessageChannel.choices),
        allow_empty=True,
        required=False,
        help_text="Channels messages reach this person on, in order; empty: each kind's default.",
    )
    password = serializers.CharField(
        write_only=True, required=False, style={"input_type": "password"}, max_length=128
    )

    class Meta:
        model = Volunteer
        fields = [
            "id",
            "username",
            "name",
            "phone_number",
            "roles",
            "crisis_trained",
            "organisation",
            "max_shifts_per_week",
            "is_active",
            "language",
            "channels",
            "wecom_user_id",
            "password",
        ]
        # Phone uniqueness among active volunteers is the service's (reported on the field);
        # DRF's automatic validator would answer a non-field error and require is_active.
        validators = []

    def validate_username(self, value):
        return people.username_validate(value, user=self.instance.user if self.instance else None)

    def validate_roles(self, value):
        return people.roles_validate(value)

    def validate_channels(self, value):
        try:
            return people.channels_validate(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["channels"]) from exc

    def create(self, validated_data):
        user_data = validated_data.pop("user")
        try:
            return people.volunteer_create(username=user_data["username"], **validated_data)
        except DjangoValidationError as exc:
            raise _api_errors(exc) from exc

    def update(self, instance, validated_data):
        user_data = validated_data.pop("user", None)
        if user_data:
            validated_data["username"] = user_data["username"]
        if not validated_data.get("password"):
            validated_data.pop("password", None)
        try:
            return people.volunteer_update(volunteer=instance, **validated_data)
        except DjangoValidationError as exc:
            raise _api_errors(exc) from exc
