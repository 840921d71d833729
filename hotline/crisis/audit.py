"""The audit log: who changed or viewed a call report or an escalation, and when.

Services call `audit_record` inside their transaction, so a change and its audit row commit
together. `detail` carries ids, levels and field names — never notes or caller details.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from hotline.models import AuditLog
from hotline.people.selectors import person_name

SYSTEM = "system"

# What each action is called on a page (the log keeps the stable code).
ACTION_WORDS = {
    "escalation.open": _("opened the escalation"),
    "escalation.join": _("joined it to the open escalation"),
    "escalation.alert": _("alerted the next tier"),
    "escalation.view": _("viewed"),
    "escalation.acknowledge": _("took the escalation"),
    "escalation.resolve": _("resolved"),
    "report.create": _("wrote the report"),
    "report.update": _("changed the report"),
    "report.view": _("read the report"),
    "report.addendum": _("added an addendum"),
    "call.recording_play": _("played the voicemail"),
    "retention.purge": _("erased expired notes"),
    "encryption.rotate": _("re-encrypted with a new key"),
    "password.reset_sent": _("sent a password reset code"),
    "password.reset": _("set a new password with a reset code"),
}
ACTOR_WORDS = {SYSTEM: _("the system")}


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
    """Entries about one object, oldest first, with each actor's volunteer record (their name)."""
    return (
        AuditLog.objects.filter(object_type=obj._meta.model_name, object_id=obj.pk)
        .select_related("actor__volunteer")
        .order_by("at", "id")
    )


def action_words(entry: AuditLog) -> str:
    return str(ACTION_WORDS.get(entry.action, entry.action))


def actor_words(entry: AuditLog) -> str:
    """The person by name with their login (the log must say which account; marked
    translate="no"), else what the log recorded (the system, the SMS gateway). Safe HTML."""
    if entry.actor is not None:
        name = person_name(entry.actor)
        login = format_html('<span translate="no">{}</span>', entry.actor.get_username())
        return format_html("{} ({})", name, login) if name else login
    return str(ACTOR_WORDS.get(entry.actor_label, entry.actor_label))
