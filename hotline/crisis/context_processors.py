"""The crisis banner: on every page a supervisor or coordinator opens, how many escalations
are waiting for someone (open, not yet acknowledged) or being handled (acknowledged)."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from hotline import access
from hotline.crisis.escalations import LIVE
from hotline.crisis.selectors import escalations_visible_to
from hotline.models import Escalation


def _live_counts(user) -> dict[str, int]:
    statuses = list(
        escalations_visible_to(user).filter(status__in=LIVE).values_list("status", flat=True)
    )
    return {
        "open": statuses.count(Escalation.Status.OPEN),
        "acknowledged": statuses.count(Escalation.Status.ACKNOWLEDGED),
    }


def crisis_banner(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: a page that never renders the banner (an error page, a feed) costs no query.
    return {
        "crisis_live": SimpleLazyObject(
            lambda: _live_counts(user) if access.is_crisis_staff(user) else {}
        )
    }
