"""Templates hold no CSS and no JavaScript (docs/frontend.md): a Content-Security-Policy
without 'unsafe-inline' must be able to apply to every page. And every stylesheet or
script a template names exists."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.support.html import inline_code

BASE = Path(settings.BASE_DIR)
# The project's templates/ and any app's templates/ (one level down: not a virtualenv's).
TEMPLATES = sorted(
    p
    for pattern in ("templates/**/*", "*/templates/**/*")
    for p in BASE.glob(pattern)
    if p.is_file() and ".venv" not in p.parts
)
STATIC_TAG = re.compile(r"""{%\s*static\s+['"]([^'"]+)['"]\s*%}""")


def _name(path: Path) -> str:
    return str(path.relative_to(BASE))


def test_templates_are_found():
    names = [_name(p) for p in TEMPLATES]
    assert "templates/base.html" in names and "templates/crisis/dashboard.html" in names
    assert len(names) >= 20, names


@pytest.mark.parametrize("path", TEMPLATES, ids=_name)
def test_template_has_no_inline_css_or_javascript(path):
    found = inline_code(path.read_text(encoding="utf-8"), template=True)
    assert not found, f"{_name(path)}: move this into a file under static/:\n" + "\n".join(
        map(str, found)
    )


@pytest.mark.parametrize("path", TEMPLATES, ids=_name)
def test_static_files_named_by_a_template_exist(path):
    missing = [
        name
        for name in STATIC_TAG.findall(path.read_text(encoding="utf-8"))
        if finders.find(name) is None
    ]
    assert not missing, f"{_name(path)} names missing static files: {missing}"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("<style>p {}</style>", "<style> block"),
        ('<p class="x" style="color: red">', "style= attribute"),
        ('<div {% if a %}style="x"{% endif %}>', "style= attribute"),
        ("<script>alert(1)</script>", "inline <script> (no src)"),
        ('<script type="module">go()</script>', "inline <script> (no src)"),
        ('<select name="l" onchange="this.form.submit()">', "on…= event handler"),
        ("<BUTTON ONCLICK='x()'>", "on…= event handler"),
        ('<a href="javascript:void(0)">', "javascript: URL"),
    ],
)
def test_checker_finds_each_kind_of_inline_code(text, rule):
    assert [f.rule for f in inline_code(text, template=True)] == [rule]


@pytest.mark.parametrize(
    "text",
    [
        "<script src=\"{% static 'js/site.js' %}\" defer></script>",
        '<select name="language" data-autosubmit>',
        '<p data-refresh-seconds="30">This page refreshes itself.</p>',
        '<p>Turn reminders on = off</p><a href="/x" data-style="y">',
        "{# an old <style> note #}{% comment %}<script>x()</script>{% endcomment %}",
    ],
)
def test_checker_leaves_static_references_and_data_attributes_alone(text):
    assert inline_code(text, template=True) == []


@pytest.mark.django_db
def test_rendered_login_page_has_no_inline_code(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert inline_code(response.content.decode()) == []
