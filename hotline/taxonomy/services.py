"""Writes to the taxonomy (hotline/models/taxonomy.py), for the coordinators' page: add an
entry, relabel it, move it up or down, deactivate or reactivate it. A code is given once and
never changes (reports and statistics keep it); nothing is ever deleted. Whether a
deactivated entry may still be chosen is hotline/taxonomy/selectors.py's rule, not ours.

Bad input raises ValidationError naming the field and changes nothing; every change is
audited (`taxonomy.*`, with the table and the code).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from hotline import access
from hotline.crisis.audit import audit_record
from hotline.models import TaxonomyAction, TaxonomyCallerGroup, TaxonomyCategory
from hotline.models.taxonomy import CODE

# The tables by the name in the page's URLs.
TABLES = {
    "categories": TaxonomyCategory,
    "actions": TaxonomyAction,
    "caller-groups": TaxonomyCallerGroup,
}
LABEL_MAX = 100
ORDER_STEP = 10


def _check_editor(by) -> None:
    if not access.can_edit_taxonomy(by):
        raise PermissionDenied(_("Only coordinators can change the taxonomy."))


def _labels(label_zh_hans, label_en) -> dict:
    labels = {"label_zh_hans": (label_zh_hans or "").strip(), "label_en": (label_en or "").strip()}
    errors = {}
    for field, value in labels.items():
        if not value:
            errors[field] = [_("Give a label in both languages.")]
        elif len(value) > LABEL_MAX:
            errors[field] = [_("At most %(max)s characters.") % {"max": LABEL_MAX}]
    if errors:
        raise ValidationError(errors)
    return labels


def _siblings(entry):
    """The entries `entry` is ordered among: its table (for a sub-category, its category's
    sub-categories; for a category, the other categories)."""
    qs = type(entry).objects.all()
    if isinstance(entry, TaxonomyCategory):
        qs = qs.filter(parent_id=entry.parent_id)
    return qs.order_by("order", "code")


def _audit(by, action: str, entry, now: dt.datetime, **detail) -> None:
    audit_record(
        actor=by,
        action=f"taxonomy.{action}",
        obj=entry,
        at=now,
        detail={"table": type(entry)._meta.model_name, "code": entry.code, **detail},
    )


@transaction.atomic
def entry_create(
    *,
    model,
    by,
    code: str,
    label_zh_hans: str,
    label_en: str,
    parent_code: str = "",
    now: dt.datetime,
):
    """A new entry, last in its list. `parent_code`: for a sub-category, its category's
    code. A taken code (even by a deactivated entry: codes are never reused) is refused."""
    _check_editor(by)
    code = (code or "").strip()
    errors: dict[str, list[str]] = {}
    if not code:
        errors["code"] = [_("Give a code.")]
    else:
        try:
            CODE(code)
        except ValidationError as exc:
            errors["code"] = exc.messages
        if len(code) > 40:
            errors["code"] = [_("At most %(max)s characters.") % {"max": 40}]
        elif "code" not in errors and model.objects.filter(code=code).exists():
            errors["code"] = [
                _("The code %(code)s is taken (perhaps by a deactivated entry): choose another.")
                % {"code": code}
            ]
    try:
        labels = _labels(label_zh_hans, label_en)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        labels = {}
    parent = None
    if parent_code and model is TaxonomyCategory:
        parent = TaxonomyCategory.objects.filter(code=parent_code, parent__isnull=True).first()
        if parent is None:
            errors["parent"] = [_("Unknown category code.")]
    if errors:
        raise ValidationError(errors)
    extra = {"parent": parent} if model is TaxonomyCategory else {}
    last = (
        _siblings(model(code=code, **extra)).order_by("-order").values_list("order", flat=True)
    ).first()
    try:
        with transaction.atomic():
            entry = model.objects.create(
                code=code, order=(last or 0) + ORDER_STEP, active=True, **labels, **extra
            )
    except IntegrityError as exc:  # the same code, added at the same moment
        raise ValidationError(
            {"code": [_("The code %(code)s is taken: choose another.") % {"code": code}]}
        ) from exc
    _audit(by, "create", entry, now)
    return entry


@transaction.atomic
def entry_relabel(*, entry, by, label_zh_hans: str, label_en: str, now: dt.datetime):
    """New labels; the code stays, so every count stays."""
    _check_editor(by)
    labels = _labels(label_zh_hans, label_en)
    changed = sorted(k for k, v in labels.items() if getattr(entry, k) != v)
    type(entry).objects.filter(pk=entry.pk).update(**labels)
    for key, value in labels.items():
        setattr(entry, key, value)
    _audit(by, "relabel", entry, now, fields=changed)
    return entry


@transaction.atomic
def entry_set_active(*, entry, by, active: bool, now: dt.datetime):
    """Deactivate (no longer offered on new reports; old reports keep it) or reactivate."""
    _check_editor(by)
    type(entry).objects.filter(pk=entry.pk).update(active=bool(active))
    entry.active = bool(active)
    _audit(by, "activate" if active else "deactivate", entry, now)
    return entry


@transaction.atomic
def entry_move(*, entry, by, direction: str, now: dt.datetime):
    """One place up or down among its siblings; the list is renumbered 10, 20, 30, … so equal
    orders (the seed's, the admin's) never make a move a no-op. At either end: no change."""
    _check_editor(by)
    if direction not in ("up", "down"):
        raise ValidationError({"direction": [_("Move up or down.")]})
    siblings = list(_siblings(entry).select_for_update())
    index = next(i for i, row in enumerate(siblings) if row.pk == entry.pk)
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(siblings):
        siblings[index], siblings[target] = siblings[target], siblings[index]
    for position, row in enumerate(siblings, start=1):
        if row.order != position * ORDER_STEP:
            type(row).objects.filter(pk=row.pk).update(order=position * ORDER_STEP)
    _audit(by, "move", entry, now, direction=direction)
    entry.refresh_from_db()
    return entry
