"""The audit log: who changed or viewed a call report or an escalation, and when.

Services call `audit_record` inside their transaction, so a change and its audit row commit
together. `detail` carries ids, levels and field names — never notes or caller details.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Model, QuerySet
from django.utils import timezone

from hotline.models import AuditLog

SYSTEM = "system"


def _label(actor) -> str:
    if actor is None:
        return SYSTEM
    if isinstance(actor, str):
        return actor[:150]
    return (actor.get_username() or f"user {actor.pk}")[:150]


def audit_record(
    *,
    actor,
    action: str,
    obj: Model | None = None,
    detail: dict | None = None,
    at: dt.datetime | None = None,
) -> AuditLog:
    """Record one entry. `actor` is a user, None for the system (the alert chain, the purge),
    or a label string for a non-user actor."""
    user = actor if actor is not None and not isinstance(actor, str) else None
    return AuditLog.objects.create(
        at=at or timezone.now(),
        actor=user if user is not None and user.pk else None,
        actor_label=_label(actor),
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
        detail=detail or {},
    )


def audit_trail(obj: Model) -> QuerySet[AuditLog]:
    """Entries about one object, oldest first."""
    return AuditLog.objects.filter(object_type=obj._meta.model_name, object_id=obj.pk).order_by(
        "at", "id"
    )
