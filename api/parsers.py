"""The API's JSON parser: a body nested deeper than any of our resources needs is a 400,
never a 500 (Python's decoder gives up on deep nesting with a RecursionError, which the
stock parser lets through)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Our deepest body is two levels (a shift's requirements inside the shift); leave room.
MAX_JSON_DEPTH = 20


def json_depth_exceeds(data, limit: int) -> bool:
    """Is `data` nested deeper than `limit`? Walked without recursion."""
    todo = [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        todo.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("The JSON is nested too deeply.")) from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(_("The JSON is nested too deeply."))
        return data
