"""How a person is named on a page: by the name they go by, never by their login."""

from django import template

from hotline.people.selectors import person_name

register = template.Library()


@register.filter
def person(user) -> str:
    """A user's volunteer display name, else their full name, else their username (a
    staff account with neither). Select `<user>__volunteer` with the user to avoid a query."""
    if user is None:
        return ""
    return person_name(user) or user.get_username()
