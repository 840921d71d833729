"""The staged changes of a published roster (GET /api/v1/rosters/{id}/changes/)."""

from rest_framework import serializers


class ChangedSeatSerializer(serializers.Serializer):
    assignment = serializers.IntegerField(source="pk")
    shift = serializers.IntegerField(source="shift_id")
    role = serializers.CharField()
    starts_at = serializers.DateTimeField(source="shift.starts_at")
    ends_at = serializers.DateTimeField(source="shift.ends_at")


class MoveSerializer(serializers.Serializer):
    to = ChangedSeatSerializer()


# "from" is a Python keyword: declared by name.
MoveSerializer._declared_fields = {"from": ChangedSeatSerializer(), "to": ChangedSeatSerializer()}


class VolunteerChangesSerializer(serializers.Serializer):
    volunteer = serializers.IntegerField(source="volunteer.pk")
    name = serializers.CharField(source="volunteer.display_name")
    added = ChangedSeatSerializer(many=True)
    removed = ChangedSeatSerializer(many=True)
    moved = MoveSerializer(many=True)


class ChangesSummarySerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    moved = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Lines of the diff: seats and shift edits.")
    volunteers = serializers.IntegerField()


class ShiftSpanSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    requirements = serializers.DictField(child=serializers.IntegerField())
    crisis_trained_required = serializers.IntegerField()


class ViolationSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField(source="message")


class ShiftEditProblemSerializer(serializers.Serializer):
    assignment = serializers.IntegerField(source="assignment.pk")
    volunteer = serializers.IntegerField(source="assignment.volunteer_id")
    name = serializers.CharField(source="assignment.volunteer.display_name")
    role = serializers.CharField(source="assignment.role")
    status = serializers.CharField(source="assignment.status")
    violations = ViolationSerializer(many=True)
    blocking = serializers.BooleanField(
        help_text="A rule nobody may override: publishing is refused until it is fixed."
    )


class ShiftEditSerializer(serializers.Serializer):
    shift = serializers.IntegerField()
    before = ShiftSpanSerializer(help_text="As published: what volunteers see.")
    after = ShiftSpanSerializer(help_text="As it will be once published.")
    times_changed = serializers.BooleanField()
    problems = ShiftEditProblemSerializer(many=True)


class RosterChangesSerializer(serializers.Serializer):
    roster = serializers.IntegerField()
    status = serializers.CharField()
    freeze_hours = serializers.IntegerField()
    summary = ChangesSummarySerializer()
    volunteers = VolunteerChangesSerializer(many=True)
    shifts = ShiftEditSerializer(many=True, help_text="Shifts with a staged edit (times, seats).")
    shift_problems = serializers.IntegerField(
        help_text="Assignments a staged shift edit would make break a rule."
    )


class ChangesAppliedSerializer(serializers.Serializer):
    roster = serializers.IntegerField()
    status = serializers.CharField()
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    shifts = serializers.IntegerField(help_text="Staged shift edits applied or taken back.")


def _span(shift) -> dict:
    return {
        "starts_at": shift.starts_at,
        "ends_at": shift.ends_at,
        "requirements": shift.requirements,
        "crisis_trained_required": shift.crisis_trained_required,
    }


def changes_data(roster, changes: dict, freeze_hours: int) -> dict:
    return {
        "roster": roster.pk,
        "status": roster.status,
        "freeze_hours": freeze_hours,
        "summary": {
            "added": changes["added"],
            "removed": changes["removed"],
            "moved": changes["moved"],
            "total": changes["total"],
            "volunteers": len(changes["volunteers"]),
        },
        "volunteers": [
            {
                "volunteer": entry.volunteer,
                "added": entry.added,
                "removed": entry.removed,
                "moved": [{"from": old, "to": new} for old, new in entry.moved],
            }
            for entry in changes["volunteers"]
        ],
        "shifts": [
            {
                "shift": edit.shift.pk,
                "before": _span(edit.shift),
                "after": _span(edit.planned),
                "times_changed": edit.times_changed,
                "problems": [
                    {
                        "assignment": a,
                        "violations": found,
                        "blocking": any(not v.overridable for v in found),
                    }
                    for a, found in edit.problems
                ],
            }
            for edit in changes["shifts"]
        ],
        "shift_problems": changes["shift_problems"],
    }


class ConflictSerializer(serializers.Serializer):
    assignment = serializers.IntegerField(source="assignment.pk")
    shift = serializers.IntegerField(source="assignment.shift_id")
    volunteer = serializers.IntegerField(source="assignment.volunteer_id")
    name = serializers.CharField(source="assignment.volunteer.display_name")
    role = serializers.CharField(source="assignment.role")
    status = serializers.CharField(source="assignment.status")
    starts_at = serializers.DateTimeField(source="assignment.shift.starts_at")
    ends_at = serializers.DateTimeField(source="assignment.shift.ends_at")
    violations = ViolationSerializer(many=True)


class RosterConflictsSerializer(serializers.Serializer):
    roster = serializers.IntegerField()
    count = serializers.IntegerField()
    conflicts = ConflictSerializer(many=True)
