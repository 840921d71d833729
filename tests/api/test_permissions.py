"""Who may do what, on every resource: coordinator, volunteer, anonymous."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from hotline.models import Hotline, Organisation, Volunteer
from scheduling.models import Assignment, Availability, Roster, Shift, TimeOff
from tests.support import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_throttles():
    cache.clear()


@pytest.fixture
def world(volunteer):
    """A published and a draft roster, the volunteer's rows and someone else's."""
    hotline = f.hotline()
    published = f.roster(hotline_=hotline, status=Roster.Status.PUBLISHED)
    draft = f.roster(hotline_=hotline, first_day=f.at(2026, 3, 9).date())
    pub_shift = f.shift(roster_=published, starts_at=f.at(2026, 3, 2, 8))
    draft_shift = f.shift(roster_=draft, starts_at=f.at(2026, 3, 9, 8))
    other = f.volunteer(display_name="Someone Else")
    return {
        "hotline": hotline,
        "published": published,
        "draft": draft,
        "pub_shift": pub_shift,
        "draft_shift": draft_shift,
        "other": other,
        "own_assignment": f.assignment(shift_=pub_shift, volunteer_=volunteer),
        "own_draft_assignment": f.assignment(shift_=draft_shift, volunteer_=volunteer),
        "other_assignment": f.assignment(shift_=pub_shift, volunteer_=other),
        "own_window": f.availability(volunteer_=volunteer, weekday=0, start="08:00", end="12:00"),
        "other_window": f.availability(volunteer_=other, weekday=1, start="08:00", end="12:00"),
        "own_off": f.time_off(
            volunteer_=volunteer, starts_at=f.at(2026, 3, 20), ends_at=f.at(2026, 3, 21)
        ),
        "other_off": f.time_off(
            volunteer_=other, starts_at=f.at(2026, 3, 20), ends_at=f.at(2026, 3, 21)
        ),
        "organisation": f.organisation(),
    }


def ids(response):
    assert response.status_code == 200, response.content
    body = response.json()
    return {row["id"] for row in (body["results"] if isinstance(body, dict) else body)}


# --- anonymous ----------------------------------------------------------------------------

ANON_URLS = [
    ("get", "/api/v1/organisations/"),
    ("post", "/api/v1/organisations/"),
    ("get", "/api/v1/hotlines/"),
    ("post", "/api/v1/hotlines/"),
    ("get", "/api/v1/volunteers/"),
    ("post", "/api/v1/volunteers/"),
    ("get", "/api/v1/rosters/"),
    ("post", "/api/v1/rosters/"),
    ("post", "/api/v1/rosters/{published}/publish/"),
    ("get", "/api/v1/shifts/"),
    ("get", "/api/v1/shifts/{pub_shift}/"),
    ("post", "/api/v1/shifts/"),
    ("get", "/api/v1/assignments/"),
    ("post", "/api/v1/assignments/"),
    ("delete", "/api/v1/assignments/{own_assignment}/"),
    ("get", "/api/v1/availability/"),
    ("post", "/api/v1/availability/"),
    ("get", "/api/v1/time-off/"),
    ("post", "/api/v1/time-off/"),
    ("get", "/api/v1/me/"),
    ("get", "/api/v1/me/assignments/"),
]


@pytest.mark.parametrize(("method", "url"), ANON_URLS)
def test_anonymous_gets_401(method, url, world, api):
    url = url.format(**{k: getattr(v, "pk", None) for k, v in world.items()})
    response = getattr(api, method)(url, {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert Assignment.objects.filter(status="active").count() == 3


def test_anonymous_can_ask_for_a_token(api, volunteer):
    response = api.post(
        "/api/v1/auth/token/",
        {"username": volunteer.user.username, "password": "pw-for-tests-1"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["token"]


# --- volunteer: reads ---------------------------------------------------------------------


def test_volunteer_reads_hotlines_and_organisations(volunteer_api, world):
    assert ids(volunteer_api.get("/api/v1/hotlines/")) == {world["hotline"].pk}
    assert volunteer_api.get(f"/api/v1/hotlines/{world['hotline'].pk}/").status_code == 200
    assert world["organisation"].pk in ids(volunteer_api.get("/api/v1/organisations/"))


def test_volunteer_reads_published_rosters_and_their_shifts_only(volunteer_api, world):
    assert ids(volunteer_api.get("/api/v1/rosters/")) == {world["published"].pk}
    assert volunteer_api.get(f"/api/v1/rosters/{world['draft'].pk}/").status_code == 404
    assert ids(volunteer_api.get("/api/v1/shifts/")) == {world["pub_shift"].pk}
    assert volunteer_api.get(f"/api/v1/shifts/{world['draft_shift'].pk}/").status_code == 404
    assert ids(volunteer_api.get(f"/api/v1/shifts/?roster={world['published'].pk}")) == {
        world["pub_shift"].pk
    }


def test_volunteer_reads_only_own_record(volunteer_api, volunteer, world):
    assert ids(volunteer_api.get("/api/v1/volunteers/")) == {volunteer.pk}
    assert volunteer_api.get(f"/api/v1/volunteers/{volunteer.pk}/").status_code == 200
    assert volunteer_api.get(f"/api/v1/volunteers/{world['other'].pk}/").status_code == 404


def test_volunteer_reads_only_own_published_assignments(volunteer_api, world):
    assert ids(volunteer_api.get("/api/v1/assignments/")) == {world["own_assignment"].pk}
    for key in ("other_assignment", "own_draft_assignment"):
        assert volunteer_api.get(f"/api/v1/assignments/{world[key].pk}/").status_code == 404
    # A filter cannot widen what a volunteer sees.
    assert ids(volunteer_api.get(f"/api/v1/assignments/?volunteer={world['other'].pk}")) == set()


def test_volunteer_reads_only_own_availability_and_time_off(volunteer_api, world):
    assert ids(volunteer_api.get("/api/v1/availability/")) == {world["own_window"].pk}
    assert ids(volunteer_api.get("/api/v1/time-off/")) == {world["own_off"].pk}
    assert volunteer_api.get(f"/api/v1/availability/{world['other_window'].pk}/").status_code == 404
    assert volunteer_api.get(f"/api/v1/time-off/{world['other_off'].pk}/").status_code == 404


def test_me_and_my_assignments(volunteer_api, volunteer, world):
    me = volunteer_api.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["id"] == volunteer.pk
    assert ids(volunteer_api.get("/api/v1/me/assignments/")) == {world["own_assignment"].pk}


def test_me_without_volunteer_record_is_404(coordinator_api):
    assert coordinator_api.get("/api/v1/me/").status_code == 404
    assert coordinator_api.get("/api/v1/me/assignments/").status_code == 404


def test_outsider_sees_no_volunteer_data(outsider, world):
    client = APIClient()
    client.force_authenticate(outsider)
    assert ids(client.get("/api/v1/volunteers/")) == set()
    assert ids(client.get("/api/v1/assignments/")) == set()
    assert ids(client.get("/api/v1/availability/")) == set()
    assert (
        client.post(
            "/api/v1/availability/",
            {
                "volunteer": world["other"].pk,
                "weekday": 0,
                "start_time": "08:00",
                "end_time": "09:00",
            },
            format="json",
        ).status_code
        == 403
    )
    assert client.get("/api/v1/me/").status_code == 404


# --- volunteer: writes --------------------------------------------------------------------


def _snapshot():
    return (
        list(Organisation.objects.values()),
        list(Hotline.objects.values()),
        list(Volunteer.objects.values()),
        list(Roster.objects.values()),
        list(Shift.objects.values()),
        list(Assignment.objects.values()),
        list(Availability.objects.values()),
        list(TimeOff.objects.values()),
    )


def forbidden_writes(world, volunteer):
    hotline, published, draft = world["hotline"], world["published"], world["draft"]
    return [
        ("post", "/api/v1/organisations/", {"name": "Mine"}),
        ("patch", f"/api/v1/organisations/{world['organisation'].pk}/", {"name": "Mine"}),
        ("delete", f"/api/v1/organisations/{world['organisation'].pk}/", {}),
        (
            "post",
            "/api/v1/hotlines/",
            {"name": "X", "phone_number": "+8637165123456", "time_zone": "UTC"},
        ),
        ("patch", f"/api/v1/hotlines/{hotline.pk}/", {"min_rest_hours": 0}),
        ("delete", f"/api/v1/hotlines/{hotline.pk}/", {}),
        (
            "post",
            "/api/v1/volunteers/",
            {
                "username": "new",
                "name": "N",
                "phone_number": "+8613800138000",
                "roles": [],
                "password": "pw-long-enough-1",
            },
        ),
        (
            "patch",
            f"/api/v1/volunteers/{volunteer.pk}/",
            {"max_shifts_per_week": 21, "roles": ["supervisor"]},
        ),
        ("patch", f"/api/v1/volunteers/{world['other'].pk}/", {"name": "Hacked"}),
        (
            "post",
            "/api/v1/rosters/",
            {"hotline": hotline.pk, "first_day": "2026-04-01", "last_day": "2026-04-02"},
        ),
        ("patch", f"/api/v1/rosters/{published.pk}/", {"last_day": "2026-03-20"}),
        ("delete", f"/api/v1/rosters/{draft.pk}/", {}),
        ("post", f"/api/v1/rosters/{draft.pk}/publish/", {}),
        ("post", f"/api/v1/rosters/{published.pk}/publish/", {}),
        (
            "post",
            "/api/v1/shifts/",
            {
                "roster": published.pk,
                "starts_at": "2026-03-03T08:00:00+08:00",
                "ends_at": "2026-03-03T09:00:00+08:00",
                "requirements": {},
            },
        ),
        ("patch", f"/api/v1/shifts/{world['pub_shift'].pk}/", {"requirements": {"counsellor": 9}}),
        ("delete", f"/api/v1/shifts/{world['pub_shift'].pk}/", {}),
        (
            "post",
            "/api/v1/assignments/",
            {"shift": world["pub_shift"].pk, "volunteer": volunteer.pk, "role": "counsellor"},
        ),
        ("patch", f"/api/v1/assignments/{world['own_assignment'].pk}/", {"locked": True}),
        ("delete", f"/api/v1/assignments/{world['own_assignment'].pk}/", {}),
        ("delete", f"/api/v1/assignments/{world['other_assignment'].pk}/", {}),
        # Someone else's availability and time off.
        (
            "post",
            "/api/v1/availability/",
            {
                "volunteer": world["other"].pk,
                "weekday": 0,
                "start_time": "08:00",
                "end_time": "09:00",
            },
        ),
        ("patch", f"/api/v1/availability/{world['other_window'].pk}/", {"weekday": 3}),
        ("delete", f"/api/v1/availability/{world['other_window'].pk}/", {}),
        (
            "patch",
            f"/api/v1/availability/{world['own_window'].pk}/",
            {"volunteer": world["other"].pk},
        ),
        (
            "post",
            "/api/v1/time-off/",
            {
                "volunteer": world["other"].pk,
                "starts_at": "2026-04-01T00:00:00Z",
                "ends_at": "2026-04-02T00:00:00Z",
            },
        ),
        ("patch", f"/api/v1/time-off/{world['other_off'].pk}/", {"reason": "x"}),
        ("delete", f"/api/v1/time-off/{world['other_off'].pk}/", {}),
        ("patch", f"/api/v1/time-off/{world['own_off'].pk}/", {"volunteer": world["other"].pk}),
    ]


def test_volunteer_write_refusals_change_nothing(volunteer_api, volunteer, world):
    before = _snapshot()
    for method, url, body in forbidden_writes(world, volunteer):
        response = getattr(volunteer_api, method)(url, body, format="json")
        assert response.status_code in (403, 404), (
            method,
            url,
            response.status_code,
            response.content,
        )
        assert "code" in response.json()
    assert _snapshot() == before


def test_volunteer_writes_own_availability(volunteer_api, volunteer, world):
    created = volunteer_api.post(
        "/api/v1/availability/",
        {
            "volunteer": volunteer.pk,
            "weekday": 5,
            "start_time": "20:00",
            "end_time": "08:00",
            "kind": "preferred",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert Availability.objects.get(pk=created.json()["id"]).volunteer == volunteer
    window = world["own_window"]
    assert (
        volunteer_api.patch(
            f"/api/v1/availability/{window.pk}/", {"end_time": "13:00"}, format="json"
        ).status_code
        == 200
    )
    assert volunteer_api.delete(f"/api/v1/availability/{window.pk}/").status_code == 204
    assert not Availability.objects.filter(pk=window.pk).exists()


def test_volunteer_writes_own_time_off(volunteer_api, volunteer, world):
    created = volunteer_api.post(
        "/api/v1/time-off/",
        {
            "volunteer": volunteer.pk,
            "starts_at": "2026-04-01T00:00:00+08:00",
            "ends_at": "2026-04-03T00:00:00+08:00",
            "reason": "family",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    off = world["own_off"]
    assert (
        volunteer_api.patch(
            f"/api/v1/time-off/{off.pk}/", {"reason": "trip"}, format="json"
        ).status_code
        == 200
    )
    assert volunteer_api.delete(f"/api/v1/time-off/{off.pk}/").status_code == 204


# --- coordinator: writes everything -------------------------------------------------------


def test_coordinator_reads_everything(coordinator_api, world):
    assert ids(coordinator_api.get("/api/v1/rosters/")) == {
        world["published"].pk,
        world["draft"].pk,
    }
    assert len(ids(coordinator_api.get("/api/v1/shifts/"))) == 2
    assert len(ids(coordinator_api.get("/api/v1/assignments/"))) == 3
    assert len(ids(coordinator_api.get("/api/v1/availability/"))) == 2
    assert len(ids(coordinator_api.get("/api/v1/time-off/"))) == 2
    assert len(ids(coordinator_api.get("/api/v1/volunteers/"))) == 2


def _patch_status(client, path, data) -> int:
    return client.patch(path, data, format="json").status_code


def test_coordinator_writes_everything(coordinator, coordinator_api, volunteer, world):
    # Everything here in the coordinator's organisation or its branch (hotline/access.py).
    top = f.organisation(name="City federation")
    f.volunteer(user=coordinator, organisation=top, roles=())
    Organisation.objects.filter(pk=world["organisation"].pk).update(parent=top)
    Hotline.objects.filter(pk=world["hotline"].pk).update(organisation=world["organisation"])
    Volunteer.objects.filter(pk__in=[volunteer.pk, world["other"].pk]).update(organisation=top)
    c = coordinator_api
    assert (
        _patch_status(c, f"/api/v1/organisations/{world['organisation'].pk}/", {"name": "Renamed"})
        == 200
    )
    assert (
        _patch_status(c, f"/api/v1/hotlines/{world['hotline'].pk}/", {"min_rest_hours": 8}) == 200
    )
    assert _patch_status(c, f"/api/v1/volunteers/{world['other'].pk}/", {"name": "Renamed"}) == 200
    assert (
        _patch_status(c, f"/api/v1/rosters/{world['draft'].pk}/", {"last_day": "2026-03-16"}) == 200
    )
    assert c.post(f"/api/v1/rosters/{world['draft'].pk}/publish/").status_code == 200
    assert (
        _patch_status(
            c, f"/api/v1/shifts/{world['pub_shift'].pk}/", {"requirements": {"counsellor": 3}}
        )
        == 200
    )
    assert (
        _patch_status(c, f"/api/v1/assignments/{world['other_assignment'].pk}/", {"locked": True})
        == 200
    )
    assert (
        _patch_status(c, f"/api/v1/availability/{world['other_window'].pk}/", {"weekday": 3}) == 200
    )
    assert _patch_status(c, f"/api/v1/time-off/{world['other_off'].pk}/", {"reason": "x"}) == 200
    assert c.delete(f"/api/v1/availability/{world['other_window'].pk}/").status_code == 204
    assert c.delete(f"/api/v1/time-off/{world['other_off'].pk}/").status_code == 204
    assert c.delete(f"/api/v1/assignments/{world['other_assignment'].pk}/").status_code == 204
    shift = c.post(
        "/api/v1/shifts/",
        {
            "roster": world["draft"].pk,
            "starts_at": "2026-03-10T08:00:00+08:00",
            "ends_at": "2026-03-10T14:00:00+08:00",
            "requirements": {"counsellor": 1},
        },
        format="json",
    )
    assert shift.status_code == 201
    assert c.delete(f"/api/v1/shifts/{shift.json()['id']}/").status_code == 204
    # A published roster, or a hotline with rosters, cannot be deleted.
    assert c.delete(f"/api/v1/rosters/{world['published'].pk}/").status_code == 400
    assert c.delete(f"/api/v1/hotlines/{world['hotline'].pk}/").status_code == 400


def test_staff_user_is_a_coordinator(volunteer, world):
    staff = f.user(is_staff=True)
    client = APIClient()
    client.force_authenticate(staff)
    assert ids(client.get("/api/v1/rosters/")) == {world["published"].pk, world["draft"].pk}


def test_inactive_coordinator_cannot_write(world):
    user = f.coordinator_user(is_active=False)
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/organisations/", {"name": "X"}, format="json")
    assert response.status_code in (401, 403)
    assert not Organisation.objects.filter(name="X").exists()
