"""GET /api/v1/stats/ and the activity report's files: the known history's every figure,
bad input, who may ask, and scopes."""

import csv
import io

import pytest
from django.db.models import Q
from django.test import override_settings
from django.urls import reverse
from docx import Document
from openpyxl import load_workbook

from hotline import access
from tests.support import stats as h

URL = "/api/v1/stats/"
MARCH = {"from": h.FROM, "to": h.TO}


@pytest.fixture
def scene(db, clock, coordinator):
    clock.set(h.NOW)
    return h.known_history(coordinator=coordinator)


def test_paths_are_the_contract():
    assert reverse("api:stats") == URL
    assert reverse("api:stats-xlsx") == "/api/v1/stats/activity.xlsx"
    assert reverse("api:stats-docx") == "/api/v1/stats/activity.docx"
    assert reverse("api:stats-csv", args=["categories"]) == "/api/v1/stats/categories.csv"


def test_every_figure_of_one_hotline(scene, coordinator_api):
    r = coordinator_api.get(URL, {**MARCH, "hotline": scene.hotline.pk})
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["period"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert data["calls"] == h.CALLS
    assert data["by_category"] == h.BY_CATEGORY
    assert data["by_caller_group"] == h.BY_CALLER_GROUP
    assert data["by_risk"] == h.BY_RISK
    assert data["escalations"] == h.ESCALATIONS
    roster = data["roster"]
    assert (roster["seats"], roster["filled"], roster["coverage"]) == (6, 5, 0.8333)
    assert roster["volunteer_hours"] == h.expected_volunteers(scene)
    assert data["previous"]["period"] == {"from": "2026-01-29", "to": "2026-02-28"}
    assert data["previous"]["calls"] == h.PREVIOUS_CALLS
    assert "previous" not in data["previous"]
    # Counts are integers, rates within 0–1.
    assert isinstance(data["calls"]["received"], int)
    assert 0 <= data["calls"]["answer_rate"] <= 1
    assert 0 <= roster["coverage"] <= 1


def test_without_a_scope_a_coordinator_sees_every_hotline(scene, coordinator_api):
    data = coordinator_api.get(URL, MARCH).json()
    assert data["calls"]["received"] == h.CALLS["received"] + 1
    assert data["scope"]["hotlines"] == [scene.hotline.pk, scene.other.pk]


def test_an_organisation_scope(scene, coordinator_api):
    data = coordinator_api.get(URL, {**MARCH, "organisation": scene.south.pk}).json()
    assert data["calls"]["received"] == 1
    assert data["scope"] == {
        "hotlines": [scene.other.pk],
        "organisation": scene.south.pk,
        "time_zone": "Asia/Shanghai",
    }


def test_volunteers_get_403(scene, volunteer_api):
    assert volunteer_api.get(URL, MARCH).status_code == 403
    assert volunteer_api.get(URL + "activity.xlsx", MARCH).status_code == 403
    assert volunteer_api.get(URL + "categories.csv", MARCH).status_code == 403


def test_anonymous_is_refused(db, api):
    assert api.get(URL, MARCH).status_code in (401, 403)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-31", "to": "2026-03-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-03-01"}, "to"),  # 425 days
        ({"from": "1999-12-31", "to": "2000-01-05"}, "from"),
        ({"from": "2100-12-01", "to": "2101-01-01"}, "to"),
        ({"from": "March", "to": "2026-03-01"}, "from"),
        ({"to": "2026-03-01"}, "from"),
        ({"from": "2026-03-01"}, "to"),
        ({**MARCH, "hotline": "999999"}, "hotline"),
        ({**MARCH, "hotline": "abc"}, "hotline"),
        ({**MARCH, "organisation": "999999"}, "organisation"),
        ({**MARCH, "organisation": "-1"}, "organisation"),
    ],
)
def test_bad_input_is_400_naming_the_field(scene, coordinator_api, params, field):
    for path in (URL, URL + "activity.xlsx", URL + "activity.docx", URL + "summary.csv"):
        r = coordinator_api.get(path, params)
        assert r.status_code == 400, (path, r.content)
        assert field in r.json()["errors"], r.json()


