"""Ids that people (or scripts) send in forms and query strings."""

from __future__ import annotations

from django.http import Http404

# Larger ids cannot be database keys (SQLite and PostgreSQL keys are 64-bit).
MAX_ID_DIGITS = 18


def id_or_404(raw) -> int:
    """A whole-number id, or "not found" (404) — never a 500 for "abc", "-1" or 10**30."""
    text = str(raw or "")
    if not text.isdigit() or not text.isascii() or len(text) > MAX_ID_DIGITS:
        raise Http404
    return int(text)
