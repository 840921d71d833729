"""The crisis banner: on every page, crisis staff (supervisors, coordinators) see that an
escalation is waiting for someone, with a link to the dashboard. One query, and only for
crisis staff."""

from hotline import access
from hotline.crisis.selectors import escalations_visible_to
from hotline.models import Escalation


def crisis_banner(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not access.is_crisis_staff(user):
        return {}
    waiting = escalations_visible_to(user).filter(status=Escalation.Status.OPEN).count()
    return {"crisis_open": waiting}
