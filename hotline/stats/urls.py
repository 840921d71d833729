"""The reports pages (mounted at /reports/, namespace `reports`)."""

from django.urls import path

from hotline.stats import views

app_name = "reports"

urlpatterns = [
    path("", views.reports_home, name="home"),
    path("monthly/<int:pk>.<str:kind>", views.archived_report, name="archived"),
]