def test_400_in_chinese(scene, coordinator_api):
    r = coordinator_api.get(
        URL, {"from": "2026-03-31", "to": "2026-03-01"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert r.status_code == 400
    assert "晚于" in r.json()["errors"]["from"]


def test_a_period_of_400_days_is_allowed(scene, coordinator_api):
    assert coordinator_api.get(URL, {"from": "2025-03-01", "to": "2026-04-04"}).status_code == 200


def test_a_hotline_outside_the_coordinators_scope_is_unknown(scene, coordinator_api, monkeypatch):
    """Scoped coordinators (managed_hotlines_q narrowed): another scope's hotline is answered
    as one that does not exist, and "everything" means their hotlines only."""
    mine = scene.other.pk
    monkeypatch.setattr(
        access,
        "managed_hotlines_q",
        lambda user, path="": (
            Q(**{f"{path}pk": mine}) if access.is_coordinator(user) else access.NO_ROW
        ),
    )
    r = coordinator_api.get(URL, {**MARCH, "hotline": scene.hotline.pk})
    assert r.status_code == 400
    assert "hotline" in r.json()["errors"]
    assert "received" not in r.content.decode()
    data = coordinator_api.get(URL, MARCH).json()
    assert data["scope"]["hotlines"] == [mine]
    assert data["calls"]["received"] == 1


def test_an_organisation_outside_the_scope_is_unknown(scene, coordinator_api, monkeypatch):
    monkeypatch.setattr(
        access, "managed_organisations_q", lambda user, path="": Q(**{f"{path}pk": scene.north.pk})
    )
    r = coordinator_api.get(URL, {**MARCH, "organisation": scene.south.pk})
    assert r.status_code == 400
    assert "organisation" in r.json()["errors"]


def test_an_empty_period_gives_zeros(scene, coordinator_api):
    data = coordinator_api.get(URL, {"from": "2030-01-01", "to": "2030-01-31"}).json()
    assert data["calls"]["received"] == 0
    assert data["calls"]["wait_seconds"] == {"median": None, "p90": None}
    assert data["roster"]["volunteer_hours"] == []


# --- files ----------------------------------------------------------------------------------


def _sheet_rows(book, title):
    return [list(row) for row in book[title].iter_rows(values_only=True)]


def test_xlsx_holds_every_figure_as_numbers(scene, coordinator_api):
    r = coordinator_api.get(URL + "activity.xlsx", {**MARCH, "hotline": scene.hotline.pk})
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r["Content-Disposition"]
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == [
        "Summary",
        "Calls by day",
        "Calls by hour of day",
        "Categories",
        "Caller groups",
        "Risk levels",
        "Escalation outcomes",
        "Hours per volunteer",
        "Hours per organisation",
    ]
    summary = {row[0]: row[1:] for row in _sheet_rows(book, "Summary") if row and row[0]}
    assert summary["Calls received"] == [9, 3]
    assert summary["Answered by a volunteer"] == [4, 1]
    assert summary["To voicemail"] == [2, 0]
    assert summary["Hung up in the menu or queue"] == [1, 1]
    assert summary["Answer rate"] == [0.4444, 0.3333]
    assert summary["Median wait to a volunteer (s)"] == [25, 40]
    assert summary["90% waited at most (s)"] == [100, 40]
    assert summary["Escalations opened"] == [3, 0]
    assert summary["Median time to acknowledge (s)"] == [360, None]
    assert summary["Longest time to acknowledge (s)"] == [600, None]
    assert summary["Seats on the roster"] == [6, 1]
    assert summary["Hours served"] == [34.0, 6.0]
    categories = _sheet_rows(book, "Categories")
    assert categories[0] == ["code", "name", "this period", "previous period"]
    assert {row[0]: row[2] for row in categories[1:]} == h.BY_CATEGORY
    assert {row[0]: row[3] for row in categories[1:]}["psychological"] == 1
    risks = _sheet_rows(book, "Risk levels")
    assert {row[0]: row[2] for row in risks[1:]} == h.BY_RISK
    hours = _sheet_rows(book, "Hours per volunteer")
    assert hours[1:] == [
        ["An Qi", "North branch", 18, 2, 1, 1, 2],
        ["Bai Lu", "North branch", 16, 2, 2, 1, 2],
    ]
    by_hour = _sheet_rows(book, "Calls by hour of day")
    assert by_hour[1 + 9] == [9, 2, 2]
    assert book["Categories"].column_dimensions["B"].width > 10


@override_settings(LANGUAGE_CODE="zh-hans")
def test_xlsx_headers_in_chinese(scene, coordinator_api):
    r = coordinator_api.get(URL + "activity.xlsx", MARCH, HTTP_ACCEPT_LANGUAGE="zh-hans")
    book = load_workbook(io.BytesIO(r.content))
    assert "分类" in book.sheetnames
    assert _sheet_rows(book, "分类")[0] == ["代码", "名称", "本期", "上期"]


def test_docx_is_the_report_with_its_figures(scene, coordinator_api):
    r = coordinator_api.get(URL + "activity.docx", {**MARCH, "hotline": scene.hotline.pk})
    assert r.status_code == 200
    doc = Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Activity report: City line" in text
    assert "2026-03-01 – 2026-03-31" in text
    assert "received 9 calls (previous period: 3)" in text
    assert "answered 4 of them, an answer rate of 44.4%" in text
    assert "2 volunteers served 34.0 hours on 5 of 6 roster seats (coverage 83.3%)" in text
    assert "3 crisis escalations were opened and 1 resolved" in text
    tables = {t.rows[0].cells[0].text: t for t in doc.tables}
    summary = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert ["Calls received", "9", "3"] in summary
    assert ["Escalations acknowledged", "2", "0"] in summary
    volunteers = tables["volunteer"]
    assert [c.text for c in volunteers.rows[1].cells] == [
        "An Qi",
        "North branch",
        "18.0",
        "2",
        "1",
        "1",
        "2",
    ]


def test_csv_tables(scene, coordinator_api):
    r = coordinator_api.get(URL + "caller_groups.csv", {**MARCH, "hotline": scene.hotline.pk})
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["code", "name", "this period", "previous period"]
    assert {row[0]: int(row[2]) for row in rows[1:]} == h.BY_CALLER_GROUP
    assert coordinator_api.get(URL + "nonsense.csv", MARCH).status_code == 404


def test_empty_period_files_are_valid(scene, coordinator_api):
    empty = {"from": "2030-01-01", "to": "2030-01-31"}
    book = load_workbook(io.BytesIO(coordinator_api.get(URL + "activity.xlsx", empty).content))
    summary = {row[0]: row[1:] for row in _sheet_rows(book, "Summary") if row and row[0]}
    assert summary["Calls received"] == [0, 0]
    doc = Document(io.BytesIO(coordinator_api.get(URL + "activity.docx", empty).content))
    assert "received 0 calls" in "\n".join(p.text for p in doc.paragraphs)
    for table in ("summary", "volunteer_hours", "organisations", "calls_by_hour"):
        r = coordinator_api.get(URL + f"{table}.csv", empty)
        assert r.status_code == 200
        assert len(list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))) >= 1


def test_names_never_become_formulas(scene, coordinator_api):
    scene.v1.display_name = '=HYPERLINK("http://evil.example","x")'
    scene.v1.save()
    params = {**MARCH, "hotline": scene.hotline.pk}
    book = load_workbook(io.BytesIO(coordinator_api.get(URL + "activity.xlsx", params).content))
    cell = book["Hours per volunteer"]["A2"]
    assert cell.data_type == "s"
    assert cell.value == scene.v1.display_name
    r = coordinator_api.get(URL + "volunteer_hours.csv", params)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[1][0] == "'" + scene.v1.display_name


def test_calls_api_filters_by_last_four_digits_and_risk(scene, coordinator_api):
    r = coordinator_api.get("/api/v1/calls/", {"last4": "1234", "risk": 3})
    assert r.status_code == 200
    assert r.json()["count"] == 1
    assert coordinator_api.get("/api/v1/calls/", {"last4": "9999"}).json()["count"] == 0
