from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from hotline.crisis.reports import EDITABLE_FIELDS
from hotline.models import (
    CallerAgeBand,
    CallerSex,
    CallReport,
    CallReportAddendum,
    Resource,
    TaxonomyAction,
)


class AddendumSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CallReportAddendum
        fields = ["id", "text", "author", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class CallReportSerializer(serializers.ModelSerializer):
    """The volunteer's report on one call. `risk_level`: 0 none, 1 low, 2 moderate,
    3 high, 4 imminent; 3 or more opens an escalation (its id comes back in `escalation`)."""

    # Codes of the taxonomy tables (GET /api/v1/taxonomy/…); checked by the report service:
    # an unknown code, or one no longer offered, is a 400 naming the field.
    category = serializers.CharField(max_length=40)
    sub_category = serializers.CharField(max_length=40, required=False, allow_blank=True)
    caller_group = serializers.CharField(max_length=40)
    caller_sex = serializers.ChoiceField(
        choices=CallerSex.choices, required=False, allow_blank=True
    )
    caller_age_band = serializers.ChoiceField(
        choices=CallerAgeBand.choices, required=False, allow_blank=True
    )
    actions = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        required=False,
        queryset=TaxonomyAction.objects.all(),
        help_text="codes of actions taken",
    )
    referred_resources = serializers.PrimaryKeyRelatedField(
        many=True,
        required=False,
        queryset=Resource.objects.all(),
        help_text="ids of directory resources (GET /api/v1/resources/) the caller was referred to",
    )
    risk_level = serializers.IntegerField(
        min_value=0,
        max_value=4,
        error_messages={
            "min_value": _("Risk level is 0 to 4."),
            "max_value": _("Risk level is 0 to 4."),
        },
    )
    summary = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    referral = serializers.CharField(max_length=300, required=False, allow_blank=True)
    follow_up_needed = serializers.BooleanField(required=False)
    author = serializers.SlugRelatedField(
        slug_field="username", source="author.user", read_only=True
    )
    escalation = serializers.SerializerMethodField()
    addenda = AddendumSerializer(many=True, read_only=True)

    class Meta:
        model = CallReport
        fields = [
            "id",
            "call",
            "author",
            *EDITABLE_FIELDS,
            "actions",
            "referred_resources",
            "created_at",
            "updated_at",
            "escalation",
            "addenda",
        ]
        read_only_fields = ["id", "call", "author", "created_at", "updated_at"]

    def get_escalation(self, report) -> int | None:
        escalation = getattr(report, "escalation", None)
        if escalation is None:
            escalation = report.call.escalations.order_by("-opened_at", "-id").first()
        return escalation.pk if escalation else None
