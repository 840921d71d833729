"""Calendar-feed behaviours a `make mutants` run of scheduling/feeds/builder.py found unpinned
(issue 19): two changes within one clock tick, the Last-Modified a calendar app revalidates
with, an open slot's own time zone and first SEQUENCE, and the open-slots feed's query count.
Each test names the surviving mutant(s) it kills (`scheduling.feeds.builder.x_<name>`); each
was rechecked with `bin/mutants.py --recheck feeds` (docs/testing.md).

The scene is the feed tests' London hotline (test_builder.py): the test settings' TIME_ZONE
is Shanghai, so a time written in the server's zone instead of the hotline's shows up here."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache, caches
from django.urls import reverse
from django.utils.http import http_date
from icalendar import Calendar

from hotline.models import Role
from scheduling import services
from scheduling.feeds import builder as ical
from scheduling.feeds import tokens
from scheduling.models import CalendarToken
from tests.scheduling.feeds import test_builder as base
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db

# Amy and Ben on a night shift across the spring change, Amy on a day (London Line).
scene = base.scene
fetch, vevents = base.fetch, base.vevents


def open_url(user) -> str:
    token = tokens.calendar_token_get(user=user, kind=CalendarToken.Kind.OPEN)
    return reverse("scheduling:calendar-open-feed", kwargs={"token": token.token})


def sequence(event) -> int:
    """SEQUENCE as a calendar app reads it: absent is 0 (RFC 5545 3.8.7.4)."""
    return int(event.sequence.value) if hasattr(event, "sequence") else 0


# --- two changes within one clock tick ----------------------------------------------------------


def test_two_changes_in_the_same_instant_each_reach_the_volunteers_calendar(client, scene):
    """A coordinator adds two co-volunteers within the same second (the clock is frozen): the
    change stamp's time is the same for both, only its version moves. A calendar app that
    fetched between them must get the second one too. Kills volunteer_feed_version 18
    (`stamp_version or 0` → `and 0`: the ETag no longer follows the version)."""
    day = scene["day"]
    day.required_counsellors = 3  # Amy's seat and two more
    day.save()
    services.assignment_create(
        shift=day, volunteer=f.volunteer(display_name="Cai"), role=Role.COUNSELLOR
    )
    services.roster_publish(roster=day.roster)
    day_uid = f"assignment-{scene['a_day'].pk}@testserver"
    first = fetch(client, scene["token"])
    assert vevents(first.content)[day_uid].description.value.endswith("\nWith: Cai")
    services.assignment_create(
        shift=day, volunteer=f.volunteer(display_name="Dee"), role=Role.COUNSELLOR
    )
    services.roster_publish(roster=day.roster)
    second = fetch(client, scene["token"], if_none_match=first["ETag"])
    assert second.status_code == 200
    assert vevents(second.content)[day_uid].description.value.endswith("\nWith: Cai, Dee")


def test_two_changes_in_the_same_instant_each_reach_the_open_slots_calendar(
    client, scene, coordinator
):
    """The same for the coordinators' unfilled slots. Kills open_slots_version 11."""
    url = open_url(coordinator)
    night_uid = f"shift-{scene['night'].pk}-open@testserver"
    first = client.get(url)
    assert "family-education expert" in vevents(first.content)[night_uid].summary.value
    services.assignment_create(
        shift=scene["night"],
        volunteer=f.volunteer(roles=("family_educator",)),
        role="family_educator",
    )
    services.roster_publish(roster=scene["roster"])
    second = client.get(url, headers={"if_none_match": first["ETag"]})
    assert second.status_code == 200
    assert "family-education" not in vevents(second.content)[night_uid].summary.value
    services.assignment_create(
        shift=scene["night"], volunteer=f.volunteer(roles=("supervisor",)), role="supervisor"
    )
    services.roster_publish(roster=scene["roster"])
    third = client.get(url, headers={"if_none_match": second["ETag"]})
    assert third.status_code == 200
    assert night_uid not in vevents(third.content)  # now fully staffed


# --- Last-Modified and If-Modified-Since ----------------------------------------------------------


