from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api.views import call, resources
from api.views.auth import TokenView

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

urlpatterns = [
    path("v1/auth/token/", TokenView.as_view(), name="api-token"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path(
        "redoc/",
        # Our template: the stock one loads Google Fonts, which an offline install never reaches.
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="api-redoc",
    ),
]
