"""Calendar-feed edges a mutation check found untested (issue 19): the 60-day window's
edge, byte-identical builds with the cache cleared, a renamed or cancelled co-volunteer,
and a fully staffed shift in the open-slots feed. Each test names the mutation of
scheduling/feeds/builder.py it was checked against (made by hand, test seen failing, code
reverted)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse

from hotline.people import services as people
from scheduling import services
from scheduling.feeds import builder as ical
from scheduling.feeds import tokens
from scheduling.feeds.lookup import feed_key
from scheduling.models import CalendarToken
from tests.scheduling.feeds import test_builder as base
from tests.support import factories as f
from tests.support.scenes import NOW, local, london_hotline, published_roster

pytestmark = pytest.mark.django_db

# The feed tests' scene: Amy and Ben on a night shift across the spring change, Amy on a day.
scene = base.scene
fetch, vevents = base.fetch, base.vevents


def uids(client, token):
    return set(vevents(fetch(client, token).content))


# --- the 60-day window ---------------------------------------------------------------------


def test_a_shift_that_ended_within_the_last_60_days_is_still_in_the_feed(client, scene):
    """The window starts at 00:00 UTC 60 days before today (NOW is 20 March 2027, so
    19 January). Mutations: `DAYS_BACK = 30` drops the 59-day-old shift; `ends_at__gte` →
    `__gt` drops the one ending exactly on the edge."""
    amy = scene["amy"]
    edge = dt.datetime(2027, 1, 19, 0, 0, tzinfo=dt.UTC)  # London is on UTC in January
    on_edge = f.assignment(
        shift_=f.shift(roster_=scene["roster"], starts_at=edge - dt.timedelta(hours=4), hours=4),
        volunteer_=amy,
    )
    recent = f.assignment(
        shift_=f.shift(roster_=scene["roster"], starts_at=local(2027, 1, 20, 9), hours=4),
        volunteer_=amy,
    )
    before = f.assignment(
        shift_=f.shift(
            roster_=scene["roster"],
            starts_at=edge - dt.timedelta(hours=4, minutes=1),
            hours=4,
        ),
        volunteer_=amy,
    )
    found = uids(client, scene["token"])
    assert f"assignment-{on_edge.pk}@testserver" in found
    assert f"assignment-{recent.pk}@testserver" in found
    assert f"assignment-{before.pk}@testserver" not in found


def test_the_longest_shift_ending_on_the_edge_is_in_and_old_history_is_not(
    client, scene, django_assert_num_queries
):
    """The feed reads shifts from their start index, bounded at the window's edge less the
    longest shift (24 h, scheduling/validators.py): a 24-hour shift that ended on the edge
    is still in; a year-old assignment is not, and the feed's query count stays 3."""
    amy = scene["amy"]
    edge = dt.datetime(2027, 1, 19, 0, 0, tzinfo=dt.UTC)
    longest = f.assignment(
        shift_=f.shift(roster_=scene["roster"], starts_at=edge - dt.timedelta(hours=24), hours=24),
        volunteer_=amy,
    )
    old = f.assignment(
        shift_=f.shift(roster_=scene["roster"], starts_at=local(2026, 3, 2, 9), hours=6),
        volunteer_=amy,
    )
    cache.clear()
    with django_assert_num_queries(3):
        found = uids(client, scene["token"])
    assert f"assignment-{longest.pk}@testserver" in found
    assert f"assignment-{old.pk}@testserver" not in found


# --- byte-identical builds ---------------------------------------------------------------------


def test_two_builds_of_unchanged_data_are_byte_identical_with_the_cache_cleared(scene, clock):
    """DTSTAMP and LAST-MODIFIED come from the data, not the clock. Mutation: `stamp=
    a.updated_at…` → `stamp=now` makes the second build differ."""
    first = ical.volunteer_feed(scene["amy"], now=clock.now)
    cache.clear()
    clock.advance(hours=3)
    second = ical.volunteer_feed(scene["amy"], now=clock.now)
    assert first == second


def test_two_open_slot_builds_are_byte_identical_with_the_cache_cleared(scene, clock):
    """Mutation: the open slot's `stamp=changed…` → `stamp=now`."""
    first = ical.open_slots_feed(language="en", now=clock.now)
    cache.clear()
    clock.advance(hours=3)
    assert ical.open_slots_feed(language="en", now=clock.now) == first


