"""Template filters over hotline/access.py, so templates show only the links a user may use."""

from django import template

from hotline import access as rules

register = template.Library()


@register.filter
def can_see_reports(user) -> bool:
    """Coordinators (everything) and supervisors (the crisis part) have a reports page."""
    return rules.can_see_statistics(user) or rules.can_see_crisis_statistics(user)


# The predicate itself, not a copy: the access module stays the one place it is defined.
register.filter("can_edit_taxonomy", rules.can_edit_taxonomy)