def test_last_modified_is_the_last_change_and_if_modified_since_before_it_gets_the_feed(
    client, scene, clock
):
    """Calendar apps that revalidate with If-Modified-Since: the feed's Last-Modified is the
    time of its last change, not the start of the day, so a client that fetched in the
    morning gets the afternoon's change. Kills volunteer_feed_version 1 and 10 (the change
    time dropped: Last-Modified stays at 00:00 and the morning's client gets 304)."""
    clock.set(dt.datetime(2027, 3, 20, 15, 30, tzinfo=dt.UTC))
    services.assignment_create(
        shift=scene["day"], volunteer=f.volunteer(display_name="Cai"), role=Role.COUNSELLOR
    )
    services.roster_publish(roster=scene["roster"])
    response = fetch(client, scene["token"])
    assert response["Last-Modified"] == "Sat, 20 Mar 2027 15:30:00 GMT"
    morning = http_date(dt.datetime(2027, 3, 20, 9, 0, tzinfo=dt.UTC).timestamp())
    again = fetch(client, scene["token"], if_modified_since=morning)
    day = vevents(again.content)[f"assignment-{scene['a_day'].pk}@testserver"]
    assert again.status_code == 200 and day.description.value.endswith("\nWith: Cai")
    since_change = fetch(client, scene["token"], if_modified_since=response["Last-Modified"])
    assert since_change.status_code == 304


def test_open_slots_last_modified_is_the_last_change(client, scene, coordinator, clock):
    """Kills open_slots_version 3 (the change time dropped from Last-Modified)."""
    clock.set(dt.datetime(2027, 3, 20, 15, 30, tzinfo=dt.UTC))
    services.assignment_create(
        shift=scene["night"], volunteer=f.volunteer(roles=("supervisor",)), role="supervisor"
    )
    services.roster_publish(roster=scene["roster"])
    url = open_url(coordinator)
    response = client.get(url)
    assert response["Last-Modified"] == "Sat, 20 Mar 2027 15:30:00 GMT"
    morning = http_date(dt.datetime(2027, 3, 20, 9, 0, tzinfo=dt.UTC).timestamp())
    assert client.get(url, headers={"if_modified_since": morning}).status_code == 200


# --- an open slot as a coordinator's calendar shows it ---------------------------------------------


def test_an_open_slot_is_shown_in_its_hotlines_time_zone(scene, clock):
    """A London hotline's unfilled 09:00 slot reads 09:00 Europe/London, with its VTIMEZONE,
    whatever the server's zone. Kills open_slots_feed 89 and 90 (start and end written in
    the server's zone, Shanghai in tests: `TZID=CST`, a zone the file does not define)."""
    body = ical.open_slots_feed(language="en", now=clock.now).decode()
    assert "DTSTART;TZID=Europe/London:20270402T090000\r\n" in body
    assert "DTEND;TZID=Europe/London:20270402T150000\r\n" in body
    assert "TZID=CST" not in body and "BEGIN:VTIMEZONE\r\nTZID:Europe/London" in body
    # An independent parser resolves it to the same instants.
    event = vevents(body.encode())[f"shift-{scene['day'].pk}-open@testserver"]
    assert event.dtstart.value.astimezone(dt.UTC) == scene["day"].starts_at


def test_a_slot_nobody_was_ever_assigned_to_is_at_sequence_0(scene, clock):
    """SEQUENCE counts what happened to the slot: a new shift with no assignment at all is
    at its first version; the first assignment (still short of seats) raises it to 1.
    Kills open_slots_feed 22 (`Sum(..., default=1)`: every untouched slot starts at 1)."""
    empty = f.shift(roster_=scene["roster"], starts_at=local(2027, 4, 5, 9), hours=4)
    uid = f"shift-{empty.pk}-open@testserver"
    assert sequence(vevents(ical.open_slots_feed(language="en", now=clock.now))[uid]) == 0
    f.assignment(shift_=empty, volunteer_=f.volunteer())
    cache.clear()
    assert sequence(vevents(ical.open_slots_feed(language="en", now=clock.now))[uid]) == 1