def test_the_feed_url_serves_identical_bytes_after_the_cache_is_cleared(client, scene, clock):
    first = fetch(client, scene["token"])
    cache.clear()
    clock.advance(hours=3)
    second = fetch(client, scene["token"])
    assert first.content == second.content and first["ETag"] == second["ETag"]


# --- co-volunteers -------------------------------------------------------------------------------


def test_renaming_a_co_volunteer_changes_the_etag(client, scene, clock):
    """A rename through the service raises the shared stamp (`everything_changed`).
    Mutation: leaving the stamps out of `volunteer_feed_version` keeps the old ETag, so the
    calendar app gets 304 and keeps showing the old name."""
    ben = scene["ben"]
    # The scene's number is in Ofcom's drama range, which the service's full_clean refuses;
    # feeds never show numbers, so a real one changes nothing a calendar shows.
    ben.phone_number = "+447911123456"
    ben.save()
    first = fetch(client, scene["token"])
    assert "Ben" in first.content.decode()
    clock.advance(hours=1)
    people.volunteer_update(volunteer=ben, display_name="Benedict", by=None)
    second = fetch(client, scene["token"], if_none_match=first["ETag"])
    assert second.status_code == 200 and second["ETag"] != first["ETag"]
    assert "Benedict" in second.content.decode()


def test_a_cancelled_co_volunteer_is_no_longer_listed_under_with(client, scene, clock):
    """Mutation: dropping `status=ACTIVE` from the co-volunteers' query keeps naming Ben."""
    from scheduling.models import Assignment

    night_uid = f"assignment-{scene['a_night'].pk}@testserver"
    first = fetch(client, scene["token"])
    assert "With: Ben" in vevents(first.content)[night_uid].description.value
    clock.advance(hours=1)
    services.assignment_cancel(
        assignment=Assignment.objects.get(shift=scene["night"], volunteer=scene["ben"])
    )
    services.roster_publish(roster=scene["roster"])  # the removal was staged
    second = fetch(client, scene["token"], if_none_match=first["ETag"])
    assert second.status_code == 200
    assert "Ben" not in vevents(second.content)[night_uid].description.value


# --- the open-slots feed ---------------------------------------------------------------------------


def _fill_night(scene):
    """Fill the night's two open seats through the services and publish them (the night is
    more than ROSTER_FREEZE_HOURS ahead, so they are staged until then): the open-slots
    stamps are raised as in production."""
    services.assignment_create(
        shift=scene["night"],
        volunteer=f.volunteer(roles=("family_educator",)),
        role="family_educator",
    )
    services.assignment_create(
        shift=scene["night"], volunteer=f.volunteer(roles=("supervisor",)), role="supervisor"
    )
    services.roster_publish(roster=scene["roster"])


def _open_version(user, *, language="en", now):
    """The open-slots version as the view computes it: from the stamps read with the token."""
    token = tokens.calendar_token_get(user=user, kind=CalendarToken.Kind.OPEN)
    found = feed_key(token_hash=tokens.token_hash(token.token), kind=CalendarToken.Kind.OPEN)
    return ical.open_slots_version(
        language=language,
        stamp_version=found.stamp_version,
        stamp_changed=found.stamp_changed,
        now=now,
    )


def test_a_fully_staffed_shift_is_absent_from_the_open_slots_feed(scene, clock):
    """Mutation: removing `if not missing: continue` lists every shift, full or not."""
    night_uid = f"shift-{scene['night'].pk}-open@testserver"
    day_uid = f"shift-{scene['day'].pk}-open@testserver"
    assert night_uid in vevents(ical.open_slots_feed(language="en", now=NOW))
    _fill_night(scene)
    found = vevents(ical.open_slots_feed(language="en", now=NOW))
    assert night_uid not in found and day_uid in found


