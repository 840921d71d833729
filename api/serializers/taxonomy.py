from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from hotline.models import TaxonomyAction, TaxonomyCallerGroup, TaxonomyCategory

FIELDS = ["id", "code", "label_zh_hans", "label_en", "active", "order"]


class _EntrySerializer(serializers.ModelSerializer):
    """`code` is stable: it cannot change once the entry exists (statistics count by it).
    Deactivate an entry instead of deleting it."""

    def validate_code(self, value):
        if self.instance is not None and value != self.instance.code:
            raise serializers.ValidationError(_("A code never changes: add a new entry."))
        return value


class TaxonomyCategorySerializer(_EntrySerializer):
    parent = serializers.SlugRelatedField(
        slug_field="code",
        queryset=TaxonomyCategory.objects.filter(parent__isnull=True),
        required=False,
        allow_null=True,
        help_text="the category's code, for a sub-category",
    )

    class Meta:
        model = TaxonomyCategory
        fields = [*FIELDS, "parent"]


class TaxonomyActionSerializer(_EntrySerializer):
    class Meta:
        model = TaxonomyAction
        fields = FIELDS


class TaxonomyCallerGroupSerializer(_EntrySerializer):
    class Meta:
        model = TaxonomyCallerGroup
        fields = FIELDS
