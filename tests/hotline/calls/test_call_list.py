"""The calls list: pages, filters, last-four-digits search, links to report and escalation,
and a flat query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.support import stats as h


@pytest.fixture
def scene(db, clock, coordinator):
    clock.set(h.NOW)
    return h.known_history(coordinator=coordinator)


def _sids(response) -> list[str]:
    return [c.call_sid for c in response.context["calls"]]


def test_filters(scene, client, coordinator):
    client.force_login(coordinator)
    march = {"start": h.FROM, "end": h.TO, "hotline": ""}
    r = client.get("/calls/", march)
    assert r.status_code == 200
    assert r.context["page"].paginator.count == 10  # both hotlines
    assert len(_sids(client.get("/calls/", {**march, "outcome": "voicemail"}))) == 2
    assert len(_sids(client.get("/calls/", {**march, "category": "psychological"}))) == 2
    assert len(_sids(client.get("/calls/", {**march, "risk": "3"}))) == 1
    assert len(_sids(client.get("/calls/", {**march, "answered_by": scene.v2.pk}))) == 2
    assert len(_sids(client.get("/calls/", {"last4": "1234"}))) == 11
    assert len(_sids(client.get("/calls/", {"start": "2026-02-01", "end": "2026-02-28"}))) == 3


def test_bad_filters_say_why(scene, client, coordinator):
    client.force_login(coordinator)
    r = client.get("/calls/", {"last4": "12a4"})
    assert r.status_code == 400
    assert "Give the last four digits." in r.content.decode()
    r = client.get("/calls/", {"start": "2026-03-31", "end": "2026-03-01"})
    assert r.status_code == 400


def test_rows_link_to_report_and_escalation(scene, client, coordinator):
    client.force_login(coordinator)
    r = client.get("/calls/", {"risk": "3"})
    call = r.context["calls"][0]
    html = r.content.decode()
    assert f"/calls/{call.pk}/report/" in html
    assert call.escalation_pk is not None
    assert reverse("crisis:escalation", args=[call.escalation_pk]) in html


def test_paging(scene, client, coordinator, monkeypatch):
    monkeypatch.setattr("hotline.calls.views.PAGE_SIZE", 5)
    client.force_login(coordinator)
    first = client.get("/calls/", {"outcome": "answered"})
    assert first.context["page"].paginator.num_pages == 2
    second = client.get("/calls/", {"outcome": "answered", "page": 2})
    assert set(_sids(first)).isdisjoint(_sids(second))
    assert len(_sids(first)) + len(_sids(second)) == 7
    assert "outcome=answered&amp;page=2" in first.content.decode()


def test_a_volunteer_filters_only_their_own_calls(scene, client):
    client.force_login(scene.v1.user)
    r = client.get("/calls/", {"last4": "1234"})
    assert len(_sids(r)) == 4  # answered in Feb, March and April, never anyone else's
    assert "answered_by" not in r.context["form"].fields


def test_query_count_is_flat(scene, client, coordinator):
    client.force_login(coordinator)
    with CaptureQueriesContext(connection) as few:
        client.get("/calls/", {"outcome": "voicemail"})
    with CaptureQueriesContext(connection) as many:
        client.get("/calls/")
    assert len(few.captured_queries) == len(many.captured_queries)


def test_a_long_list_counts_no_further_than_its_limit(scene, client, coordinator, monkeypatch):
    """Years of calls: the count stops at the limit (no COUNT(*) over every call ever), the
    pages reach the newest calls up to it, and the page says how to find older ones."""
    from hotline.models import Call

    monkeypatch.setattr("hotline.paging.COUNT_LIMIT", 4)
    monkeypatch.setattr("hotline.calls.views.PAGE_SIZE", 3)
    client.force_login(coordinator)
    first = client.get("/calls/")
    paginator = first.context["page"].paginator
    assert (paginator.count, paginator.count_capped, paginator.num_pages) == (4, True, 2)
    assert "More than 4 calls" in first.content.decode()
    newest = list(Call.objects.order_by("-arrived_at", "-id").values_list("call_sid", flat=True))
    second = client.get("/calls/", {"page": 2})
    assert _sids(first) + _sids(second) == newest[:4]  # newest first, the page's order kept
    assert client.get("/calls/", {"outcome": "voicemail"}).context["page"].paginator.count == 2


def test_annotations_are_computed_for_the_page_only(scene, client, coordinator, monkeypatch):
    """The repeat-caller count, the report and the escalation (correlated subqueries) are
    read for the page's calls by id, never for every visible call before the sort."""
    monkeypatch.setattr("hotline.calls.views.PAGE_SIZE", 3)
    client.force_login(coordinator)
    with CaptureQueriesContext(connection) as ctx:
        r = client.get("/calls/", {"risk": "3"})
    annotated = [q["sql"] for q in ctx.captured_queries if "hotline_escalation" in q["sql"]]
    annotated = [sql for sql in annotated if "hotline_callreport" in sql]
    assert len(annotated) == 1
    assert '"hotline_call"."id" IN (' in annotated[0]
    call = r.context["calls"][0]
    assert call.escalation_pk is not None and call.report_risk == 3


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans")
def test_a_lines_newest_calls_come_from_its_index_in_order(scene):
    """A coordinator of one line: the page's ids are read from the (hotline, arrived_at)
    index in order, stopping at the page, with no sort of every call (a join to the
    hotline table made SQLite sort them all)."""
    from hotline.calls.selectors import calls_visible_to
    from tests.support import factories as f

    boss = f.coordinator_user(username="north-coord")
    f.volunteer(user=boss, roles=(), organisation=scene.north)
    plan = calls_visible_to(boss).values("pk")[:50].explain()
    assert "call_hotline_arrived_idx" in plan
    assert "TEMP B-TREE" not in plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans")
def test_a_volunteers_newest_calls_come_from_its_index_in_order(scene):
    """A volunteer's own calls, newest first, from the (answered_by, arrived_at) index: no
    sort of every call they answered in years."""
    from hotline.calls.selectors import calls_visible_to

    plan = calls_visible_to(scene.v1.user).values("pk")[:50].explain()
    assert "call_answered_by_arrived_idx" in plan
    assert "TEMP B-TREE" not in plan