def test_open_slots_url_drops_a_shift_once_it_is_full(client, scene, coordinator, clock):
    token = tokens.calendar_token_get(user=coordinator, kind=CalendarToken.Kind.OPEN)
    url = reverse("scheduling:calendar-open-feed", kwargs={"token": token.token})
    first = client.get(url)
    night_uid = f"shift-{scene['night'].pk}-open@testserver"
    assert night_uid in vevents(first.content)
    clock.advance(hours=1)
    _fill_night(scene)
    second = client.get(url, headers={"if_none_match": first["ETag"]})
    assert second.status_code == 200 and night_uid not in vevents(second.content)


def test_open_slot_event_says_what_is_missing_and_changes_with_its_assignments(scene, clock):
    """The whole event a coordinator's calendar shows. Added after `make mutants` showed
    most of open_slots_feed's mutants surviving (wording, crisis-trained seats, SEQUENCE,
    DTSTAMP from the last assignment change)."""
    scene["night"].crisis_trained_required = 1
    scene["night"].save()
    uid = f"shift-{scene['night'].pk}-open@testserver"
    event = vevents(ical.open_slots_feed(language="en", now=clock.now))[uid]
    missing = "1 × family-education expert, 1 × supervisor, 1 crisis-trained"
    assert event.summary.value == f"Unfilled: {missing} · London Line"
    assert event.description.value == f"Still needed: {missing}"
    assert (event.status.value, event.location.value) == ("TENTATIVE", "London Line")
    assert event.sequence.value == "2"  # two assignments, never changed
    assert event.dtstamp.value == event.last_modified.value == NOW
    assert event.dtstart.value.astimezone(dt.UTC) == scene["night"].starts_at
    assert event.dtend.value.astimezone(dt.UTC) == scene["night"].ends_at

    clock.advance(hours=2)
    services.assignment_update(assignment=scene["a_night"], role="supervisor")
    # Staged on the published roster: published as the counsellor seat cancelled and a new
    # supervisor seat added.
    services.roster_publish(roster=scene["roster"])
    cache.clear()
    event = vevents(ical.open_slots_feed(language="en", now=clock.now))[uid]
    missing = "1 × counsellor, 1 × family-education expert, 1 crisis-trained"
    assert event.summary.value == f"Unfilled: {missing} · London Line"
    assert event.sequence.value == "4"  # one assignment more, one cancelled (sequence 1)
    assert event.dtstamp.value == event.last_modified.value == clock.now


def test_open_slot_feed_in_chinese(scene, clock):
    event = vevents(ical.open_slots_feed(language="zh-hans", now=clock.now))[
        f"shift-{scene['night'].pk}-open@testserver"
    ]
    assert event.summary.value == "空缺：1 × 家庭教育专家, 1 × 督导 · London Line"
    assert event.description.value == "尚缺：1 × 家庭教育专家, 1 × 督导"


def test_open_slots_etag_follows_assignment_changes(scene, coordinator, clock):
    """A role change, a new assignment and a cancellation, each published, give a new ETag;
    so does another language."""

    def etag(language="en"):
        return _open_version(coordinator, language=language, now=clock.now).etag

    def publish():
        services.roster_publish(roster=scene["roster"])

    etags = [etag()]
    clock.advance(hours=1)
    services.assignment_update(assignment=scene["a_night"], role="supervisor")
    publish()
    etags.append(etag())
    clock.advance(hours=1)
    extra = services.assignment_create(
        shift=scene["day"],
        volunteer=f.volunteer(roles=("family_educator",)),
        role="family_educator",
    )
    publish()
    etags.append(etag())
    clock.advance(hours=1)
    services.assignment_cancel(assignment=extra)
    publish()
    etags.append(etag())
    assert len(set(etags)) == 4
    assert etag("zh-hans") != etags[-1]


# --- found through make mutants: what a volunteer's calendar shows ------------------------------


