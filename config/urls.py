"""The site's URL map: one prefix per feature, each with its own namespace."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),  # namespace api
    path("twilio/", include("hotline.telephony.urls")),  # namespace twilio: every webhook
    path("calls/", include("hotline.calls.urls")),  # namespace calls
    path("crisis/", include("hotline.crisis.urls")),  # namespace crisis
    path("reports/", include("hotline.stats.urls")),  # namespace reports
    path("follow-ups/", include("hotline.followups.urls")),  # namespace followups
    path("referrals/", include("hotline.referrals.urls")),  # namespace referrals
    path("taxonomy/", include("hotline.taxonomy.urls")),  # namespace taxonomy
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("hotline.accounts.urls")),  # namespace accounts: two-factor
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("scheduling.urls")),  # namespace scheduling
]
