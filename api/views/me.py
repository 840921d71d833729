"""The signed-in volunteer's calendar link, reminders, .ics import, and swaps."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import CanDecideSwaps
from api.serializers.swap import (
    CalendarImportResultSerializer,
    CalendarImportSerializer,
    CalendarLinkSerializer,
    ChannelPreferenceSerializer,
    ReminderPreferenceSerializer,
    SwapRejectSerializer,
    SwapRequestSerializer,
)
from api.views.common import own_volunteer
from hotline.access import is_coordinator, managed_hotlines_q, volunteer_of
from hotline.people import services as people
from scheduling import reminders, swaps
from scheduling.availability import ics_import
from scheduling.availability import services as availability
from scheduling.feeds import tokens
from scheduling.models import SwapRequest


def _feed_urls(request, token_of):
    """The feed URLs of the signed-in volunteer's token, as `token_of(user=…)` gives it."""
    own_volunteer(request)
    return Response(tokens.feed_urls(request, token_of(user=request.user)))


class MyCalendarView(APIView):
    """`GET`: the personal calendar feed's URLs (the token is made on first use)."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = CalendarLinkSerializer

    @extend_schema(responses=CalendarLinkSerializer)
    def get(self, request):
        return _feed_urls(request, tokens.calendar_token_get)


class MyCalendarRotateView(APIView):
    """`POST`: a new feed token; the old URL stops working at once."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = CalendarLinkSerializer

    @extend_schema(request=None, responses=CalendarLinkSerializer)
    def post(self, request):
        return _feed_urls(request, tokens.calendar_token_rotate)


class MyRemindersView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = ReminderPreferenceSerializer

    @extend_schema(responses=ReminderPreferenceSerializer)
    def get(self, request):
        return Response({"reminders_enabled": reminders.reminders_enabled(own_volunteer(request))})

    @extend_schema(request=ReminderPreferenceSerializer, responses=ReminderPreferenceSerializer)
    def put(self, request):
        volunteer = own_volunteer(request)
        serializer = ReminderPreferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pref = reminders.reminder_preference_set(
            volunteer=volunteer, enabled=serializer.validated_data["reminders_enabled"]
        )
        return Response({"reminders_enabled": pref.reminders_enabled})


class MyChannelsView(APIView):
    """`GET`/`PUT`: the channels messages reach me on, in order (empty: each kind's default),
    and my WeCom user id."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = ChannelPreferenceSerializer

    @staticmethod
    def _out(volunteer):
        return {"channels": volunteer.channels, "wecom_user_id": volunteer.wecom_user_id}

    @extend_schema(responses=ChannelPreferenceSerializer)
    def get(self, request):
        return Response(self._out(own_volunteer(request)))

    @extend_schema(request=ChannelPreferenceSerializer, responses=ChannelPreferenceSerializer)
    def put(self, request):
        volunteer = own_volunteer(request)
        serializer = ChannelPreferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            volunteer = people.volunteer_update(volunteer=volunteer, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict) from exc
        return Response(self._out(volunteer))


class MyCalendarImportView(APIView):
    """`POST` multipart `file`: replace imported time off with the busy times of an .ics.
    A file past the import's limits answers 400 naming `file`; more than
    CALENDAR_IMPORTS_PER_HOUR imports an hour 429 with Retry-After."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [MultiPartParser]
    serializer_class = CalendarImportSerializer

    @extend_schema(request=CalendarImportSerializer, responses=CalendarImportResultSerializer)
    def post(self, request):
        volunteer = own_volunteer(request)
        serializer = CalendarImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        try:
            # Read one byte past the limit at most: the import refuses larger files itself.
            data = upload.read(ics_import.MAX_IMPORT_BYTES + 1)
            created = availability.time_off_import(volunteer=volunteer, data=data)
        except availability.CalendarImportThrottled as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=str(exc)) from exc
        except ics_import.CalendarImportError as exc:
            raise exceptions.ValidationError({"file": [str(exc)]}) from exc
        return Response({"imported": created.count()}, status=status.HTTP_201_CREATED)


class SwapViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Swap offers and drops. A volunteer sees their own and those they may take; coordinators
    see all. Refusals (a rule, a started shift) answer 409 `{"code", "detail"}`."""

    serializer_class = SwapRequestSerializer
    permission_classes = [permissions.IsAuthenticated]
    queryset = SwapRequest.objects.none()  # for the schema; get_queryset decides
    filterset_fields = ["status", "kind"]
    lookup_value_regex = r"\d+"  # so a non-numeric id never reaches `_get`

    def get_queryset(self):
        qs = SwapRequest.objects.select_related("assignment__shift__roster").order_by(
            "-created_at", "-id"
        )
        if is_coordinator(self.request.user):
            return qs.filter(
                managed_hotlines_q(self.request.user, "assignment__shift__roster__hotline__")
            )
        volunteer = volunteer_of(self.request.user)
        if volunteer is None:
            return qs.none()
        claimable = [s.pk for s in swaps.swaps_claimable(volunteer, now=timezone.now())]
        return qs.filter(Q(offered_by=volunteer) | Q(claimant=volunteer) | Q(pk__in=claimable))

    def create(self, request, *args, **kwargs):
        volunteer = own_volunteer(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment = serializer.validated_data["assignment"]
        if assignment.volunteer_id != volunteer.pk:
            # Do not tell others' assignments apart from missing ones.
            raise exceptions.NotFound(_("No such assignment of yours."))
        swap = swaps.swap_offer(
            assignment=assignment,
            volunteer=volunteer,
            kind=serializer.validated_data.get("kind", SwapRequest.Kind.OFFER),
            note=serializer.validated_data.get("note", ""),
        )
        return Response(SwapRequestSerializer(swap).data, status=status.HTTP_201_CREATED)

    def _get(self, pk) -> SwapRequest:
        # Any swap, not only the listed ones: claiming re-checks the rules itself.
        swap = SwapRequest.objects.filter(pk=pk).first()
        if swap is None:
            raise exceptions.NotFound()
        return swap

    @extend_schema(request=None, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        swap = swaps.swap_claim(swap=self._get(pk), volunteer=own_volunteer(request))
        return Response(SwapRequestSerializer(swap).data)

    @extend_schema(request=None, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        swap = swaps.swap_withdraw(swap=self._get(pk), volunteer=own_volunteer(request))
        return Response(SwapRequestSerializer(swap).data)

    @extend_schema(request=None, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CanDecideSwaps])
    def approve(self, request, pk=None):
        swap = swaps.swap_approve(swap=self._get(pk), by=request.user)
        return Response(SwapRequestSerializer(swap).data)

    @extend_schema(request=SwapRejectSerializer, responses=SwapRequestSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CanDecideSwaps])
    def reject(self, request, pk=None):
        data = SwapRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        swap = swaps.swap_reject(
            swap=self._get(pk), by=request.user, reason=data.validated_data.get("reason", "")
        )
        return Response(SwapRequestSerializer(swap).data)
