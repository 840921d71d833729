"""What every page may show: who to contact (login, error pages, My shifts)."""

from django.conf import settings


def site(request) -> dict:
    return {"coordinator_contact": settings.COORDINATOR_CONTACT}
