"""Coordinators scoped to their organisation and the organisations under it: the seams in
hotline/access.py, the organisation tree, who is alerted about a line, and the call and
crisis pages. (The API: tests/api/test_scoping.py; the roster pages:
tests/scheduling/views/test_scoping.py; the admin: tests/hotline/admin/test_roles.py.)"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from hotline import access
from hotline.calls.selectors import voicemail_recipients
from hotline.crisis.selectors import TIER_COORDINATORS, tier_recipients
from hotline.models import Hotline, Volunteer
from hotline.people import services as people
from hotline.people.selectors import organisation_ancestor_ids, organisation_subtree_ids
from tests.support import factories as f
from tests.support.orgs import MANAGES, NOW, ORGS, federation

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def fed(clock):
    clock.set(NOW)
    return federation()


def fresh(user):
    """The user as a new request would load it (nothing cached on the object)."""
    return User.objects.get(pk=user.pk)


# --- the organisation tree --------------------------------------------------------------------


def test_subtree_and_ancestors_each_in_one_query(django_assert_num_queries):
    city = f.organisation()
    county = f.organisation(parent=city)
    town = f.organisation(parent=county)
    f.organisation(parent=city)
    elsewhere = f.organisation()
    with django_assert_num_queries(1):
        assert organisation_subtree_ids([county]) == {county.pk, town.pk}
    with django_assert_num_queries(1):
        assert organisation_ancestor_ids(town) == {town.pk, county.pk, city.pk}
    assert len(organisation_subtree_ids([city.pk])) == 4
    assert organisation_subtree_ids([elsewhere]) == {elsewhere.pk}
    assert organisation_subtree_ids([]) == frozenset()
    assert organisation_ancestor_ids(None) == frozenset()


def test_a_cycle_is_refused_by_the_model_and_never_loops_the_walk():
    city = f.organisation()
    county = f.organisation(parent=city)
    city.parent = county
    with pytest.raises(ValidationError) as refused:
        city.full_clean()
    assert "parent" in refused.value.message_dict
    city.save()  # written around the check: the walks still end
    assert organisation_subtree_ids([city]) == {city.pk, county.pk}
    assert organisation_ancestor_ids(city) == {city.pk, county.pk}


# --- the seams --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ORGS)
def test_managed_hotlines_and_organisations_follow_the_tree(fed, who):
    user = fresh(fed.coordinator[who])
    hotlines = Hotline.objects.filter(access.managed_hotlines_q(user))
    assert {h.name.removeprefix("Line ") for h in hotlines} == MANAGES[who]
    volunteers = Volunteer.objects.filter(access.managed_organisations_q(user, "organisation__"))
    assert {v.organisation for v in volunteers} == {fed.org[k] for k in MANAGES[who]}


def test_coordinator_of_no_organisation_manages_only_what_belongs_to_none(fed):
    loose_line = f.hotline(name="Loose")
    coordinator = f.coordinator_user()
    assert list(Hotline.objects.filter(access.managed_hotlines_q(coordinator))) == [loose_line]
    assert not access.manages_organisation(coordinator, fed.org["city"])
    assert access.manages_organisation(coordinator, None)


def test_superuser_and_volunteer(fed):
    assert Hotline.objects.filter(access.managed_hotlines_q(fed.superuser)).count() == 4
    volunteer = fed.volunteer["city"].user
    assert not Hotline.objects.filter(access.managed_hotlines_q(volunteer)).exists()


# --- who may change an account --------------------------------------------------------------


def test_can_change_account(fed):
    a = fresh(fed.coordinator["county_a"])
    city = fresh(fed.coordinator["city"])
    assert access.can_change_account(a, fed.volunteer["county_a"].user)
    assert not access.can_change_account(a, fed.volunteer["county_b"].user)
    assert access.can_change_account(city, fed.volunteer["county_b"].user)
    assert not access.can_change_account(city, fed.coordinator["county_a"])  # a coordinator
    assert not access.can_change_account(city, f.user(is_staff=True))
    assert not access.can_change_account(city, f.user())  # a login without a volunteer record
    assert access.can_change_account(fed.superuser, fed.coordinator["city"])
    assert not access.can_grant_roles(city) and access.can_grant_roles(fed.superuser)


def test_people_service_refuses_climbing_and_leaving_scope(fed):
    a = fresh(fed.coordinator["county_a"])
    boss = f.volunteer(user=f.user(is_superuser=True, is_staff=True))
    with pytest.raises(PermissionDenied):
        people.volunteer_update(by=a, volunteer=boss, password="Taken-over-2026!")
    with pytest.raises(PermissionDenied):
        people.volunteer_update(by=a, volunteer=fed.volunteer["county_b"], is_active=False)
    with pytest.raises(PermissionDenied):  # moving one of theirs out of their reach
        people.volunteer_update(
            by=a, volunteer=fed.volunteer["county_a"], organisation=fed.org["county_b"]
        )
    with pytest.raises(PermissionDenied):
        people.volunteer_create(
            by=a, user=f.user(is_staff=True), display_name="x", phone_number="+8613900000001"
        )
    with pytest.raises(PermissionDenied):
        people.user_active_set(by=a, user=fed.coordinator["county_b"], is_active=False)
    assert User.objects.get(pk=boss.user_id).check_password("pw-for-tests-1")
    assert Volunteer.objects.get(pk=fed.volunteer["county_b"].pk).is_active
    assert (
        Volunteer.objects.get(pk=fed.volunteer["county_a"].pk).organisation == fed.org["county_a"]
    )
    # Inside their reach it works.
    people.volunteer_update(by=a, volunteer=fed.volunteer["county_a"], display_name="Renamed")


# --- who hears about a line -----------------------------------------------------------------


def _with_phones(fed):
    for key in ORGS:
        Volunteer.objects.filter(user=fed.coordinator[key]).update(is_active=True)


def test_tier_three_reaches_the_coordinators_of_the_line_and_above(fed):
    reached = tier_recipients(escalation=fed.escalation["county_a"], tier=TIER_COORDINATORS, at=NOW)
    assert {v.user for v in reached} == {fed.coordinator["county_a"], fed.coordinator["city"]}


def test_voicemail_notice_goes_to_the_lines_coordinators_only(fed):
    told = {v.user for v in voicemail_recipients(hotline=fed.hotline["county_b"], at=NOW)}
    assert fed.coordinator["county_b"] in told and fed.coordinator["city"] in told
    assert fed.coordinator["county_a"] not in told and fed.coordinator["other"] not in told


# --- call and crisis pages ------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/calls/", "/calls/callbacks/", "/crisis/"])
def test_call_and_crisis_lists_show_only_managed_lines(fed, client, url):
    client.force_login(fed.coordinator["county_a"])
    page = client.get(url).content.decode()
    assert "Line county_a" in page
    assert "Line county_b" not in page and "Line other" not in page and "Line city" not in page


def test_city_coordinator_sees_the_branches_calls(fed, client):
    client.force_login(fed.coordinator["city"])
    page = client.get("/calls/").content.decode()
    assert all(f"Line {k}" in page for k in ("city", "county_a", "county_b"))
    assert "Line other" not in page


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/calls/{call}/report/"),
        ("post", "/calls/{call}/escalate/"),
        ("get", "/crisis/escalations/{escalation}/"),
        ("post", "/crisis/escalations/{escalation}/acknowledge/"),
        ("post", "/crisis/escalations/{escalation}/resolve/"),
        ("post", "/calls/callbacks/{callback}/done/"),
    ],
)
def test_another_lines_page_answers_like_a_missing_one(fed, client, method, url):
    client.force_login(fed.coordinator["county_a"])
    b = {name: rows["county_b"].pk for name, rows in vars(fed).items() if isinstance(rows, dict)}
    theirs = getattr(client, method)(url.format(**b), {"reason": "x", "outcome": "other"})
    missing = getattr(client, method)(
        url.format(**{k: v + 10_000 for k, v in b.items()}), {"reason": "x"}
    )
    assert theirs.status_code == missing.status_code == 404
    fed.escalation["county_b"].refresh_from_db()
    assert fed.escalation["county_b"].status == "open"
    fed.callback["county_b"].refresh_from_db()
    assert fed.callback["county_b"].done_at is None
