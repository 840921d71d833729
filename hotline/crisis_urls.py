"""Crisis pages, mounted at the site root by config/urls.py."""

from django.urls import path

from hotline import crisis_views as views

urlpatterns = [
    path("calls/<int:call_id>/report/", views.call_report, name="call-report"),
    path("calls/<int:call_id>/escalate/", views.call_escalate, name="call-escalate"),
    path("crisis/", views.crisis_home, name="crisis-home"),
    path("crisis/escalations/<int:pk>/", views.escalation_detail, name="crisis-escalation"),
    path(
        "crisis/escalations/<int:pk>/acknowledge/",
        views.escalation_acknowledge,
        name="crisis-escalation-acknowledge",
    ),
    path(
        "crisis/escalations/<int:pk>/resolve/",
        views.escalation_resolve,
        name="crisis-escalation-resolve",
    ),
]
