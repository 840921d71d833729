from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class HotlineConfig(AppConfig):
    name = "hotline"
    verbose_name = _("Hotline")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from config.schedules import ensure_schedules
        from hotline import checks  # noqa: F401 - registers the system checks
        from hotline.accounts.middleware import session_start

        # After django_q's own tables exist: post_migrate runs once all apps are migrated.
        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="hotline-schedules")
        # Signing in starts the idle clock (hotline/accounts/middleware.py).
        user_logged_in.connect(session_start, dispatch_uid="hotline-session-start")
