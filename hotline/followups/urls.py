"""The follow-up pages (mounted at /follow-ups/, namespace `followups`)."""

from django.urls import path

from hotline.followups import views

app_name = "followups"

urlpatterns = [
    path("", views.my_follow_ups, name="mine"),
    path("queue/", views.follow_up_queue_page, name="queue"),
    path("debrief/", views.debrief_request, name="debrief-request"),
    path(
        "from-escalation/<int:escalation_id>/",
        views.follow_up_from_escalation,
        name="from-escalation",
    ),
    path("<int:pk>/", views.follow_up_detail, name="detail"),
    path("<int:pk>/complete/", views.follow_up_complete, name="complete"),
    path("<int:pk>/reassign/", views.follow_up_reassign, name="reassign"),
    path("<int:pk>/call-back/", views.follow_up_call_back, name="call-back"),
    path("<int:pk>/send-sms/", views.follow_up_send_sms, name="send-sms"),
]
