"""Staged changes of a published roster (docs/roster-changes.md).

    GET  /api/v1/rosters/{id}/changes/  → the pending diff, per volunteer
    POST /api/v1/rosters/{id}/publish/  → applies every staged change at once (or none: 409
                                          with the rules that refused), tells those affected
    POST /api/v1/rosters/{id}/discard/  → takes every staged change back
    GET  /api/v1/rosters/{id}/conflicts/ → assignments their volunteer can no longer keep

Coordinators of the roster's hotline only; everyone else gets 404 for the roster.
"""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from api.permissions import IsCoordinator
from api.serializers.roster_changes import (
    ChangesAppliedSerializer,
    RosterChangesSerializer,
    RosterConflictsSerializer,
    changes_data,
)
from scheduling import services
from scheduling.selectors import roster_conflicts, roster_pending_changes, rosters_managed_by


# Mixed into RosterViewSet. No docstring, so the schema keeps the viewset's own.
class RosterChangeActions:
    def _managed_roster(self):
        roster = self.get_object()
        if not rosters_managed_by(self.request.user).filter(pk=roster.pk).exists():
            raise Http404
        return roster

    @extend_schema(
        request=None,
        responses=RosterChangesSerializer,
        summary="Staged changes of the roster (the pending diff)",
        description=(
            "Changes made to a published roster wait here until a coordinator publishes them: "
            "per volunteer, the seats added, removed and moved (a removal and an addition of "
            "one volunteer); and `shifts`, the staged edits of shifts (new times or seats, "
            "`before` and `after`) with the assignments they would make break a rule "
            "(`problems`, the rule layer's codes; `blocking` ones refuse the publish). "
            "Volunteers, calendar feeds, reminders and call routing do not "
            "see them. Changes to shifts starting within `freeze_hours` are urgent: they take "
            "effect at once and are never staged."
        ),
    )
    @action(detail=True, methods=["get"], permission_classes=[IsCoordinator])
    def changes(self, request, pk=None):
        roster = self._managed_roster()
        data = changes_data(roster, roster_pending_changes(roster), services.freeze_hours())
        return Response(RosterChangesSerializer(data).data)

    @extend_schema(
        request=None,
        responses=ChangesAppliedSerializer,
        summary="Publish the roster and its staged changes",
        description=(
            "Applies every staged change in one transaction and SMSes only the volunteers "
            "whose shifts changed (a first publish tells everyone on the roster; a shift's "
            "new times tell the volunteers on it, new seats alone nobody). If a rule "
            "nobody may override now refuses a staged addition or shift edit, nothing is "
            "applied: 409 with the violations."
        ),
    )
    @action(detail=True, methods=["post"], permission_classes=[IsCoordinator])
    def publish(self, request, pk=None):
        roster = services.roster_publish(roster=self._managed_roster(), by=request.user)
        applied = roster.published_changes
        return Response(
            ChangesAppliedSerializer({"roster": roster.pk, "status": roster.status, **applied}).data
        )

    @extend_schema(
        request=None,
        responses=ChangesAppliedSerializer,
        summary="Discard the roster's staged changes",
        description="Takes back every staged change; nobody is told (nobody saw them).",
    )
    @action(detail=True, methods=["post"], permission_classes=[IsCoordinator])
    def discard(self, request, pk=None):
        roster = self._managed_roster()
        taken_back = services.roster_changes_discard(roster=roster, by=request.user)
        return Response(
            ChangesAppliedSerializer(
                {"roster": roster.pk, "status": roster.status, **taken_back}
            ).data
        )

    @extend_schema(
        request=None,
        responses=RosterConflictsSerializer,
        summary="Assignments that clash with their volunteer's time off, windows or status",
        description=(
            "Upcoming assignments of the roster as planned (staged changes included) that "
            "break a rule since they were made, without any roster change: the volunteer "
            "declared time off (`time_off`), changed their weekly windows (`unavailable`) or "
            "was deactivated (`inactive`) — the rule layer's codes and messages. Rules a "
            "coordinator set aside when making the assignment are not listed."
        ),
    )
    @action(detail=True, methods=["get"], permission_classes=[IsCoordinator])
    def conflicts(self, request, pk=None):
        roster = self._managed_roster()
        found = roster_conflicts(roster, now=timezone.now())
        return Response(
            RosterConflictsSerializer(
                {"roster": roster.pk, "count": len(found), "conflicts": found}
            ).data
        )
