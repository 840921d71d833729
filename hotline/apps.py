from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class HotlineConfig(AppConfig):
    name = "hotline"
    verbose_name = _("Hotline")

    def ready(self) -> None:
        from config.schedules import ensure_schedules
        from hotline import checks  # noqa: F401 - registers the system checks

        # After django_q's own tables exist: post_migrate runs once all apps are migrated.
        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="hotline-schedules")
