"""POST /api/v1/rosters/autofill-together/: a coordinator of the parent organisation builds
several city lines' rosters of one period from one pool of volunteers."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from scheduling.models import Assignment, AutofillRun
from scheduling.rules import check_assignment
from tests.support import factories as f

pytestmark = pytest.mark.django_db

URL = "/api/v1/rosters/autofill-together/"


@pytest.fixture
def province():
    """A provincial federation over two city federations, each running a line; three
    counsellors of the province shared, two shifts a week each at most; the lines' shifts
    overlap (08–14 and 09–15)."""
    top = f.organisation(name="Provincial federation")
    wuhan_org = f.organisation(name="Wuhan federation", parent=top)
    huangshi_org = f.organisation(name="Huangshi federation", parent=top)
    lines = [
        f.hotline(name="Wuhan", organisation=wuhan_org),
        f.hotline(name="Huangshi", organisation=huangshi_org, min_rest_hours=8),
    ]
    rosters = [f.roster(hotline_=line) for line in lines]
    for roster, hour in zip(rosters, (8, 9), strict=True):
        f.daily_shifts(
            roster_=roster,
            days=3,
            hour=hour,
            required_counsellors=1,
            crisis_trained_required=0,
            required_family_educators=0,
        )
    people = [
        f.volunteer(display_name=name, max_shifts_per_week=2, organisation=top)
        for name in ("Ann", "Bo", "Cai")
    ]
    coordinator = f.coordinator_user(username="province")
    f.volunteer(user=coordinator, roles=(), display_name="Province", organisation=top)
    city = f.coordinator_user(username="city")
    f.volunteer(user=city, roles=(), display_name="City", organisation=wuhan_org)
    return rosters, people, coordinator, city


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_parent_organisations_coordinator_builds_both_lines_from_one_pool(
    province, django_capture_on_commit_callbacks
):
    rosters, people, coordinator, _city = province
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(coordinator).post(
            URL, {"rosters": [r.pk for r in rosters], "time_limit": 2}, format="json"
        )
    assert response.status_code == 202, response.content
    runs = response.json()
    assert len(runs) == 2 and all(run["status_url"] for run in runs)
    # The test settings run tasks inline: both rosters are built by the first run's task.
    for run in AutofillRun.objects.filter(pk__in=[r["id"] for r in runs]):
        assert run.status == AutofillRun.Status.DONE
        assert run.result["coverage"]["seats_missing"] == 0
    saved = Assignment.objects.filter(
        shift__roster__in=rosters, status=Assignment.Status.ACTIVE
    ).select_related("shift__roster__hotline", "volunteer")
    assert saved.count() == 6
    for a in saved:  # rest, overlaps and the weekly limit hold across both lines
        assert check_assignment(shift=a.shift, volunteer=a.volunteer, role=a.role, ignore=a) == []
    assert sorted(saved.values_list("volunteer", flat=True)) == sorted(
        [p.pk for p in people for _ in range(2)]
    )


def test_a_city_coordinator_cannot_build_the_other_citys_roster(province):
    rosters, _people, _coordinator, city = province
    response = _api(city).post(URL, {"rosters": [r.pk for r in rosters]}, format="json")
    assert response.status_code == 400
    assert "rosters" in response.json()["errors"]
    assert not AutofillRun.objects.exists()


@pytest.mark.parametrize(
    "case", ["one", "unknown", "same_hotline", "other_period", "options"], ids=str
)
def test_bad_groups_are_refused_naming_the_field(province, case):
    rosters, _people, coordinator, _city = province
    body = {"rosters": [r.pk for r in rosters]}
    field = "rosters"
    if case == "one":
        body["rosters"] = [rosters[0].pk]
    elif case == "unknown":
        body["rosters"] = [rosters[0].pk, 999999]
    elif case == "same_hotline":
        body["rosters"] = [rosters[0].pk, f.roster(hotline_=rosters[0].hotline).pk]
    elif case == "other_period":
        other = f.roster(hotline_=rosters[1].hotline, first_day=dt.date(2026, 3, 9))
        body["rosters"] = [rosters[0].pk, other.pk]
    elif case == "options":
        body["options"] = True
        field = "options"
    response = _api(coordinator).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not AutofillRun.objects.exists()


def test_volunteers_may_not(province):
    rosters, people, _coordinator, _city = province
    response = _api(people[0].user).post(URL, {"rosters": [r.pk for r in rosters]}, format="json")
    assert response.status_code == 403
