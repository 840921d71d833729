"""Browser journeys: a real headless Chromium (Debian's `chromium` + `chromium-driver`, driven
by Selenium) against a live server, at a phone's and a desktop's size, in Chinese and English.

Skipped when Chromium or its driver is missing; `make test-browser` runs only these, `make
test` includes them when Chromium is present, and `.ci/run` installs the Debian packages.
A failing journey leaves a screenshot and the page's HTML in `var/browser-artifacts/`
(`BROWSER_ARTIFACTS` overrides) for CI to keep.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import shutil
import sqlite3
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from tests.browser.untranslated import ENGLISH_ONLY

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_CHROMIUM = os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)
try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError:  # requirements-dev.txt pins selenium; a bare install may lack it
    HAVE_CHROMIUM = False

ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", "var/browser-artifacts"))
SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
LANGUAGES = ("zh-hans", "en")
# A Monday morning on the demo hotline (Asia/Shanghai), so the demo roster starts today.
JOURNEY_START = dt.datetime(2027, 3, 1, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai


def pytest_collection_modifyitems(config, items):
    if HAVE_CHROMIUM:
        return
    skip = pytest.mark.skip(
        reason="needs chromium and chromedriver (apt-get install chromium chromium-driver)"
    )
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        page = item.funcargs.get("page")
        if page is not None:
            page.keep_evidence(item.nodeid)
    return report


@pytest.fixture
def clock_start():
    return JOURNEY_START


@pytest.fixture(scope="session")
def demo_world(django_db_setup, django_db_blocker):
    """The demo world of this test process: built by the first journey, put back before each
    later one (see `DemoWorld`); its copy is dropped when the session ends."""
    world = DemoWorld()
    yield world
    with django_db_blocker.unblock():
        world.drop()


@pytest.fixture
def demo(transactional_db, clock, settings, live_server, demo_world):
    """The demo world (`seed_demo`): a hotline, a published one-week roster from today,
    a coordinator, a supervisor and volunteers, all with the demo passwords. Each journey
    gets it as `seed_demo` leaves it, whatever the journeys before it changed."""
    settings.SITE_URL = live_server.url
    demo_world.put_back()
    return live_server


class DemoWorld:
    """`seed_demo` run once per test process, copied, and the copy put back before each journey.

    Seeding is most of a journey's cost (about 15 s against a second or two to copy it back).
    What a journey changes is flushed after it like any transactional test's rows, and the
    next journey starts from the copy: so journeys may change anything in the database, but
    never depend on one another. The copy is the whole database, taken right after seeding
    under the journeys' frozen clock and SITE_URL (the live server's address, the same for
    the whole process), so it holds exactly what seeding each time would write.

    SQLite (the in-memory test database, shared with the live server's thread): the copy is
    a second in-memory database, written and read back with SQLite's backup API. PostgreSQL:
    the copy is a database of its own (`<test database>_demo`), and putting it back drops
    the test database and creates it again from that template.
    """

    def __init__(self):
        self.copy = None  # SQLite: a sqlite3 connection; PostgreSQL: the template's name

    def put_back(self) -> None:
        from django.contrib.contenttypes.models import ContentType
        from django.db import connection

        if self.copy is None:
            # One week is all the journeys use.
            call_command("seed_demo", weeks=1, stdout=io.StringIO())
            self._take(connection)
        elif connection.vendor == "sqlite":
            connection.ensure_connection()
            self.copy.backup(connection.connection)
        else:
            name = connection.settings_dict["NAME"]
            connection.close()
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.copy}"')
        # The flush after the last test made content types again under new ids: the copy's
        # ids are the ones in the database now.
        ContentType.objects.clear_cache()

    def _take(self, connection) -> None:
        if connection.vendor == "sqlite":
            copy = sqlite3.connect(":memory:", check_same_thread=False)
            connection.connection.backup(copy)
            self.copy = copy
            return
        if connection.vendor != "postgresql":
            return  # another database: seeded again before each journey
        name = connection.settings_dict["NAME"]
        template = f"{name}_demo"
        connection.close()  # a template must have no one connected
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{template}"')
            cursor.execute(f'CREATE DATABASE "{template}" TEMPLATE "{name}"')
        self.copy = template

    def drop(self) -> None:
        from django.db import connection

        if isinstance(self.copy, sqlite3.Connection):
            self.copy.close()
        elif self.copy is not None:
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{self.copy}"')
        self.copy = None


@pytest.fixture(
    params=[(size, lang) for size in SIZES for lang in LANGUAGES], ids=lambda p: f"{p[0]}-{p[1]}"
)
def page(request, demo):
    size, language = request.param
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={SIZES[size][0]},{SIZES[size][1]}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    p = Page(driver, demo.url, language=language, size=size)
    try:
        yield p
    finally:
        driver.quit()


class Page:
    """What a person does and checks on the site, in one browser."""

    def __init__(self, driver, base_url: str, *, language: str, size: str):
        self.driver, self.base_url, self.language, self.size = driver, base_url, language, size

    # --- doing ------------------------------------------------------------------------------

    def open(self, path: str) -> Page:
        self.driver.get(self.base_url + path)
        if self.driver.get_cookie("django_language") is None:
            self.driver.add_cookie({"name": "django_language", "value": self.language, "path": "/"})
            self.driver.get(self.base_url + path)
        return self

    def sign_in(self, username: str, password: str) -> Page:
        self.open("/accounts/login/")
        self.fill("input[name=username]", username)
        self.fill("input[name=password]", password)
        self.submit("form.stack button[type=submit]")
        assert "/accounts/login/" not in self.driver.current_url, self.text()
        return self

    def sign_out(self) -> Page:
        self.driver.delete_all_cookies()
        return self

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def fill(self, css: str, value: str) -> None:
        field = self.find(css)
        if field.get_attribute("type") in ("datetime-local", "date", "time"):
            # Typing into these depends on the browser's locale; set the value as a person's
            # picker would.
            self.driver.execute_script("arguments[0].value = arguments[1];", field, value)
        else:
            field.clear()
            field.send_keys(value)

    def select(self, css: str, value: str) -> None:
        self.driver.execute_script("arguments[0].value = arguments[1];", self.find(css), value)

    def submit(self, css: str) -> None:
        self._click_and_wait(self.find(css))

    def _click_and_wait(self, element) -> None:
        """Click what sends a form or follows a link, and wait for the next page."""
        old = self.find("html")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

        def left(driver) -> bool:
            # Chromium may answer a question about the old page's node, asked while the next
            # page replaces it, with "node does not belong to the document": it is gone.
            try:
                return expected_conditions.staleness_of(old)(driver)
            except WebDriverException:
                return True

        WebDriverWait(self.driver, 15).until(left)
        WebDriverWait(self.driver, 15).until(
            lambda driver: driver.execute_script("return document.readyState") == "complete"
        )

    def click_text(self, text: str, within: str = "body") -> None:
        for element in self.find_all(f"{within} button, {within} a"):
            if element.text.strip() == text:
                self._click_and_wait(element)
                return
        raise AssertionError(
            f"no button or link {text!r} on {self.driver.current_url}:\n{self.text()}"
        )

    def fetch(self, url: str) -> str:
        """What a calendar app would get from `url` (no cookies, no browser)."""
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return response.read().decode()

    # --- checking ---------------------------------------------------------------------------

    def t(self, message: str) -> str:
        """`message` as this page's language says it."""
        with translation.override(self.language):
            return translation.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        with translation.override(self.language):
            return translation.ngettext(singular, plural, n)

    def text(self) -> str:
        return self.find("body").text

    def sees(self, *messages: str) -> None:
        """Each message (English msgid, translated here) is on screen."""
        body = self.text()
        for message in messages:
            expected = self.t(message)
            assert expected in body, f"{expected!r} not on {self.driver.current_url}:\n{body}"

    def sees_text(self, *fragments: str) -> None:
        body = self.text()
        for fragment in fragments:
            assert fragment in body, f"{fragment!r} not on {self.driver.current_url}:\n{body}"

    def fits(self) -> None:
        """No horizontal scrolling of the page itself."""
        overflow = self.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"
        )
        assert overflow <= 1, (
            f"{self.driver.current_url} is {overflow}px wider than the {self.size} screen"
        )

    def speaks_the_language(self) -> None:
        """On Chinese pages, none of the English strings we keep in untranslated.py shows."""
        assert self.find("html").get_attribute("lang") == self.language
        if self.language != "zh-hans":
            return
        # Logins and other names are data, marked translate="no": left out of the check.
        body = self.driver.execute_script(
            "var b = document.body.cloneNode(true);"
            "b.querySelectorAll('[translate=no]').forEach(function (e) { e.remove(); });"
            "return b.innerText;"
        )
        leaks = [
            s for s in ENGLISH_ONLY if re.search(rf"(?<![A-Za-z]){re.escape(s)}(?![A-Za-z])", body)
        ]
        assert not leaks, f"English on the Chinese page {self.driver.current_url}: {leaks}"

    def looks_right(self) -> None:
        self.fits()
        self.speaks_the_language()

    def snap(self, name: str) -> None:
        """With DOCS_SCREENSHOTS set (a folder), keep this page as `<name>-<lang>-<size>.png`
        for the user docs (docs/img/ holds the desktop ones)."""
        folder = os.environ.get("DOCS_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(
                str(Path(folder) / f"{name}-{self.language}-{self.size}.png")
            )

    def keep_evidence(self, nodeid: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)[-150:]
        # Evidence is best effort: a dead browser must not hide the journey's own failure.
        with contextlib.suppress(WebDriverException, OSError):
            self.driver.save_screenshot(str(ARTIFACTS / f"{stem}.png"))
            (ARTIFACTS / f"{stem}.html").write_text(self.driver.page_source)
