"""Feeds answer from change stamps: every service that changes what a feed shows raises the
stamps of the feeds it changes, in its own transaction (a refused or rolled-back change
raises nothing), and a conditional request then gets the new feed, never a stale 304."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from hotline import stamps
from hotline.models import ChangeStamp, Role
from hotline.people import services as people
from scheduling import services
from scheduling.models import CalendarToken
from scheduling.rules import RuleViolation
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(clock):
    hotline = london_hotline()
    roster = published_roster(hotline)
    amy = f.volunteer(display_name="Amy")
    ben = f.volunteer(display_name="Ben")
    day = f.shift(roster_=roster, starts_at=local(2027, 3, 22, 9), hours=6)
    other = f.shift(roster_=roster, starts_at=local(2027, 3, 24, 9), hours=6)
    mine = services.assignment_create(shift=day, volunteer=amy, role=Role.COUNSELLOR)
    token = CalendarToken.objects.get_or_create(
        user=amy.user, defaults={"token": "x" * 43, "token_hash": _hash("x" * 43)}
    )[0]
    return {
        "hotline": hotline,
        "roster": roster,
        "amy": amy,
        "ben": ben,
        "day": day,
        "other": other,
        "mine": mine,
        "token": token,
    }


def _hash(token: str) -> str:
    from scheduling.feeds.tokens import token_hash

    return token_hash(token)


def feed(client, token="x" * 43, **headers):
    return client.get(reverse("scheduling:calendar-feed", kwargs={"token": token}), headers=headers)


def version(scope: str, key: int) -> int:
    row = ChangeStamp.objects.filter(scope=scope, key=key).first()
    return row.version if row else 0


def changes_feed(client, change) -> None:
    """`change` makes Amy's revalidation a 200 with a new ETag."""
    first = feed(client)
    assert first.status_code == 200
    assert feed(client, if_none_match=first["ETag"]).status_code == 304
    change()
    second = feed(client, if_none_match=first["ETag"])
    assert second.status_code == 200, "a stale 304 after a change"
    assert second["ETag"] != first["ETag"]
    return second.content.decode().replace("\r\n ", "")  # unfolded


def test_stamps_raise_creates_then_increments_in_order():
    stamps.stamps_raise(scopes=[("volunteer", 3), ("volunteer", 1), ("volunteer", 3)])
    assert version("volunteer", 1) == 1 and version("volunteer", 3) == 1
    stamps.stamps_raise(scopes=[("volunteer", 3)])
    assert version("volunteer", 3) == 2


def test_a_rolled_back_change_raises_no_stamp():
    with pytest.raises(RuntimeError), transaction.atomic():
        stamps.volunteers_changed([7], hotline_ids=[2])
        raise RuntimeError
    assert version("volunteer", 7) == 0 and version("open", 2) == 0


def test_a_refused_assignment_raises_no_stamp(scene):
    before = version("volunteer", scene["amy"].pk)
    with pytest.raises(RuleViolation):
        # Overlaps her own shift: the rule layer refuses, the transaction rolls back.
        services.assignment_create(shift=scene["day"], volunteer=scene["amy"], role=Role.COUNSELLOR)
    assert version("volunteer", scene["amy"].pk) == before


def _assign_and_publish(shift, volunteer):
    # On a published roster a change more than ROSTER_FREEZE_HOURS ahead is staged: the
    # feed follows when the coordinator publishes it.
    services.assignment_create(shift=shift, volunteer=volunteer, role=Role.COUNSELLOR)
    services.roster_publish(roster=shift.roster)


def test_new_assignment_changes_the_feed(client, scene):
    text = changes_feed(client, lambda: _assign_and_publish(scene["other"], scene["amy"]))
    assert text.count("BEGIN:VEVENT") == 2


def test_cancellation_changes_the_feed(client, scene):
    text = changes_feed(client, lambda: services.assignment_cancel(assignment=scene["mine"]))
    assert "STATUS:CANCELLED" in text


def test_shift_time_change_changes_the_feed(client, scene):
    text = changes_feed(
        client,
        lambda: services.shift_update(
            shift=scene["day"], starts_at=local(2027, 3, 22, 10), ends_at=local(2027, 3, 22, 16)
        ),
    )
    assert "DTSTART;TZID=Europe/London:20270322T100000" in text


def test_co_volunteer_joining_and_renamed_changes_the_feed(client, scene, clock):
    text = changes_feed(
        client,
        lambda: services.assignment_create(
            shift=scene["day"], volunteer=scene["ben"], role=Role.COUNSELLOR
        ),
    )
    assert "With: Ben" in text
    clock.advance(minutes=5)
    text = changes_feed(
        client,
        lambda: people.volunteer_update(volunteer=scene["ben"], display_name="Benjamin", by=None),
    )
    assert "With: Benjamin" in text


def test_publishing_a_draft_changes_the_feed(client, scene):
    draft = f.roster(hotline_=scene["hotline"], first_day=scene["roster"].first_day, status="draft")
    shift = f.shift(roster_=draft, starts_at=local(2027, 3, 26, 9), hours=4)
    services.assignment_create(shift=shift, volunteer=scene["amy"], role=Role.COUNSELLOR)
    text = changes_feed(client, lambda: services.roster_publish(roster=draft))
    assert text.count("BEGIN:VEVENT") == 2


def test_own_language_change_changes_the_feed(client, scene, clock):
    clock.advance(minutes=1)
    text = changes_feed(
        client, lambda: people.volunteer_update(volunteer=scene["amy"], language="zh-hans", by=None)
    )
    assert "居家电话值守" in text  # "by phone from home", now in her language


def test_another_volunteers_change_leaves_the_feed_alone(client, scene):
    first = feed(client)
    services.assignment_create(shift=scene["other"], volunteer=scene["ben"], role=Role.COUNSELLOR)
    assert feed(client, if_none_match=first["ETag"]).status_code == 304


def test_open_slots_feed_follows_its_stamps(client, scene, coordinator, django_assert_num_queries):
    token = CalendarToken.objects.create(
        user=coordinator, kind=CalendarToken.Kind.OPEN, token="o" * 43, token_hash=_hash("o" * 43)
    )
    url = reverse("scheduling:calendar-open-feed", kwargs={"token": token.token})
    first = client.get(url)
    assert f"shift-{scene['other'].pk}-open@" in first.content.decode()
    with django_assert_num_queries(1):  # the token, its stamps and the coordinators group
        assert client.get(url, headers={"if-none-match": first["ETag"]}).status_code == 304
    services.assignment_create(shift=scene["other"], volunteer=scene["ben"], role=Role.COUNSELLOR)
    second = client.get(url, headers={"if-none-match": first["ETag"]})
    assert second.status_code == 200 and second["ETag"] != first["ETag"]
    assert second.content != first.content


def test_feed_is_built_when_the_cache_is_down(client, scene, monkeypatch):
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "set", down)
    response = feed(client)
    assert response.status_code == 200 and b"BEGIN:VEVENT" in response.content
