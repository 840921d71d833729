"""Auto-fill runs and roster coverage."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hotline.links import site_url
from scheduling import builder
from scheduling.models import AutofillRun


class AutofillRequestSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=AutofillRun.Mode.choices, default=AutofillRun.Mode.FILL)
    time_limit = serializers.FloatField(
        min_value=builder.MIN_TIME_LIMIT,
        max_value=builder.MAX_TIME_LIMIT,
        default=builder.DEFAULT_TIME_LIMIT,
        help_text=_("Solver time budget in seconds."),
    )
    greedy = serializers.BooleanField(default=False, help_text=_("Greedy fill only, no CP-SAT."))
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)


class AutofillStartedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    task_id = serializers.CharField()
    status = serializers.CharField()
    status_url = serializers.URLField()


class AutofillRunSerializer(serializers.ModelSerializer):
    task_id = serializers.SerializerMethodField()
    queue_task_id = serializers.CharField(source="task_id", read_only=True)
    stage = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()
    unfilled_reasons = serializers.SerializerMethodField()

    class Meta:
        model = AutofillRun
        fields = [
            "id",
            "roster",
            "mode",
            "status",
            "progress",
            "stage",
            "message",
            "time_limit",
            "greedy",
            "seed",
            "task_id",
            "queue_task_id",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "status_url",
            "result",
            "unfilled_reasons",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_task_id(self, run) -> str:
        """The handle of the run in this API (the status URL takes it)."""
        return str(run.pk)

    @extend_schema_field(serializers.CharField())
    def get_stage(self, run) -> str:
        return builder.stage_label(run.message) if run.status != AutofillRun.Status.FAILED else ""

    @extend_schema_field(serializers.URLField())
    def get_status_url(self, run) -> str:
        return autofill_status_url(self.context.get("request"), run)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_unfilled_reasons(self, run) -> list[str]:
        """The unfilled seats of the result as sentences in the request's language."""
        return builder.unfilled_reasons((run.result or {}).get("unfilled", []))


def autofill_status_url(request, run) -> str:
    path = reverse("api:autofill-detail", args=[run.pk])
    return site_url(path, request=request)


class RoleCoverageSerializer(serializers.Serializer):
    role = serializers.CharField()
    required = serializers.IntegerField()
    filled = serializers.IntegerField()
    missing = serializers.IntegerField()


class ShiftCoverageSerializer(serializers.Serializer):
    shift = serializers.IntegerField(source="shift.pk")
    starts_at = serializers.DateTimeField(source="shift.starts_at")
    ends_at = serializers.DateTimeField(source="shift.ends_at")
    roles = serializers.SerializerMethodField()
    crisis_trained_required = serializers.IntegerField()
    crisis_trained_filled = serializers.IntegerField()
    crisis_trained_missing = serializers.IntegerField()
    missing = serializers.IntegerField()
    complete = serializers.BooleanField()

    @extend_schema_field(RoleCoverageSerializer(many=True))
    def get_roles(self, coverage) -> list[dict]:
        return [
            {"role": role, "required": rc.required, "filled": rc.filled, "missing": rc.missing}
            for role, rc in coverage.roles.items()
        ]


class CoverageSummarySerializer(serializers.Serializer):
    seats_required = serializers.IntegerField()
    seats_filled = serializers.IntegerField()
    seats_missing = serializers.IntegerField()
    crisis_trained_missing = serializers.IntegerField()
    percent = serializers.FloatField()


class RosterCoverageSerializer(serializers.Serializer):
    roster = serializers.IntegerField()
    summary = CoverageSummarySerializer()
    shifts = ShiftCoverageSerializer(many=True)
