"""Our sign-in pages (namespace `accounts`), next to Django's own login/logout views."""

from django.urls import path

from hotline.accounts import views

app_name = "accounts"

urlpatterns = [
    path("two-factor/", views.two_factor_home, name="two-factor"),
    path("two-factor/setup/", views.two_factor_setup, name="two-factor-setup"),
    path("two-factor/verify/", views.two_factor_verify, name="two-factor-verify"),
    path("two-factor/recovery-codes/", views.recovery_codes_renew, name="recovery-codes"),
    path("two-factor/turn-off/", views.two_factor_turn_off, name="two-factor-off"),
    path("lockouts/", views.lockouts, name="lockouts"),
    path("reset/", views.password_reset, name="password-reset"),
]
