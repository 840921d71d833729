"""The call pages (mounted at /calls/, namespace `calls`): recent calls, the callback queue,
failed SMS, and a call's report and hand-raised escalation."""

from django.urls import path

from hotline.calls import views
from hotline.crisis import views as crisis_views
from hotline.sms import views as sms_views

app_name = "calls"

urlpatterns = [
    path("", views.call_list, name="list"),
    path("callbacks/", views.callback_list, name="callback-list"),
    path("callbacks/<int:pk>/done/", views.callback_mark_done, name="callback-done"),
    path("sms-failed/", sms_views.sms_failed_list, name="sms-failed"),
    path("<int:call_id>/recording/", views.call_recording, name="recording"),
    path("<int:call_id>/report/", crisis_views.call_report, name="report"),
    path("<int:call_id>/escalate/", crisis_views.call_escalate, name="escalate"),
    path("<int:call_id>/non-data/", views.call_mark_non_data, name="non-data"),
]
