from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from hotline.models import Resource, ResourceCategory
from hotline.referrals.services import resource_clean


class ResourceSerializer(serializers.ModelSerializer):
    """A referral resource. `name`, `category` and `phone` are required (400 naming the
    field); `area` empty means it serves everyone (a national line)."""

    category = serializers.ChoiceField(choices=ResourceCategory.choices)
    phone = serializers.CharField(max_length=40)

    class Meta:
        model = Resource
        fields = [
            "id",
            "name",
            "category",
            "area",
            "phone",
            "address",
            "hours",
            "eligibility",
            "languages",
            "active",
            "verified_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "verified_at", "created_at", "updated_at"]

    def validate(self, attrs):
        merged = {
            k: attrs.get(k, getattr(self.instance, k, "") if self.instance else "")
            for k in (
                "name",
                "category",
                "area",
                "phone",
                "address",
                "hours",
                "eligibility",
                "languages",
            )
        }
        # The same checks as the CSV import (hotline.referrals.services.resource_clean).
        try:
            cleaned = resource_clean(merged)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return {**attrs, **{k: v for k, v in cleaned.items() if k in attrs}}


class ResourceImportSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV, UTF-8, header row: name, category, area, phone, address, hours, eligibility, languages"
    )
    dry_run = serializers.BooleanField(default=False)


class ResourceImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())