@pytest.mark.parametrize("extra", [0, 6])
def test_open_slots_feed_query_count_independent_of_size(
    scene, clock, django_assert_num_queries, extra
):
    """One query whatever the number of slots and hotlines (the feed is built again on every
    change, then fetched by every coordinator's calendar app). Kills open_slots_feed 7
    (`select_related` dropped: one query more per slot, for its hotline)."""
    for i in range(extra):
        hotline = london_hotline(name=f"Line {i}", phone_number=f"+44207946000{i}")
        f.shift(roster_=published_roster(hotline), starts_at=local(2027, 4, 5 + i, 9), hours=4)
    with django_assert_num_queries(1):
        body = ical.open_slots_feed(language="en", now=clock.now)
    assert len(vevents(body)) == 2 + extra


def test_a_volunteers_shift_is_shown_in_the_hotlines_time_zone(scene, clock):
    """Start and end both in the London hotline's zone (the server's is Shanghai). Kills
    volunteer_feed 156 (the end written in the server's zone: `DTEND;TZID=CST`)."""
    body = ical.volunteer_feed(scene["amy"], now=clock.now).decode()
    assert "DTSTART;TZID=Europe/London:20270402T090000\r\n" in body
    assert "DTEND;TZID=Europe/London:20270402T150000\r\n" in body
    assert "TZID=CST" not in body


def test_a_staged_assignment_is_not_in_the_volunteers_calendar_until_published(scene, clock):
    """An assignment added to a published roster more than the freeze ahead is staged
    (pending) until the coordinator publishes: the volunteer's calendar must not show a
    shift that is not theirs yet. Kills volunteer_feed_assignments 16 (the cancelled
    branch without its status: any assignment changed in the last 30 days, pending too)."""
    later = f.shift(roster_=scene["roster"], starts_at=local(2027, 4, 6, 9), hours=4)
    staged = services.assignment_create(shift=later, volunteer=scene["amy"], role=Role.COUNSELLOR)
    assert staged.status == "pending"
    uid = f"assignment-{staged.pk}@testserver"
    assert uid not in vevents(ical.volunteer_feed(scene["amy"], now=clock.now))
    services.roster_publish(roster=scene["roster"])
    cache.clear()
    assert uid in vevents(ical.volunteer_feed(scene["amy"], now=clock.now))


# --- the calendar as a whole ---------------------------------------------------------------------


def test_calendar_says_who_made_it_and_how_it_is_published(scene, clock):
    """PRODID is required (RFC 5545: some clients refuse a calendar without it); METHOD
    PUBLISH and CALSCALE GREGORIAN tell a client it is a subscription, not an invitation.
    Kills _calendar 2, 4, 8, 10, 14, 27, 28."""
    for body in (
        ical.volunteer_feed(scene["amy"], now=clock.now),
        ical.open_slots_feed(language="en", now=clock.now),
    ):
        text = body.decode()
        assert "\r\nPRODID:-//Hotline Roster//Calendar feed//EN\r\n" in text
        assert "\r\nMETHOD:PUBLISH\r\n" in text
        assert "\r\nCALSCALE:GREGORIAN\r\n" in text


def test_the_time_zone_definition_covers_every_year_of_the_events(scene, clock):
    """Clients that read only the VTIMEZONE (some Outlook versions) need its rules for each
    event's date: the definition starts by 1 January of the first event's year and its
    changes reach past the last event's year's last change. Kills _finish 8 (starting a year
    late) and 11 (ending a year early)."""
    late = f.shift(roster_=scene["roster"], starts_at=local(2027, 11, 20, 9), hours=4)
    f.assignment(shift_=late, volunteer_=scene["amy"])
    cal = Calendar.from_ical(ical.volunteer_feed(scene["amy"], now=clock.now))
    (zone,) = cal.walk("VTIMEZONE")
    starts = [c.DTSTART for c in zone.subcomponents]
    assert min(starts) <= dt.datetime(2027, 1, 1)
    reach = []
    for c in zone.subcomponents:
        rule = c.get("RRULE")
        reach.append(rule["UNTIL"][0].replace(tzinfo=None) if rule else c.DTSTART)
    assert max(reach) >= dt.datetime(2027, 10, 31, 1, 0)  # the 2027 autumn change


