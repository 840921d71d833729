"""Calendar feeds: read back by an independent parser (vobject), change and cancellation
across fetches, 304 revalidation, byte-identical output, rotation, DST, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
import vobject
from django.urls import reverse
from icalendar import Calendar

from hotline.models import Role
from hotline.people import services as people
from scheduling import services
from scheduling.feeds import builder as ical
from scheduling.feeds import tokens
from scheduling.models import Assignment, CalendarToken
from tests.support import factories as f
from tests.support.scenes import LONDON, NOW, local, london_hotline, published_roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(clock):
    hotline = london_hotline()
    roster = published_roster(hotline)
    amy = f.volunteer(display_name="Amy", language="en", roles=("counsellor", "supervisor"))
    ben = f.volunteer(display_name="Ben", phone_number="+447700900123")
    # Crosses the spring-forward night: 20:00 GMT Saturday to 08:00 BST Sunday (11 real hours).
    night = f.shift(
        roster_=roster,
        starts_at=local(2027, 3, 27, 20),
        ends_at=local(2027, 3, 28, 8),
        required_supervisors=1,
    )
    day = f.shift(roster_=roster, starts_at=local(2027, 4, 2, 9), hours=6, required_supervisors=1)
    a_night = f.assignment(shift_=night, volunteer_=amy)
    f.assignment(shift_=night, volunteer_=ben)
    a_day = f.assignment(shift_=day, volunteer_=amy)
    token = tokens.calendar_token_get(user=amy.user)
    return {
        "hotline": hotline,
        "roster": roster,
        "amy": amy,
        "ben": ben,
        "night": night,
        "day": day,
        "a_night": a_night,
        "a_day": a_day,
        "token": token,
    }


def fetch(client, token, **headers):
    return client.get(
        reverse("scheduling:calendar-feed", kwargs={"token": token.token}), headers=headers
    )


def vevents(body: bytes) -> dict[str, object]:
    cal = vobject.readOne(body.decode())
    return {ev.uid.value: ev for ev in getattr(cal, "vevent_list", [])}


def test_feed_read_by_vobject_uid_sequence_status_tzid_times(client, scene):
    response = fetch(client, scene["token"])
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    events = vevents(response.content)
    night = events[f"assignment-{scene['a_night'].pk}@testserver"]
    assert night.sequence.value == "0"
    assert night.status.value == "CONFIRMED"
    assert (
        vobject.icalendar.TimezoneComponent.pickTzid(night.dtstart.value.tzinfo) == "Europe/London"
    )
    # vobject resolves the VTIMEZONE itself: 20:00 GMT and 08:00 BST are 20:00Z and 07:00Z.
    assert night.dtstart.value.astimezone(dt.UTC) == dt.datetime(2027, 3, 27, 20, tzinfo=dt.UTC)
    assert night.dtend.value.astimezone(dt.UTC) == dt.datetime(2027, 3, 28, 7, tzinfo=dt.UTC)
    assert night.dtstamp.value == NOW
    assert "Ben" in night.description.value
    assert len(events) == 2


def test_feed_calendar_properties_and_vtimezone(client, scene):
    body = fetch(client, scene["token"]).content
    text = body.decode()
    assert "\r\n" in text
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert "X-PUBLISHED-TTL:PT1H\r\n" in text
    assert "X-WR-CALNAME:Hotline shifts: Amy\r\n" in text
    assert "NAME:Hotline shifts: Amy\r\n" in text
    cal = Calendar.from_ical(body)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]
    assert text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")
    events = text.split("END:VTIMEZONE", 1)[1]
    assert "BST" not in events and "GMT" not in events  # never abbreviations as zones


def test_feed_never_carries_other_volunteers_phone_numbers(client, scene):
    text = fetch(client, scene["token"]).content.decode()
    assert scene["ben"].phone_number not in text
    assert scene["amy"].phone_number not in text


def test_feed_unchanged_data_is_byte_identical(client, scene, clock):
    first = fetch(client, scene["token"])
    clock.advance(hours=3)
    second = fetch(client, scene["token"])
    assert first.content == second.content
    assert first["ETag"] == second["ETag"]
    assert first["Last-Modified"] == second["Last-Modified"]


def test_feed_change_and_cancellation_across_two_fetches(client, scene, clock):
    first = vevents(fetch(client, scene["token"]).content)
    uid_night = f"assignment-{scene['a_night'].pk}@testserver"
    uid_day = f"assignment-{scene['a_day'].pk}@testserver"
    etag = fetch(client, scene["token"])["ETag"]

    clock.advance(hours=1)
    new_role = services.assignment_update(assignment=scene["a_night"], role=Role.SUPERVISOR)
    services.assignment_cancel(assignment=scene["a_day"])
    # Staged on the published roster: the feed does not change until they are published.
    assert vevents(fetch(client, scene["token"]).content).keys() == first.keys()
    services.roster_publish(roster=scene["roster"])
    response = fetch(client, scene["token"], if_none_match=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    second = vevents(response.content)

    # A role change is published as the old seat cancelled and the new one added.
    uid_new = f"assignment-{new_role.pk}@testserver"
    assert second[uid_night].status.value == "CANCELLED"
    assert int(second[uid_night].sequence.value) > int(first[uid_night].sequence.value)
    assert "supervisor" in second[uid_new].summary.value
    assert second[uid_new].dtstamp.value == clock.now
    assert second[uid_day].status.value == "CANCELLED"
    assert int(second[uid_day].sequence.value) == 1


def test_shift_time_change_raises_sequence(client, scene, clock):
    clock.advance(hours=1)
    services.shift_update(
        shift=scene["day"], starts_at=local(2027, 4, 2, 10), ends_at=local(2027, 4, 2, 16)
    )
    uid = f"assignment-{scene['a_day'].pk}@testserver"
    # A published roster's shift edit is staged: the feed keeps the published time…
    staged = vevents(fetch(client, scene["token"]).content)[uid]
    assert staged.sequence.value == "0" and staged.dtstart.value.astimezone(LONDON).hour != 10
    # …until the roster's changes are published.
    services.roster_publish(roster=scene["roster"])
    event = vevents(fetch(client, scene["token"]).content)[uid]
    assert event.sequence.value == "1"
    assert event.dtstart.value.astimezone(LONDON).hour == 10


def test_cancelled_kept_30_days_then_dropped_and_past_window_60_days(client, scene, clock):
    services.assignment_cancel(assignment=scene["a_day"])
    services.roster_publish(roster=scene["roster"])  # the removal was staged
    old = f.shift(
        roster_=scene["roster"], starts_at=local(2027, 1, 10, 9), hours=4
    )  # 69 days before
    f.assignment(shift_=old, volunteer_=scene["amy"])
    uids = vevents(fetch(client, scene["token"]).content)
    assert f"assignment-{scene['a_day'].pk}@testserver" in uids
    assert len(uids) == 2  # the January shift is beyond 60 days back
    clock.advance(days=31)
    uids = vevents(fetch(client, scene["token"]).content)
    assert f"assignment-{scene['a_day'].pk}@testserver" not in uids


def test_draft_roster_not_in_feed(client, scene):
    draft = f.roster(hotline_=scene["hotline"], first_day=dt.date(2027, 5, 1), status="draft")
    f.assignment(
        shift_=f.shift(roster_=draft, starts_at=local(2027, 5, 1, 9)), volunteer_=scene["amy"]
    )
    assert len(vevents(fetch(client, scene["token"]).content)) == 2


def test_304_on_if_none_match_without_building_the_feed(client, scene, monkeypatch):
    first = fetch(client, scene["token"])
    monkeypatch.setattr(ical, "volunteer_feed", lambda *a, **k: pytest.fail("feed built for a 304"))
    response = fetch(client, scene["token"], if_none_match=first["ETag"])
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == first["ETag"]
    response = fetch(client, scene["token"], if_modified_since=first["Last-Modified"])
    assert response.status_code == 304


def test_if_modified_since_older_gets_the_feed(client, scene):
    response = fetch(client, scene["token"], if_modified_since="Mon, 01 Mar 2027 00:00:00 GMT")
    assert response.status_code == 200


def test_unknown_and_rotated_tokens_are_404(client, scene):
    old = scene["token"]
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    new = tokens.calendar_token_rotate(user=scene["amy"].user)
    assert new.token != old.token and len(new.token) >= 43
    assert fetch(client, old).status_code == 404
    assert fetch(client, new).status_code == 200


def test_token_of_inactive_user_is_404(client, scene):
    user = scene["amy"].user
    user.is_active = False
    user.save()
    assert fetch(client, scene["token"]).status_code == 404


def test_empty_calendar_is_valid(client, clock):
    lonely = f.volunteer(display_name="Cai")
    token = tokens.calendar_token_get(user=lonely.user)
    response = fetch(client, token)
    assert response.status_code == 200
    cal = vobject.readOne(response.content.decode())
    assert not hasattr(cal, "vevent")
    assert Calendar.from_ical(response.content)["X-WR-CALNAME"]


def test_feed_in_volunteers_language(scene, clock):
    scene["amy"].language = "zh-hans"
    scene["amy"].save()
    from django.utils import translation

    with translation.override("zh-hans"):
        label = str(Role.COUNSELLOR.label)
    body = ical.volunteer_feed(scene["amy"], now=clock.now).decode()
    assert label in body.replace("\r\n ", "")
    assert translation.get_language() == "en"


@pytest.mark.parametrize("extra", [0, 30])
def test_feed_query_count_independent_of_size(client, scene, django_assert_num_queries, extra):
    for i in range(extra):
        f.assignment(
            shift_=f.shift(
                roster_=scene["roster"],
                starts_at=local(2027, 3, 21, 0) + dt.timedelta(hours=7 * i),
                hours=3,
            ),
            volunteer_=scene["amy"],
        )
    # token with its change stamps + assignments + co-volunteers, whatever the number of shifts
    with django_assert_num_queries(3):
        response = fetch(client, scene["token"])
    assert len(vevents(response.content)) == 2 + extra
    # A revalidation, and a full feed already built: the token with its stamps, nothing else.
    with django_assert_num_queries(1):
        assert fetch(client, scene["token"], if_none_match=response["ETag"]).status_code == 304
    with django_assert_num_queries(1):
        assert fetch(client, scene["token"]).content == response.content


def test_open_slots_feed_for_coordinators(client, scene, coordinator):
    token = tokens.calendar_token_get(user=coordinator, kind=CalendarToken.Kind.OPEN)
    response = client.get(reverse("scheduling:calendar-open-feed", kwargs={"token": token.token}))
    assert response.status_code == 200
    events = vevents(response.content)
    # The night shift still needs a family educator and nobody is on the day's counsellor seats.
    assert f"shift-{scene['night'].pk}-open@testserver" in events
    assert (
        "family-education expert"
        in events[f"shift-{scene['night'].pk}-open@testserver"].summary.value
    )
    # A volunteer's token does not open it, nor does a shifts token on the open URL.
    assert (
        client.get(
            reverse("scheduling:calendar-open-feed", kwargs={"token": scene["token"].token})
        ).status_code
        == 404
    )


def test_open_slots_feed_refuses_former_coordinator(client, scene):
    user = f.user()
    token = tokens.calendar_token_get(user=user, kind=CalendarToken.Kind.OPEN)
    assert (
        client.get(
            reverse("scheduling:calendar-open-feed", kwargs={"token": token.token})
        ).status_code
        == 404
    )


def test_open_slots_feed_closes_when_its_holder_leaves_the_coordinators(
    client, scene, coordinator, django_assert_num_queries
):
    """Membership is read with the token on every request (one statement, 304 included):
    leaving the coordinators group closes the feed at once."""
    token = tokens.calendar_token_get(user=coordinator, kind=CalendarToken.Kind.OPEN)
    url = reverse("scheduling:calendar-open-feed", kwargs={"token": token.token})
    first = client.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(1):
        assert client.get(url, headers={"if-none-match": first["ETag"]}).status_code == 304
    coordinator.groups.clear()
    with django_assert_num_queries(1):
        assert client.get(url, headers={"if-none-match": first["ETag"]}).status_code == 404


def test_roster_moved_to_another_hotline_raises_sequence_via_notice_sweep(client, scene, clock):
    from scheduling.notify import roster_changes_notify

    roster_changes_notify(now=clock.now)
    clock.advance(minutes=10)
    services.roster_update(roster=scene["roster"], hotline=london_hotline(name="Leeds Line"))
    roster_changes_notify(now=clock.now)
    a = Assignment.objects.get(pk=scene["a_day"].pk)
    assert a.sequence == 1
    event = vevents(fetch(client, scene["token"]).content)[f"assignment-{a.pk}@testserver"]
    assert event.sequence.value == "1" and "Leeds Line" in event.summary.value


def test_co_volunteer_joining_changes_the_etag(client, scene, clock):
    first = fetch(client, scene["token"])
    clock.advance(hours=1)
    cai = f.volunteer(display_name="Cai")
    services.assignment_create(shift=scene["day"], volunteer=cai, role=Role.COUNSELLOR)
    services.roster_publish(roster=scene["day"].roster)  # a staged change, published
    second = fetch(client, scene["token"], if_none_match=first["ETag"])
    assert second.status_code == 200 and "Cai" in second.content.decode()


def test_hotline_rename_changes_the_etag(client, scene):
    first = fetch(client, scene["token"])
    scene["hotline"].name = "Greater London Line"
    people.hotline_save(hotline=scene["hotline"])
    second = fetch(client, scene["token"], if_none_match=first["ETag"])
    assert second.status_code == 200 and "Greater London Line" in second.content.decode()
