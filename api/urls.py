from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from api.views import call, me, resources, roster_build, stats
from api.views.auth import TokenRevokeView, TokenView
from api.views.escalation import EscalationViewSet
from api.views.follow_up import FollowUpViewSet
from api.views.report import CallReportAddendumView, CallReportView
from api.views.resource import ResourceViewSet
from api.views.taxonomy import (
    TaxonomyActionViewSet,
    TaxonomyCallerGroupViewSet,
    TaxonomyCategoryViewSet,
)

app_name = "api"

router = DefaultRouter()
router.register("organisations", resources.OrganisationViewSet, basename="organisation")
router.register("hotlines", resources.HotlineViewSet, basename="hotline")
router.register("volunteers", resources.VolunteerViewSet, basename="volunteer")
router.register("rosters", resources.RosterViewSet, basename="roster")
router.register("shifts", resources.ShiftViewSet, basename="shift")
router.register("assignments", resources.AssignmentViewSet, basename="assignment")
router.register("availability", resources.AvailabilityViewSet, basename="availability")
router.register("time-off", resources.TimeOffViewSet, basename="time-off")
router.register("me", resources.MeViewSet, basename="me")
router.register("calls", call.CallViewSet, basename="call")
router.register("callbacks", call.CallbackViewSet, basename="callback")
router.register("escalations", EscalationViewSet, basename="escalation")
router.register("follow-ups", FollowUpViewSet, basename="follow-up")
router.register("resources", ResourceViewSet, basename="resource")
router.register("taxonomy/categories", TaxonomyCategoryViewSet, basename="taxonomy-category")
router.register("taxonomy/actions", TaxonomyActionViewSet, basename="taxonomy-action")
router.register(
    "taxonomy/caller-groups", TaxonomyCallerGroupViewSet, basename="taxonomy-caller-group"
)
router.register("swaps", me.SwapViewSet, basename="swap")
router.register("autofill", roster_build.AutofillRunViewSet, basename="autofill")

# The vendor bundles of the two docs pages add <style> elements as they run: those pages
# alone may use inline styles (never inline scripts).
DOCS_STYLES = csp_update({"style-src": ["'unsafe-inline'"]})

urlpatterns = [
    path("v1/auth/token/", TokenView.as_view(), name="token"),
    path("v1/auth/token/revoke/", TokenRevokeView.as_view(), name="token-revoke"),
    # Before the router: its "me" viewset would otherwise take these paths.
    path("v1/me/calendar/", me.MyCalendarView.as_view(), name="me-calendar"),
    path("v1/me/calendar/rotate/", me.MyCalendarRotateView.as_view(), name="me-calendar-rotate"),
    path("v1/me/calendar/import/", me.MyCalendarImportView.as_view(), name="me-calendar-import"),
    path("v1/me/reminders/", me.MyRemindersView.as_view(), name="me-reminders"),
    path("v1/me/channels/", me.MyChannelsView.as_view(), name="me-channels"),
    # The report on a call: its own paths, before the router's read-only calls viewset.
    path("v1/calls/<int:pk>/report/", CallReportView.as_view(), name="call-report"),
    path(
        "v1/calls/<int:pk>/report/addenda/",
        CallReportAddendumView.as_view(),
        name="call-report-addenda",
    ),
    # Statistics and the activity report's files (hotline/stats/).
    path("v1/stats/", stats.StatsView.as_view(), name="stats"),
    path("v1/stats/activity.xlsx", stats.ActivityXlsxView.as_view(), name="stats-xlsx"),
    path("v1/stats/activity.docx", stats.ActivityDocxView.as_view(), name="stats-docx"),
    path("v1/stats/<str:table>.csv", stats.StatsTableCsvView.as_view(), name="stats-csv"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        # The split view serves the page's start-up script at ?script instead of inline, and
        # our template links its stylesheet: no inline code (docs/frontend.md).
        DOCS_STYLES(
            SpectacularSwaggerSplitView.as_view(
                url_name="api:schema", template_name="api/swagger_ui.html"
            )
        ),
        name="docs",
    ),
    path(
        "redoc/",
        # Our template: the stock one loads Google Fonts, which an offline install never
        # reaches, and styles the page inline.
        DOCS_STYLES(
            SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html")
        ),
        name="redoc",
    ),
]
