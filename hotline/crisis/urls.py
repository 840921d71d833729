"""The supervisors' pages (mounted at /crisis/, namespace `crisis`): the dashboard and each
escalation. A call's report and hand-raised escalation live under /calls/ (calls:report)."""

from django.urls import path

from hotline.crisis import views

app_name = "crisis"

urlpatterns = [
    path("", views.crisis_home, name="home"),
    path("escalations/<int:pk>/", views.escalation_detail, name="escalation"),
    path(
        "escalations/<int:pk>/acknowledge/",
        views.escalation_acknowledge,
        name="escalation-acknowledge",
    ),
    # The button of a WeCom alert card: a signed, short-lived link for one person.
    path("take/<str:token>/", views.escalation_take, name="escalation-take"),
    path("escalations/<int:pk>/resolve/", views.escalation_resolve, name="escalation-resolve"),
]
