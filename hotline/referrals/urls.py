"""The referral directory's pages (mounted at /referrals/, namespace `referrals`)."""

from django.urls import path

from hotline.referrals import views

app_name = "referrals"

urlpatterns = [
    path("", views.resource_search, name="search"),
    path("<int:pk>/verify/", views.resource_verify, name="verify"),
]
