"""The referral directory: where the line sends people (clinics, hospitals, emergency
numbers, legal aid, shelters, maternity services, employment services, the women's
federation's local contacts). Public information about organisations, never about callers.
Services live in hotline/referrals/."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ResourceCategory(models.TextChoices):
    PSYCHIATRIC_CLINIC = "psychiatric_clinic", _("psychiatric clinic")
    HOSPITAL = "hospital", _("hospital")
    EMERGENCY_120 = "emergency_120", _("emergency medical (120)")
    POLICE_110 = "police_110", _("police (110)")
    LEGAL_AID = "legal_aid", _("legal aid (12348) / women's rights (12338)")
    PSYCH_ASSISTANCE = "psych_assistance", _("psychological assistance line (12356)")
    SHELTER = "shelter", _("shelter")
    MATERNITY_CHILD = "maternity_child", _("maternity and child services")
    EMPLOYMENT = "employment", _("employment services")
    WOMENS_FEDERATION = "womens_federation", _("community women's federation contact")
    OTHER = "other", _("other")


class Resource(models.Model):
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(
        _("category"), max_length=20, choices=ResourceCategory.choices, db_index=True
    )
    area = models.CharField(
        _("area (county/district)"),
        max_length=100,
        blank=True,
        db_index=True,
        help_text=_("Empty: serves everyone, everywhere (a national line)."),
    )
    phone = models.CharField(_("phone"), max_length=40)
    address = models.CharField(_("address"), max_length=300, blank=True)
    hours = models.CharField(_("opening hours"), max_length=200, blank=True)
    eligibility = models.TextField(_("eligibility notes"), max_length=2000, blank=True)
    languages = models.CharField(
        _("languages"), max_length=100, blank=True, help_text=_("e.g. Mandarin, English")
    )
    active = models.BooleanField(_("listed"), default=True)
    verified_at = models.DateTimeField(_("last verified at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last changed at"), auto_now=True)

    class Meta:
        ordering = ["category", "area", "name", "id"]
        verbose_name = _("referral resource")
        verbose_name_plural = _("referral resources")
        constraints = [
            models.UniqueConstraint(
                fields=["name", "area", "category"], name="resource_unique_name_area_category"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.area})" if self.area else self.name