def test_uids_use_the_configured_host(scene, clock, settings):
    """Changing the host in the UIDs makes every calendar app show every shift twice, so a
    deployment pins it with CALENDAR_UID_HOST. Kills uid_host 1 (the setting ignored)."""
    settings.CALENDAR_UID_HOST = "roster.example.org"
    uids = vevents(ical.volunteer_feed(scene["amy"], now=clock.now))
    assert f"assignment-{scene['a_day'].pk}@roster.example.org" in uids


def test_uids_take_the_first_real_allowed_host(scene, clock, settings):
    """Without CALENDAR_UID_HOST: the first ALLOWED_HOSTS entry that names one host (not
    `*`, a `.domain` wildcard or an IPv6 literal). Kills uid_host 2 and 3."""
    settings.CALENDAR_UID_HOST = ""
    settings.ALLOWED_HOSTS = ["*", ".example.org", "[::1]", "roster.example.org", "other.org"]
    assert ical.uid_host() == "roster.example.org"
    settings.ALLOWED_HOSTS = ["*", ".example.org"]
    assert ical.uid_host() == "hotline-roster"


# --- the cache ---------------------------------------------------------------------------------------


def test_a_cache_outage_is_logged_with_its_error_and_the_feed_still_built(
    scene, clock, monkeypatch, caplog
):
    """What an operator reads when Redis is down: a warning saying the feed was built
    without the cache, with the error. Kills cached 7–13 (reading) and 22–28 (keeping)."""

    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    backend = caches["default"]  # the object behind the `cache` proxy
    version = ical.FeedVersion(etag='"abc"', last_modified=None)
    monkeypatch.setattr(backend, "get", down)
    with caplog.at_level("WARNING", logger="scheduling.feeds.builder"):
        assert ical.cached(version, lambda: b"feed") == b"feed"
    (record,) = caplog.records
    assert record.getMessage() == "feed cache unavailable; building the feed"
    assert record.exc_info and "redis is down" in str(record.exc_info[1])

    caplog.clear()
    monkeypatch.setattr(backend, "get", lambda key: None)
    monkeypatch.setattr(backend, "set", down)
    with caplog.at_level("WARNING", logger="scheduling.feeds.builder"):
        assert ical.cached(version, lambda: b"feed") == b"feed"
    (record,) = caplog.records
    assert record.getMessage() == "feed cache unavailable; feed not kept"
    assert record.exc_info and "redis is down" in str(record.exc_info[1])


def test_a_built_feed_is_kept_an_hour(monkeypatch):
    """Kept under its ETag for an hour, not forever (every day's ETag is new: kept forever,
    Redis would fill) nor the cache's 5-minute default. Kills cached 18 and 21."""
    kept = []
    backend = caches["default"]
    monkeypatch.setattr(backend, "get", lambda key: None)
    monkeypatch.setattr(backend, "set", lambda *args, **kwargs: kept.append((args, kwargs)))
    version = ical.FeedVersion(etag='"abc"', last_modified=None)
    assert ical.cached(version, lambda: b"feed") == b"feed"
    assert kept == [(("ical-feed:abc", b"feed", 3600), {})]


def test_the_60_day_window_starts_at_midnight_utc_whatever_the_servers_zone(client, scene, clock):
    """At 17:00 UTC on 20 March it is already 21 March in the server's zone (Shanghai in
    tests): the window still starts at 00:00 UTC 60 days before 20 March. Kills _day_floor 2
    (the day taken in the server's zone: the window moves a day early)."""
    clock.set(dt.datetime(2027, 3, 20, 17, 0, tzinfo=dt.UTC))
    edge = dt.datetime(2027, 1, 19, 0, 0, tzinfo=dt.UTC)
    on_edge = f.assignment(
        shift_=f.shift(roster_=scene["roster"], starts_at=edge - dt.timedelta(hours=4), hours=4),
        volunteer_=scene["amy"],
    )
    assert f"assignment-{on_edge.pk}@testserver" in vevents(fetch(client, scene["token"]).content)
