"""Twilio webhooks (mounted at /twilio/) and the call pages (mounted at /calls/)."""

from django.conf import settings
from django.urls import path

from hotline import views, webhooks

twilio_urlpatterns = [
    path("voice/incoming", webhooks.voice_incoming, name="twilio-voice-incoming"),
    path("voice/menu", webhooks.voice_menu, name="twilio-voice-menu"),
    path("voice/hold", webhooks.voice_hold, name="twilio-voice-hold"),
    path("voice/queue-done", webhooks.voice_queue_done, name="twilio-voice-queue-done"),
    path("voice/voicemail", webhooks.voice_voicemail, name="twilio-voice-voicemail"),
    path("voice/callback", webhooks.voice_callback, name="twilio-voice-callback"),
    path("voice/record", webhooks.voice_record, name="twilio-voice-record"),
    path("voice/recorded", webhooks.voice_recorded, name="twilio-voice-recorded"),
    path("voice/status", webhooks.voice_status, name="twilio-voice-status"),
    path("voice/offer", webhooks.voice_offer, name="twilio-voice-offer"),
    path("voice/accept", webhooks.voice_accept, name="twilio-voice-accept"),
    path("voice/dial-done", webhooks.voice_dial_done, name="twilio-voice-dial-done"),
    path("voice/leg-status", webhooks.voice_leg_status, name="twilio-voice-leg-status"),
    path("sms/incoming", webhooks.sms_incoming, name="twilio-sms-incoming"),
    path("sms/status", webhooks.sms_status, name="twilio-sms-status"),
]
if settings.BENCH_BARE_VIEW:  # bench/webhook.py only; never set in production
    twilio_urlpatterns.append(path("bench/bare", views.bench_bare, name="bench-bare"))

calls_urlpatterns = [
    path("", views.call_list, name="call-list"),
    path("callbacks/", views.callback_list, name="callback-list"),
    path("callbacks/<int:pk>/done/", views.callback_mark_done, name="callback-done"),
    path("sms-failed/", views.sms_failed_list, name="sms-failed-list"),
]
