"""The docs keep up with the code: every environment variable the settings read is in
docs/configuration.md, and every relative link in the docs and the README resolves."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = (ROOT / "config" / "settings.py").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()


def test_every_environment_variable_is_documented():
    read = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', SETTINGS))
    assert {"SECRET_KEY", "DATABASE_URL", "SITE_URL"} <= read  # the pattern finds them
    missing = sorted(name for name in read if f"`{name}`" not in CONFIGURATION)
    assert not missing, f"not in docs/configuration.md: {missing}"


def test_relative_links_in_docs_resolve():
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken
