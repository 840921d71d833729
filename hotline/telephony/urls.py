"""Every Twilio webhook, in one list (mounted at /twilio/, namespace `twilio`): these are the
URLs to configure in Twilio's console, and each view checks Twilio's signature first."""

from django.conf import settings
from django.urls import path

from hotline.calls import views as call_views
from hotline.calls import webhooks as voice
from hotline.followups import webhooks as followup
from hotline.sms import webhooks as sms

app_name = "twilio"

urlpatterns = [
    path("voice/incoming", voice.voice_incoming, name="voice-incoming"),
    path("voice/menu", voice.voice_menu, name="voice-menu"),
    path("voice/hold", voice.voice_hold, name="voice-hold"),
    path("voice/hold-key", voice.voice_hold_key, name="voice-hold-key"),
    path("voice/queue-done", voice.voice_queue_done, name="voice-queue-done"),
    path("voice/voicemail", voice.voice_voicemail, name="voice-voicemail"),
    path("voice/callback", voice.voice_callback, name="voice-callback"),
    path("voice/callback-safety", voice.voice_callback_safety, name="voice-callback-safety"),
    path("voice/record", voice.voice_record, name="voice-record"),
    path("voice/recorded", voice.voice_recorded, name="voice-recorded"),
    path("voice/status", voice.voice_status, name="voice-status"),
    path("voice/offer", voice.voice_offer, name="voice-offer"),
    path("voice/accept", voice.voice_accept, name="voice-accept"),
    path("voice/dial-done", voice.voice_dial_done, name="voice-dial-done"),
    path("voice/leg-status", voice.voice_leg_status, name="voice-leg-status"),
    path("voice/conference", voice.voice_conference, name="voice-conference"),
    path("voice/conference-status", voice.voice_conference_status, name="voice-conference-status"),
    path("voice/volunteer-gone", voice.voice_volunteer_gone, name="voice-volunteer-gone"),
    path("voice/join", voice.voice_join, name="voice-join"),
    path("voice/transfer-key", voice.voice_transfer_key, name="voice-transfer-key"),
    path("voice/transfer-hold", voice.voice_transfer_hold, name="voice-transfer-hold"),
    path("voice/transfer-news", voice.voice_transfer_news, name="voice-transfer-news"),
    path("voice/followup-answer", followup.followup_answer, name="followup-answer"),
    path("voice/followup-connect", followup.followup_connect, name="followup-connect"),
    path("voice/followup-dial-done", followup.followup_dial_done, name="followup-dial-done"),
    path("voice/followup-leg-status", followup.followup_leg_status, name="followup-leg-status"),
    path("sms/incoming", sms.sms_incoming, name="sms-incoming"),
    path("sms/status", sms.sms_status, name="sms-status"),
    path("voice/alert", sms.voice_alert, name="voice-alert"),
    path("voice/alert-key", sms.voice_alert_key, name="voice-alert-key"),
    path("voice/alert-status", sms.voice_alert_status, name="voice-alert-status"),
]
if settings.BENCH_BARE_VIEW:  # bench/webhook.py only; never set in production
    urlpatterns.append(path("bench/bare", call_views.bench_bare, name="bench-bare"))
