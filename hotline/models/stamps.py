"""Change stamps: a version number per scope, raised in the same transaction as any change
to what a cached view of that scope shows (hotline/stamps.py)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChangeStamp(models.Model):
    """One scope's version: (`volunteer`, id) a volunteer's calendar feed, (`open`, hotline
    id) a hotline's unfilled slots, (`all`, 0) what every feed shows (hotline names, the
    volunteers' names). Versions only grow. No foreign key on purpose: raising a stamp never
    locks, or waits on, the row it describes."""

    scope = models.CharField(_("scope"), max_length=20)
    key = models.BigIntegerField(_("key"), default=0)
    version = models.BigIntegerField(_("version"), default=0)
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("change stamp")
        verbose_name_plural = _("change stamps")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="one_stamp_per_scope")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} v{self.version}"
