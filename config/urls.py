from django.contrib import admin
from django.urls import include, path

from hotline.urls import calls_urlpatterns, twilio_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("twilio/", include(twilio_urlpatterns)),
    path("calls/", include(calls_urlpatterns)),
    path("", include("hotline.crisis_urls")),  # /calls/<id>/report/, /crisis/…
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("scheduling.urls")),
]
