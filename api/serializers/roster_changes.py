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
    total = serializers.IntegerField()
    volunteers = serializers.IntegerField()


class RosterChangesSerializer(serializers.Serializer):
    roster = serializers.IntegerField()
    status = serializers.CharField()
    freeze_hours = serializers.IntegerField()
    summary = ChangesSummarySerializer()
    volunteers = VolunteerChangesSerializer(many=True)


class ChangesAppliedSerializer(serializers.Serializer):
    roster = serializers.IntegerField()
    status = serializers.CharField()
    added = serializers.IntegerField()
    removed = serializers.IntegerField()


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
    }


class ViolationSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField(source="message")


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
