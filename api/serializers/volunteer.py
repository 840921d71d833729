import copy

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from api.serializers.common import PhoneNumberField
from hotline.models import Role, Volunteer

User = get_user_model()


class VolunteerSerializer(serializers.ModelSerializer):
    # The user model's own rule (letters, digits and @.+-_), which a plain CharField skips.
    username = serializers.CharField(
        source="user.username", max_length=150, validators=[UnicodeUsernameValidator()]
    )
    name = serializers.CharField(source="display_name", max_length=100)
    phone_number = PhoneNumberField(max_length=30)
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices), allow_empty=True
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
            "password",
        ]
        # Phone uniqueness among active volunteers is checked in `validate`, on the field
        # (DRF's automatic validator would answer a non-field error and require is_active).
        validators = []

    def validate_username(self, value):
        users = User.objects.filter(username__iexact=value)
        if self.instance is not None:
            users = users.exclude(pk=self.instance.user_id)
        if users.exists():
            raise serializers.ValidationError(_("This username is taken."))
        return value

    def validate_roles(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError(_("List each role once."))
        return value

    def _phone_taken(self, phone: str, *, active: bool) -> bool:
        if not active or not phone:
            return False
        others = Volunteer.objects.filter(phone_number=phone, is_active=True)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        return others.exists()

    def _phone_error(self) -> serializers.ValidationError:
        return serializers.ValidationError(
            {"phone_number": [_("Another active volunteer has this phone number.")]},
            code="unique",
        )

    def _save_checked(self, volunteer: Volunteer) -> None:
        """Save; a concurrent request that took the number first makes this a 400 too."""
        try:
            with transaction.atomic():
                volunteer.save()
        except IntegrityError:
            if self._phone_taken(volunteer.phone_number, active=volunteer.is_active):
                raise self._phone_error() from None
            raise

    def validate(self, attrs):
        # SMS replies are matched to a person by number: one active volunteer per number.
        phone = attrs.get("phone_number", getattr(self.instance, "phone_number", ""))
        active = attrs.get("is_active", getattr(self.instance, "is_active", True))
        if self._phone_taken(phone, active=active):
            raise self._phone_error()
        password = attrs.get("password")
        if self.instance is None and not password:
            raise serializers.ValidationError(
                {"password": [_("Set a password for the new login.")]}
            )
        if password:
            try:
                validate_password(password, user=self._user_for_password_check(attrs))
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": exc.messages}) from exc
        return attrs

    def _user_for_password_check(self, attrs):
        """The login as it will be saved, so the validators compare the password with its
        username (UserAttributeSimilarityValidator), including a username changed here."""
        username = attrs.get("user", {}).get("username")
        if self.instance is None:
            return User(username=username or "")
        user = copy.copy(self.instance.user)
        if username:
            user.username = username
        return user

    @transaction.atomic
    def create(self, validated_data):
        user_data = validated_data.pop("user")
        roles = validated_data.pop("roles")
        password = validated_data.pop("password")
        user = User.objects.create_user(username=user_data["username"], password=password)
        volunteer = Volunteer(user=user, **validated_data)
        volunteer.set_roles(roles)
        self._save_checked(volunteer)
        return volunteer

    @transaction.atomic
    def update(self, instance, validated_data):
        user_data = validated_data.pop("user", None)
        password = validated_data.pop("password", None)
        roles = validated_data.pop("roles", None)
        user = instance.user
        if user_data:
            user.username = user_data["username"]
        if password:
            user.set_password(password)
        if "is_active" in validated_data:
            user.is_active = validated_data["is_active"]
        user.save()
        for field, value in validated_data.items():
            setattr(instance, field, value)
        if roles is not None:
            instance.set_roles(roles)
        self._save_checked(instance)
        return instance
