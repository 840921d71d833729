"""The coordinators' taxonomy page (mounted at /taxonomy/, namespace `taxonomy`): the
categories with their sub-categories, the actions taken and the caller groups; add an entry,
relabel it (zh-hans and en), move it up or down, deactivate or reactivate it. Codes are shown,
never edited. Thin: hotline/access.py decides who may (coordinators; anyone else gets the
403 page), hotline/taxonomy/services.py changes things and writes the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from hotline import access
from hotline.models import TaxonomyCategory
from hotline.taxonomy import services

TITLES = {
    "categories": gettext_lazy("Call categories"),
    "actions": gettext_lazy("Actions taken"),
    "caller-groups": gettext_lazy("Caller groups"),
}


def _model(request, table: str):
    if not access.can_edit_taxonomy(request.user):
        raise PermissionDenied
    model = services.TABLES.get(table)
    if model is None:
        raise Http404
    return model


def _rows(model) -> list:
    """The table in display order; a sub-category right under its category."""
    if model is not TaxonomyCategory:
        return list(model.objects.order_by("order", "code"))
    rows = list(model.objects.select_related("parent").order_by("order", "code"))
    subs: dict[int, list] = {}
    for row in rows:
        if row.parent_id:
            subs.setdefault(row.parent_id, []).append(row)
    out = []
    for row in rows:
        if row.parent_id is None:
            out.append(row)
            out.extend(subs.get(row.pk, []))
    return out


@login_required
def taxonomy_home(request):
    if not access.can_edit_taxonomy(request.user):
        raise PermissionDenied
    return redirect("taxonomy:table", table="categories")


def _render(request, table: str, model, *, add=None, errors=None, status=200):
    return render(
        request,
        "taxonomy/table.html",
        {
            "table": table,
            "title": TITLES[table],
            "tables": [(key, TITLES[key]) for key in services.TABLES],
            "rows": _rows(model),
            "is_categories": model is TaxonomyCategory,
            "parents": list(TaxonomyCategory.objects.filter(parent__isnull=True))
            if model is TaxonomyCategory
            else [],
            "add": add or {},
            "errors": errors or {},
        },
        status=status,
    )


@login_required
def taxonomy_table(request, table: str):
    return _render(request, table, _model(request, table))


@login_required
@require_POST
def entry_add(request, table: str):
    model = _model(request, table)
    data = {
        key: request.POST.get(key, "")[:200]
        for key in ("code", "label_zh_hans", "label_en", "parent")
    }
    try:
        entry = services.entry_create(
            model=model,
            by=request.user,
            code=data["code"],
            label_zh_hans=data["label_zh_hans"],
            label_en=data["label_en"],
            parent_code=data["parent"],
            now=timezone.now(),
        )
    except ValidationError as exc:
        # The form again, as typed, with what is wrong next to each field.
        return _render(request, table, model, add=data, errors=exc.message_dict, status=400)
    messages.success(request, _("Added %(code)s.") % {"code": entry.code})
    return redirect("taxonomy:table", table=table)


@login_required
def entry_edit(request, table: str, pk: int):
    model = _model(request, table)
    entry = get_object_or_404(model, pk=pk)
    errors = {}
    if request.method == "POST":
        try:
            services.entry_relabel(
                entry=entry,
                by=request.user,
                label_zh_hans=request.POST.get("label_zh_hans", "")[:200],
                label_en=request.POST.get("label_en", "")[:200],
                now=timezone.now(),
            )
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("Saved %(code)s.") % {"code": entry.code})
            return redirect("taxonomy:table", table=table)
    return render(
        request,
        "taxonomy/edit.html",
        {
            "table": table,
            "title": TITLES[table],
            "entry": entry,
            "errors": errors,
            "values": request.POST if request.method == "POST" else None,
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def entry_move(request, table: str, pk: int):
    model = _model(request, table)
    entry = get_object_or_404(model, pk=pk)
    try:
        services.entry_move(
            entry=entry,
            by=request.user,
            direction=request.POST.get("direction", ""),
            now=timezone.now(),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(reverse("taxonomy:table", args=[table]) + f"#e{entry.pk}")


@login_required
@require_POST
def entry_active(request, table: str, pk: int):
    model = _model(request, table)
    entry = get_object_or_404(model, pk=pk)
    active = request.POST.get("active") == "1"
    services.entry_set_active(entry=entry, by=request.user, active=active, now=timezone.now())
    if active:
        messages.success(
            request, _("%(code)s is offered on new reports again.") % {"code": entry.code}
        )
    else:
        messages.success(
            request,
            _("%(code)s is no longer offered on new reports; reports that have it keep it.")
            % {"code": entry.code},
        )
    return redirect("taxonomy:table", table=table)
