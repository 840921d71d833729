"""Site-wide template context: who to contact (COORDINATOR_CONTACT), shown on the login
page and the error pages — where someone stuck on the site looks for help."""

from django.conf import settings


def coordinator_contact(request) -> dict:
    return {"coordinator_contact": getattr(settings, "COORDINATOR_CONTACT", "")}
