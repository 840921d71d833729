"""Reads about people and organisations."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ObjectDoesNotExist

from hotline.models import Organisation


def person_name(user) -> str:
    """The name a user goes by: their volunteer display name, else their full name, else ""
    (a staff account with neither). Select `<user>__volunteer` with the user to avoid a query."""
    try:
        name = user.volunteer.display_name
    except (ObjectDoesNotExist, AttributeError):
        name = ""
    return name or user.get_full_name()


def organisation_subtree_ids(roots: Iterable[int | Organisation]) -> frozenset[int]:
    """The ids of `roots` and of every organisation under them (branches, their branches…).

    One query whatever the depth: the organisation tree is small (a federation and its
    branches), so it is read whole and walked here. Who a coordinator manages
    (hotline/access.py) and statistics per organisation both use this.
    """
    wanted = {getattr(root, "pk", root) for root in roots}
    wanted.discard(None)
    if not wanted:
        return frozenset()
    children: dict[int, list[int]] = {}
    for pk, parent_id in Organisation.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found: set[int] = set()
    todo = [pk for pk in wanted]
    while todo:
        pk = todo.pop()
        if pk in found:
            continue  # a cycle written around the model's check must not loop forever
        found.add(pk)
        todo.extend(children.get(pk, ()))
    return frozenset(found)


def organisation_ancestor_ids(organisation: int | Organisation | None) -> frozenset[int]:
    """The ids of `organisation` and of every organisation above it (its parent, the
    parent's parent…): whose coordinators manage it. One query; empty for None."""
    pk = getattr(organisation, "pk", organisation)
    if pk is None:
        return frozenset()
    parents = dict(Organisation.objects.values_list("pk", "parent_id"))
    found: set[int] = set()
    while pk is not None and pk not in found:
        found.add(pk)
        pk = parents.get(pk)
    return frozenset(found)
