"""Reads of the taxonomy (hotline/models/taxonomy.py): what a new report may choose, the
check of a report's codes, labels for display, and counts by code for statistics.

The rule for deactivated entries lives here, once: a code must exist; it must be active,
unless the report already carries it (an old report keeps its deactivated category when
edited). Unknown codes are refused, naming the field.
"""

from __future__ import annotations

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from hotline.models import (
    CallerAgeBand,
    CallerSex,
    TaxonomyAction,
    TaxonomyCallerGroup,
    TaxonomyCategory,
)


def categories_offered() -> list[TaxonomyCategory]:
    """Active top-level categories, each with its active sub-categories. Two queries."""
    subs = TaxonomyCategory.objects.filter(active=True).order_by("order", "code")
    return list(
        TaxonomyCategory.objects.filter(parent__isnull=True, active=True)
        .prefetch_related(Prefetch("sub_categories", queryset=subs, to_attr="active_subs"))
        .order_by("order", "code")
    )


def choices(model, *, keep: set[str] | frozenset = frozenset(), **filters) -> list[tuple]:
    """(code, label) of the active entries, plus any in `keep` (the codes a report being
    edited already has, even if deactivated since)."""
    rows = model.objects.filter(Q(active=True) | Q(code__in=list(keep))).filter(**filters)
    return [(row.code, row.label()) for row in rows.order_by("order", "code")]


def check_report_codes(data: dict, *, current: dict | None = None) -> dict[str, list[str]]:
    """Errors (field → messages) for the taxonomy codes in `data`: `category`,
    `sub_category`, `caller_group`, `actions` (a list), `caller_sex`, `caller_age_band`.
    `current`: the report's values before this change (their codes may be inactive)."""
    current = current or {}
    errors: dict[str, list[str]] = {}

    def usable(model, code, field, **filters):
        row = model.objects.filter(code=code, **filters).first()
        if row is None:
            return None
        if not row.active and code != current.get(field):
            return False
        return row

    if "category" in data:
        row = usable(TaxonomyCategory, data["category"], "category", parent__isnull=True)
        if row is None:
            errors["category"] = [_("Unknown category code.")]
        elif row is False:
            errors["category"] = [_("This category is no longer offered: choose another.")]
    if data.get("sub_category"):
        row = usable(
            TaxonomyCategory,
            data["sub_category"],
            "sub_category",
            parent__code=data.get("category", current.get("category")),
        )
        if row is None:
            errors["sub_category"] = [_("Unknown sub-category for this category.")]
        elif row is False:
            errors["sub_category"] = [_("This sub-category is no longer offered.")]
    if "caller_group" in data:
        row = usable(TaxonomyCallerGroup, data["caller_group"], "caller_group")
        if row is None:
            errors["caller_group"] = [_("Unknown caller group code.")]
        elif row is False:
            errors["caller_group"] = [_("This caller group is no longer offered.")]
    if "actions" in data:
        codes = list(data["actions"] or [])
        known = {a.code: a for a in TaxonomyAction.objects.filter(code__in=[str(c) for c in codes])}
        had = set(current.get("actions") or [])
        unknown = [c for c in codes if c not in known]
        inactive = [c for c in codes if c in known and not known[c].active and c not in had]
        if unknown:
            errors["actions"] = [
                _("Unknown action codes: %(codes)s.") % {"codes": ", ".join(map(str, unknown))}
            ]
        elif inactive:
            errors["actions"] = [
                _("No longer offered: %(codes)s.") % {"codes": ", ".join(inactive)}
            ]
    if data.get("caller_sex", "") not in ("", *CallerSex.values):
        errors["caller_sex"] = [_("Unknown value.")]
    if data.get("caller_age_band", "") not in ("", *CallerAgeBand.values):
        errors["caller_age_band"] = [_("Unknown value.")]
    return errors


def labels() -> dict[str, dict[str, str]]:
    """code → label in the current language, per table ("category", "caller_group",
    "action"). Three queries."""
    return {
        "category": {r.code: r.label() for r in TaxonomyCategory.objects.all()},
        "caller_group": {r.code: r.label() for r in TaxonomyCallerGroup.objects.all()},
        "action": {r.code: r.label() for r in TaxonomyAction.objects.all()},
    }


def report_counts(reports: QuerySet, field: str) -> list[tuple[str, str, int]]:
    """How many of `reports` carry each code of `field` ("category", "sub_category",
    "caller_group"; "actions" counts each action ticked), as (code, current label, count),
    most first. Counted by code, so a relabelled or deactivated entry keeps its count."""
    if field == "actions":
        rows = (
            TaxonomyAction.objects.filter(reports__in=reports)
            .order_by()
            .values("code")
            .annotate(n=Count("reports"))
        )
        table = "action"
    else:
        rows = (
            reports.exclude(**{field: ""})
            .order_by()  # the model's ordering would split the groups
            .values(code=F(field))
            .annotate(n=Count("id"))
        )
        table = "caller_group" if field == "caller_group" else "category"
    names = labels()[table]
    return sorted(
        ((row["code"], names.get(row["code"], row["code"]), row["n"]) for row in rows),
        key=lambda r: (-r[2], r[0]),
    )
