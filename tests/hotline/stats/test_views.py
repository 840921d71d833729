"""The reports pages and a volunteer's own hours: who sees what, the figures, and charts that
are well-formed SVG with one bar per category and a <title> on each bar."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.test import override_settings

from hotline.stats import charts
from tests.support import stats as h

SVG = "{http://www.w3.org/2000/svg}"
MARCH = {"period": "custom", "from": h.FROM, "to": h.TO}


@pytest.fixture
def scene(db, clock, coordinator):
    clock.set(h.NOW)
    return h.known_history(coordinator=coordinator)


def _svgs(html: str) -> list[ET.Element]:
    found = re.findall(r"<svg .*?</svg>", html, re.DOTALL)
    return [ET.fromstring(svg) for svg in found]  # noqa: S314 - our own page


def _bars(svg: ET.Element) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if "bar" in r.get("class", "").split()]


def _chart(svgs, title: str) -> ET.Element:
    return next(s for s in svgs if s.find(f"{SVG}title").text == title)


def test_coordinator_sees_tiles_tables_and_charts(scene, client, coordinator):
    client.force_login(coordinator)
    r = client.get("/reports/", {**MARCH, "hotline": scene.hotline.pk})
    assert r.status_code == 200
    html = r.content.decode()
    assert "Calls received" in html
    assert "An Qi" in html and "North branch" in html
    assert "/api/v1/stats/activity.xlsx?from=2026-03-01" in html
    svgs = _svgs(html)
    assert len(svgs) == 7
    categories = _chart(svgs, "Calls by category")
    assert len(_bars(categories)) == len(h.BY_CATEGORY)
    titles = [b.find(f"{SVG}title").text for b in _bars(categories)]
    assert "psychological support: 2" in titles
    assert len(_bars(_chart(svgs, "Calls by caller group"))) == len(h.BY_CALLER_GROUP)
    assert len(_bars(_chart(svgs, "Reports by risk level"))) == 5
    assert len(_bars(_chart(svgs, "Hours served per volunteer"))) == 2
    by_hour = _chart(svgs, "Calls by hour of day: received and answered")
    assert len(_bars(by_hour)) == 2 * 24
    assert "09 · received: 2" in [b.find(f"{SVG}title").text for b in _bars(by_hour)]
    assert len(_bars(_chart(svgs, "Calls per day: received and answered"))) == 2 * 31


@override_settings(LANGUAGE_CODE="zh-hans")
def test_charts_are_labelled_in_chinese(scene, client, coordinator):
    client.force_login(coordinator)
    html = client.get("/reports/", MARCH, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    svgs = _svgs(html)
    assert _chart(svgs, "按分类统计的来电") is not None
    assert "心理疏导" in html


def test_presets_fill_the_dates(scene, client, coordinator):
    client.force_login(coordinator)
    r = client.get("/reports/", {"period": "last_month"})
    assert r.status_code == 200
    assert 'value="2026-02-01"' in r.content.decode()
    r = client.get("/reports/")
    assert 'value="2026-03-31"' in r.content.decode()  # this month


def test_bad_dates_show_the_field(scene, client, coordinator):
    client.force_login(coordinator)
    r = client.get("/reports/", {"period": "custom", "from": "2026-03-31", "to": "2026-03-01"})
    assert r.status_code == 400
    assert "from:" in r.content.decode()


def test_supervisor_sees_the_crisis_part_only(scene, client):
    # Bai Lu is a supervisor on the City line's published roster.
    client.force_login(scene.v2.user)
    r = client.get("/reports/", MARCH)
    assert r.status_code == 200
    html = r.content.decode()
    assert "Crisis work" in html
    assert "Calls received" not in html
    assert "An Qi" not in html
    svgs = _svgs(html)
    assert len(svgs) == 2
    assert len(_bars(_chart(svgs, "Reports by risk level"))) == 5


def test_volunteers_get_403(scene, client):
    client.force_login(scene.v1.user)
    assert client.get("/reports/", MARCH).status_code == 403


def test_an_empty_chart_is_still_well_formed():
    svg = ET.fromstring(charts.bar_chart([], title="Nothing <yet> & more"))  # noqa: S314
    assert svg.find(f"{SVG}title").text == "Nothing <yet> & more"
    assert _bars(svg) == []


def test_my_hours(scene, client):
    client.force_login(scene.v1.user)
    r = client.get("/me/hours/")
    assert r.status_code == 200
    record = r.context["record"]
    assert record["months"] == [
        {"month": "2026-02", "hours": 6.0, "shifts": 1, "nights": 0, "weekends": 0, "calls": 1},
        {"month": "2026-03", "hours": 18.0, "shifts": 2, "nights": 1, "weekends": 1, "calls": 2},
        {"month": "2026-04", "hours": 0.0, "shifts": 0, "nights": 0, "weekends": 0, "calls": 1},
    ]
    assert record["total"] == {
        "hours": 24.0,
        "shifts": 3,
        "nights": 1,
        "weekends": 1,
        "calls": 4,
    }
    html = r.content.decode()
    assert "An Qi has served 24.0 hours in 3 shifts" in html
    assert "Certificate of volunteer service" in html


def test_my_hours_without_history(db, client, volunteer):
    client.force_login(volunteer.user)
    r = client.get("/me/hours/")
    assert r.status_code == 200
    assert r.context["record"]["total"]["hours"] == 0


def test_categories_are_labelled_as_the_taxonomy_says(scene, client, coordinator):
    """A coordinator relabels a category: the chart and the spreadsheet follow, the count
    (kept by code) stays."""
    from hotline.models import TaxonomyCategory

    TaxonomyCategory.objects.filter(code="psychological").update(label_en="Emotional support")
    client.force_login(coordinator)
    html = client.get("/reports/", {**MARCH, "hotline": scene.hotline.pk}).content.decode()
    titles = [t.text for t in _chart(_svgs(html), "Calls by category").iter(f"{SVG}title")]
    assert "Emotional support: 2" in titles
