"""Auto-fill runs and roster coverage."""

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hotline.links import site_url
from scheduling import builder
from scheduling.models import AutofillRun, Roster
from scheduling.selectors import rosters_managed_by


class AutofillRequestSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=AutofillRun.Mode.choices,
        required=False,
        help_text=_("fill (the default) or rebuild (the default with options)."),
    )
    time_limit = serializers.FloatField(
        min_value=builder.MIN_TIME_LIMIT,
        max_value=builder.MAX_TIME_LIMIT,
        default=builder.DEFAULT_TIME_LIMIT,
        help_text=_("Solver time budget in seconds."),
    )
    greedy = serializers.BooleanField(default=False, help_text=_("Greedy fill only, no CP-SAT."))
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)
    strategy = serializers.ChoiceField(
        choices=[(s, s) for s in builder.STRATEGIES],
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "repair: the fewest changes with the load spread within the tolerance (the "
            "default for a rebuild); fairest: fairness first."
        ),
    )
    spread_tolerance = serializers.FloatField(
        min_value=0,
        max_value=24 * 7 * 13,
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Repair mode: hours the load spread may stay above its floor."),
    )
    options = serializers.BooleanField(
        default=False,
        help_text=_(
            "Compute up to three rebuilds to choose from (fewest changes, balanced, "
            "fairest) and save none; they come in the run's result."
        ),
    )

    first_day = serializers.DateField(
        required=False, help_text=_("Scope: change only shifts from this local day on.")
    )
    last_day = serializers.DateField(
        required=False, help_text=_("Scope: change only shifts up to this local day.")
    )
    week = serializers.DateField(
        required=False,
        help_text=_("Scope: only the Monday–Sunday week of this day (instead of the days)."),
    )
    include_frozen = serializers.BooleanField(
        default=False,
        help_text=_(
            "Also change shifts of a published roster starting within the freeze window "
            "(ROSTER_FREEZE_HOURS); left alone by default."
        ),
    )

    def validate(self, attrs):
        week = attrs.pop("week", None)
        if week is not None:
            monday = week - dt.timedelta(days=week.weekday())
            attrs["first_day"], attrs["last_day"] = monday, monday + dt.timedelta(days=6)
        first, last = attrs.pop("first_day", None), attrs.pop("last_day", None)
        if first and last and last < first:
            raise serializers.ValidationError(
                {"last_day": _("The last day of the range is before its first day.")}
            )
        attrs["scope"] = {
            "first_day": first.isoformat() if first else None,
            "last_day": last.isoformat() if last else None,
            "include_frozen": attrs.pop("include_frozen", False),
        }
        if attrs.get("options"):
            if attrs.get("mode", AutofillRun.Mode.REBUILD) != AutofillRun.Mode.REBUILD:
                raise serializers.ValidationError(
                    {"mode": _("Options compare rebuilds: leave out mode or use rebuild.")}
                )
            if attrs.get("greedy"):
                raise serializers.ValidationError(
                    {"greedy": _("Options are computed with CP-SAT, not greedy.")}
                )
            attrs["mode"] = AutofillRun.Mode.REBUILD
        attrs.setdefault("mode", AutofillRun.Mode.FILL)
        return attrs


class AutofillTogetherRequestSerializer(AutofillRequestSerializer):
    """Several hotlines' rosters of one period, built from one pool of volunteers."""

    rosters = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=Roster.objects.none(),  # the rosters the user manages: set per request
        help_text=_(
            "Ids of the rosters to build together: one per hotline, the same first and last "
            "day, one time zone."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = request.user if request is not None else None
        # Another coordinator's roster is "does not exist", like a missing id.
        self.fields["rosters"].child_relation.queryset = rosters_managed_by(user).select_related(
            "hotline"
        )

    def validate_rosters(self, rosters):
        if len(rosters) < 2:
            raise serializers.ValidationError(
                _("Name at least two rosters; one roster is built at /rosters/{id}/autofill/.")
            )
        return rosters

    def validate(self, attrs):
        if attrs.get("options"):
            raise serializers.ValidationError(
                {"options": _("Options compare rebuilds of one roster at a time.")}
            )
        return super().validate(attrs)


class OptionChangeSerializer(serializers.Serializer):
    shift = serializers.IntegerField()
    role = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason_code = serializers.CharField()
    reason = serializers.CharField()


class OptionVolunteerSerializer(serializers.Serializer):
    volunteer = serializers.IntegerField()
    name = serializers.CharField()
    added = OptionChangeSerializer(many=True)
    removed = OptionChangeSerializer(many=True)


class OptionSummarySerializer(serializers.Serializer):
    seats_filled = serializers.IntegerField()
    seats_total = serializers.IntegerField()
    unfilled_seats = serializers.IntegerField()
    changes = serializers.IntegerField()
    moved_volunteers = serializers.IntegerField()
    spread_hours = serializers.FloatField()
    spread_floor_hours = serializers.FloatField()
    night_spread = serializers.IntegerField()
    weekend_spread = serializers.IntegerField()
    preference_score = serializers.IntegerField()


class AutofillOptionSerializer(serializers.Serializer):
    key = serializers.CharField()
    summary = OptionSummarySerializer()
    diff = OptionVolunteerSerializer(many=True)


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
    change_reasons = serializers.SerializerMethodField()
    strategy = serializers.SerializerMethodField()
    spread_tolerance = serializers.SerializerMethodField()
    options = serializers.SerializerMethodField()
    option_notes = serializers.SerializerMethodField()

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
            "strategy",
            "spread_tolerance",
            "result",
            "unfilled_reasons",
            "change_reasons",
            "options",
            "option_notes",
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

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_change_reasons(self, run) -> list[str]:
        """The reason of each of the result's `changes`, in the request's language."""
        return [builder.change_reason(e) for e in (run.result or {}).get("changes", [])]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_strategy(self, run) -> str | None:
        """repair or fairest as asked (null: the default), or "options"."""
        request = builder.run_request(run)
        return "options" if request.get("options") else request.get("strategy")

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_spread_tolerance(self, run) -> float | None:
        return builder.run_request(run).get("spread_tolerance")

    @extend_schema_field(AutofillOptionSerializer(many=True))
    def get_options(self, run) -> list[dict]:
        """An options run's choices: each with its summary and its changes per volunteer,
        every reason in the request's language (empty for other runs)."""
        return [
            {
                "key": o["key"],
                "summary": o["summary"],
                "diff": [
                    {
                        "volunteer": row["volunteer"],
                        "name": row["name"],
                        **{
                            kind: [
                                {
                                    "shift": e["shift"],
                                    "role": e["role"],
                                    "starts_at": e["starts_at"],
                                    "ends_at": e["ends_at"],
                                    "reason_code": e["reason_code"],
                                    "reason": builder.change_reason(e),
                                }
                                for e in row[kind]
                            ]
                            for kind in ("added", "removed")
                        },
                    }
                    for row in o["diff"]
                ],
            }
            for o in (run.result or {}).get("options", [])
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_option_notes(self, run) -> list[str]:
        """Why an option is missing (the same as another, or beaten by one)."""
        return builder.option_notes((run.result or {}).get("notes", []))


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
