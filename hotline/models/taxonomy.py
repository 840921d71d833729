"""What the federation counts: call categories (and their sub-categories), actions taken,
caller groups. Tables a coordinator edits, each entry with a stable `code` (reports and
statistics keep the code, so renaming a label changes no count), a label in zh-hans and en,
an active flag (a deactivated entry stays on old reports and is not offered on new ones)
and an order. Seeded by migration 0013_taxonomy_seed.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

CODE = RegexValidator(r"^[a-z0-9][a-z0-9_]*$", _("Use lower-case letters, digits and underscores."))


class TaxonomyEntry(models.Model):
    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[CODE],
        help_text=_("Stable: reports and statistics keep it. Never reuse a code."),
    )
    label_zh_hans = models.CharField(_("label (zh-hans)"), max_length=100)
    label_en = models.CharField(_("label (en)"), max_length=100)
    active = models.BooleanField(_("offered on new reports"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        abstract = True
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.label()

    def label(self, language: str | None = None) -> str:
        language = language or translation.get_language() or "zh-hans"
        return self.label_zh_hans if language.lower().startswith("zh") else self.label_en


class TaxonomyCategory(TaxonomyEntry):
    """A category (no parent) or a sub-category (its parent is a category)."""

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sub_categories",
        verbose_name=_("category (for a sub-category)"),
    )

    class Meta(TaxonomyEntry.Meta):
        verbose_name = _("call category")
        verbose_name_plural = _("call categories")


class TaxonomyAction(TaxonomyEntry):
    class Meta(TaxonomyEntry.Meta):
        verbose_name = _("action taken")
        verbose_name_plural = _("actions taken")


class TaxonomyCallerGroup(TaxonomyEntry):
    class Meta(TaxonomyEntry.Meta):
        verbose_name = _("caller group")
        verbose_name_plural = _("caller groups")
