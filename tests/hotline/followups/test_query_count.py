"""Lists of follow-ups and resources cost the same number of queries for 2 rows as for 20."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from hotline.models import Resource
from tests.support.followups import follow_up_for
from tests.support.twilio import NOW


def queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = fn()
    assert response.status_code == 200
    return len(ctx.captured_queries)


def grow(scene, volunteer, n):
    for i in range(n):
        follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + dt.timedelta(hours=i - 1))


def test_follow_up_pages_and_api_do_not_grow_with_rows(scene, volunteer, supervisor, client, clock):
    api = APIClient()
    api.force_authenticate(supervisor.user)
    client.force_login(supervisor.user)
    mine = APIClient()
    mine.force_authenticate(volunteer.user)
    grow(scene, volunteer, 2)
    # Warm up: a forced-authenticated user object caches its coordinator check.
    (
        api.get("/api/v1/follow-ups/"),
        client.get("/follow-ups/queue/"),
        mine.get("/api/v1/follow-ups/"),
    )
    few = [
        queries(lambda: api.get("/api/v1/follow-ups/")),
        queries(lambda: client.get("/follow-ups/queue/")),
        queries(lambda: mine.get("/api/v1/follow-ups/?overdue=1")),
    ]
    grow(scene, volunteer, 18)
    many = [
        queries(lambda: api.get("/api/v1/follow-ups/")),
        queries(lambda: client.get("/follow-ups/queue/")),
        queries(lambda: mine.get("/api/v1/follow-ups/?overdue=1")),
    ]
    assert many == few


def test_resource_list_does_not_grow_with_rows(volunteer, client, clock):
    api = APIClient()
    api.force_authenticate(volunteer.user)
    client.force_login(volunteer.user)
    few = [
        queries(lambda: api.get("/api/v1/resources/")),
        queries(lambda: client.get("/referrals/")),
    ]
    for i in range(20):
        Resource.objects.create(name=f"Clinic {i}", category="hospital", area="新县", phone="120")
    many = [
        queries(lambda: api.get("/api/v1/resources/")),
        queries(lambda: client.get("/referrals/")),
    ]
    assert many == few