def test_volunteer_event_says_hotline_role_crew_and_coordinator(scene, clock, settings):
    """The whole event, as the volunteer's calendar app shows it. Co-volunteers are listed by
    name (Cai before Zed although Zed joined first); a cancelled shift says so."""
    settings.COORDINATOR_CONTACT = "Chen 13800000000"
    night = scene["night"]
    zed = f.volunteer(display_name="Zed", roles=("family_educator",))
    f.assignment(shift_=night, volunteer_=zed, role="family_educator")
    f.assignment(shift_=night, volunteer_=f.volunteer(display_name="Cai"), role="supervisor")
    number = scene["hotline"].phone_number
    events = vevents(ical.volunteer_feed(scene["amy"], now=clock.now))
    event = events[f"assignment-{scene['a_night'].pk}@testserver"]
    assert event.summary.value == "counsellor · London Line"
    assert event.description.value == (
        f"Hotline: London Line ({number})\nRole: counsellor\nWith: Ben, Cai, Zed\n"
        "Coordinator: Chen 13800000000"
    )
    assert event.location.value == "By phone from home · London Line"
    assert event.created.value == event.last_modified.value == NOW
    assert (event.status.value, event.transp.value) == ("CONFIRMED", "OPAQUE")

    clock.advance(hours=1)
    services.assignment_cancel(assignment=scene["a_day"])
    services.roster_publish(roster=scene["roster"])  # the removal was staged
    cache.clear()
    event = vevents(ical.volunteer_feed(scene["amy"], now=clock.now))[
        f"assignment-{scene['a_day'].pk}@testserver"
    ]
    assert event.summary.value == "Cancelled: counsellor · London Line"
    assert event.description.value == (
        f"Hotline: London Line ({number})\nRole: counsellor\nThis shift is no longer yours.\n"
        "Coordinator: Chen 13800000000"
    )
    assert (event.status.value, event.transp.value) == ("CANCELLED", "TRANSPARENT")
    assert event.created.value == NOW and event.last_modified.value == clock.now


def test_an_active_assignment_unchanged_for_months_stays_in_the_feed(client, scene, clock):
    """Only cancelled assignments drop out after 30 days. Mutation: `Q(status=ACTIVE)` →
    `Q(status=None)` keeps only assignments changed in the last 30 days."""
    later = f.assignment(
        shift_=f.shift(roster_=scene["roster"], starts_at=local(2027, 6, 1, 9), hours=4),
        volunteer_=scene["amy"],
    )
    clock.advance(days=45)
    assert f"assignment-{later.pk}@testserver" in uids(client, scene["token"])


def test_changing_the_hotline_time_zone_changes_the_etag(client, scene):
    """The shown times move with the zone. Saved through the service, which raises the
    shared stamp; mutation: the stamps left out of `volunteer_feed_version` keep the old
    ETag (a 304, the old zone kept)."""
    first = fetch(client, scene["token"])
    scene["hotline"].time_zone = "Europe/Dublin"
    people.hotline_save(hotline=scene["hotline"])
    second = fetch(client, scene["token"], if_none_match=first["ETag"])
    assert second.status_code == 200 and "Europe/Dublin" in second.content.decode()


def test_open_slots_only_published_active_hotlines_from_yesterday_on(scene, clock):
    """Found through make mutants (open_slots_shifts survivors): a draft roster's shifts, an
    inactive hotline's shifts, and shifts that ended before 00:00 UTC yesterday are not
    offered; the calendar is named for what it is."""
    yesterday = dt.datetime(2027, 3, 19, 0, 0, tzinfo=dt.UTC)  # NOW is 20 March, 12:00 UTC
    on_edge = f.shift(roster_=scene["roster"], starts_at=yesterday - dt.timedelta(hours=4), hours=4)
    too_old = f.shift(
        roster_=scene["roster"], starts_at=yesterday - dt.timedelta(hours=4, minutes=1), hours=4
    )
    draft = f.shift(
        roster_=f.roster(hotline_=scene["hotline"], status="draft"), starts_at=local(2027, 4, 5, 9)
    )
    closed_line = london_hotline(name="Closed Line", is_active=False)
    closed = f.shift(roster_=published_roster(closed_line), starts_at=local(2027, 4, 5, 9), hours=4)
    body = ical.open_slots_feed(language="en", now=clock.now)
    found = vevents(body)
    assert f"shift-{on_edge.pk}-open@testserver" in found
    for absent in (too_old, draft, closed):
        assert f"shift-{absent.pk}-open@testserver" not in found
    assert "X-WR-CALNAME:Unfilled hotline slots\r\n" in body.decode()
    chinese = ical.open_slots_feed(language="zh-hans", now=clock.now).decode()
    assert "X-WR-CALNAME:" in chinese and "Unfilled hotline slots" not in chinese
