"""How a person is named on a page: by the name they go by, never by their login."""

from django import template
from django.core.exceptions import ObjectDoesNotExist

register = template.Library()


@register.filter
def person(user) -> str:
    """A user's volunteer display name, else their full name, else their username (a
    staff account with neither). Select `<user>__volunteer` with the user to avoid a query."""
    if user is None:
        return ""
    try:
        name = user.volunteer.display_name
    except (ObjectDoesNotExist, AttributeError):
        name = ""
    return name or user.get_full_name() or user.get_username()
