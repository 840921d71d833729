"""What people read: a claim waiting for approval says so, names instead of usernames, an
imported time off in the reader's language."""

import pytest
from django.test import Client
from django.urls import reverse

from scheduling import swaps
from scheduling.models import TimeOff
from scheduling.rules import check_assignment
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(clock, outbox):
    hotline = london_hotline()
    roster = published_roster(hotline)
    amy = f.volunteer(display_name="Amy")
    ben = f.volunteer(display_name="Ben")
    shift = f.shift(roster_=roster, starts_at=local(2027, 3, 25, 9), hours=6)
    return {"hotline": hotline, "amy": amy, "ben": ben, "shift": shift}


def test_a_claim_waiting_for_approval_does_not_say_taken(scene):
    mine = f.assignment(shift_=scene["shift"], volunteer_=scene["amy"])
    swap = swaps.swap_offer(assignment=mine, volunteer=scene["amy"])
    client = Client()
    client.force_login(scene["ben"].user)
    page = client.post(reverse("scheduling:swap-claim", args=[swap.pk]), follow=True)
    html = page.content.decode()
    assert "You took the shift" not in html
    assert "A coordinator will confirm the swap; until then the shift stays with Amy." in html


def test_arranged_by_shows_the_coordinators_name_not_username(scene):
    boss = f.volunteer(display_name="王芳", user=f.coordinator_user(username="wf2026"))
    f.assignment(shift_=scene["shift"], volunteer_=scene["amy"], created_by=boss.user)
    client = Client()
    client.force_login(scene["amy"].user)
    html = client.get(reverse("scheduling:my-shifts")).content.decode()
    assert "王芳" in html and "wf2026" not in html


def test_imported_time_off_reads_in_the_readers_language(scene):
    TimeOff.objects.create(
        volunteer=scene["amy"],
        starts_at=scene["shift"].starts_at,
        ends_at=scene["shift"].ends_at,
        reason="忙碌（导入的日历）",
        imported=True,
    )
    [violation] = [
        v
        for v in check_assignment(shift=scene["shift"], volunteer=scene["amy"], role="counsellor")
        if v.code == "time_off"
    ]
    assert "busy (imported calendar)" in violation.message and "忙碌" not in violation.message
    client = Client()
    client.force_login(scene["amy"].user)
    html = client.get(reverse("scheduling:my-availability")).content.decode()
    assert "busy (imported calendar)" in html and "忙碌" not in html
