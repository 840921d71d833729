"""The no-inline-code rule of docs/frontend.md as one checker, shared by the template scan
(tests/test_templates.py) and the page tests that look at rendered HTML."""

from __future__ import annotations

import re
from typing import NamedTuple

# Inside a tag: an attribute name not glued to another name (data-style= is fine).
_ATTR = r"<[a-zA-Z][^<>]*?(?<![\w-])"

RULES = (
    ("<style> block", re.compile(r"<style\b", re.I)),
    ("style= attribute", re.compile(_ATTR + r"style\s*=", re.I)),
    ("inline <script> (no src)", re.compile(r"<script\b(?![^>]*\ssrc\s*=)[^>]*>", re.I)),
    ("on…= event handler", re.compile(_ATTR + r"on[a-z]+\s*=", re.I)),
    ("javascript: URL", re.compile(r"javascript\s*:", re.I)),
)

_COMMENTS = re.compile(r"{#.*?#}|{%\s*comment\b.*?%}.*?{%\s*endcomment\s*%}", re.S)


def _blank(match: re.Match) -> str:
    return "\n" * match.group(0).count("\n")  # keep line numbers


class Finding(NamedTuple):
    line: int
    rule: str
    excerpt: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.rule}: {self.excerpt}"


def inline_code(text: str, *, template: bool = False) -> list[Finding]:
    """Each piece of inline CSS or JavaScript in `text` (an HTML page or a template).
    With template=True, Django template comments are skipped first."""
    if template:
        text = _COMMENTS.sub(_blank, text)
    found = []
    for rule, pattern in RULES:
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            excerpt = text[match.start() : match.end()][-60:].replace("\n", " ")
            found.append(Finding(line, rule, excerpt))
    return found
