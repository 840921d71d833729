"""The referral directory: search page, referrals on reports and their counts by category,
CSV import with a dry run, the monthly list of unverified resources, the API."""

import datetime as dt
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from hotline.crisis import reports
from hotline.models import CallReport, Resource
from hotline.referrals import services
from hotline.referrals.selectors import referral_counts
from tests.support import factories as f
from tests.support.crisis import answered_call, coordinator_with_phone
from tests.support.followups import LOW
from tests.support.twilio import NOW

CSV = (
    "name,category,area,phone,address,hours,eligibility,languages\n"
    "县妇幼保健院,maternity_child,新县,0376-2981234,新县人民路1号,8:00-17:30,孕产妇,普通话\n"
    "新县反家暴庇护所,shelter,新县,0376-2985555,,24 h,妇女儿童,普通话\n"
)


def resource(**kw):
    kw.setdefault("name", f"Resource {Resource.objects.count() + 1}")
    kw.setdefault("category", "hospital")
    kw.setdefault("area", "光山县")
    kw.setdefault("phone", "0376-8620000")
    return Resource.objects.create(**kw)


def api_for(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


# --- the search page ---------------------------------------------------------------------------


def test_search_by_category_and_area_includes_national_lines(client, volunteer, clock):
    here = resource(name="光山县人民医院", category="hospital", area="光山县")
    resource(name="新县人民医院", category="hospital", area="新县")
    client.force_login(volunteer.user)
    html = client.get("/referrals/", {"category": "hospital", "area": "光山"}).content.decode()
    assert here.name in html and "新县人民医院" not in html
    html = client.get("/referrals/", {"area": "光山"}).content.decode()
    assert "12356" in html  # national lines serve every area
    assert 'href="tel:12356"' in html


def test_search_page_needs_a_login_and_unverified_is_for_coordinators(
    client, volunteer, coordinator, clock
):
    assert client.get("/referrals/")["Location"].startswith("/accounts/login/")
    client.force_login(volunteer.user)
    html = client.get("/referrals/?unverified=1").content.decode()
    assert "Not verified lately" not in html
    entry = resource()
    assert client.post(f"/referrals/{entry.pk}/verify/").status_code == 403
    client.force_login(coordinator)
    assert "Not verified lately" in client.get("/referrals/?unverified=1").content.decode()
    client.post(f"/referrals/{entry.pk}/verify/")
    entry.refresh_from_db()
    assert entry.verified_at == NOW


# --- referrals on reports ---------------------------------------------------------------------


def test_report_refers_to_resources_plus_free_text_and_counts_by_category(scene, volunteer, clock):
    shelter = resource(category="shelter")
    other_shelter = resource(category="shelter")
    clinic = resource(category="psychiatric_clinic")
    for refs in ([shelter.pk, clinic.pk], [other_shelter.pk], []):
        call = answered_call(scene.hotline, volunteer, at=NOW)
        reports.report_create(
            call=call,
            by=volunteer.user,
            data={**LOW, "referred_resources": refs, "referral": "aunt's neighbour"},
            now=NOW,
        )
    assert referral_counts(CallReport.objects.all()) == [
        ("shelter", "shelter", 2),
        ("psychiatric_clinic", "psychiatric clinic", 1),
    ]
    report = CallReport.objects.filter(referred_resources=clinic).get()
    assert report.referral == "aunt's neighbour"


def test_report_page_offers_listed_resources_only_and_refuses_others(
    scene, volunteer, client, clock
):
    listed = resource(name="Listed clinic", category="psychiatric_clinic")
    gone = resource(name="Closed shelter", category="shelter", active=False)
    call = answered_call(scene.hotline, volunteer, at=NOW)
    client.force_login(volunteer.user)
    html = client.get(f"/calls/{call.pk}/report/").content.decode()
    assert "Listed clinic" in html and "Closed shelter" not in html
    with pytest.raises(Exception) as exc:
        reports.report_create(
            call=call, by=volunteer.user, data={**LOW, "referred_resources": [gone.pk]}, now=NOW
        )
    assert "referred_resources" in exc.value.message_dict
    r = api_for(volunteer.user).post(
        f"/api/v1/calls/{call.pk}/report/",
        {**LOW, "referred_resources": [listed.pk]},
        format="json",
    )
    assert r.status_code == 201 and r.json()["referred_resources"] == [listed.pk]


# --- import -------------------------------------------------------------------------------------


def test_import_dry_run_writes_nothing_then_imports_then_updates(coordinator, clock):
    before = Resource.objects.count()
    result = services.resources_import(text=CSV, by=coordinator, dry_run=True, now=NOW)
    assert (result.created, result.updated, result.errors) == (2, 0, [])
    assert Resource.objects.count() == before
    services.resources_import(text=CSV, by=coordinator, dry_run=False, now=NOW)
    assert Resource.objects.count() == before + 2
    changed = CSV.replace("24 h", "8:00-22:00")
    result = services.resources_import(text=changed, by=coordinator, dry_run=False, now=NOW)
    assert (result.created, result.updated) == (0, 2)
    assert Resource.objects.get(category="shelter", area="新县").hours == "8:00-22:00"


def test_import_with_a_bad_row_writes_nothing_and_names_row_and_field(coordinator, clock):
    bad = CSV + "无电话的机构,shelter,新县,,,,,\n没有类别,,新县,110,,,,\n"
    before = Resource.objects.count()
    result = services.resources_import(text=bad, by=coordinator, dry_run=False, now=NOW)
    assert [(e["row"], sorted(e["errors"])) for e in result.errors] == [
        (4, ["phone"]),
        (5, ["category"]),
    ]
    assert Resource.objects.count() == before


def test_import_command_dry_run_and_volunteers_refused(tmp_path, coordinator, volunteer, clock):
    path = tmp_path / "resources.csv"
    path.write_text(CSV, encoding="utf-8")
    out = StringIO()
    call_command(
        "import_resources", str(path), "--dry-run", "--as", coordinator.username, stdout=out
    )
    assert "would add 2" in out.getvalue()
    assert not Resource.objects.filter(area="新县").exists()
    with pytest.raises(CommandError):
        call_command("import_resources", str(path), "--as", volunteer.user.username)
    call_command("import_resources", str(path), "--as", coordinator.username, stdout=out)
    assert Resource.objects.filter(area="新县").count() == 2


# --- the monthly list ----------------------------------------------------------------------------


def test_monthly_list_of_unverified_resources_goes_to_coordinators_once(db, clock, outbox):
    Resource.objects.update(verified_at=NOW)  # the seeded national lines are current
    coord = coordinator_with_phone()
    f.volunteer(roles=("supervisor",))  # supervisors are not told
    resource(name="Old clinic", verified_at=NOW - dt.timedelta(days=200))
    resource(name="Checked clinic", verified_at=NOW - dt.timedelta(days=10))
    assert services.resources_unverified_notify(now=NOW) == 1
    assert services.resources_unverified_notify(now=NOW + dt.timedelta(days=1)) == 1
    messages = list(outbox)
    assert [m["to"] for m in messages] == [coord.phone_number]  # once this month
    assert "1 referral resources" in messages[0]["body"] and "Old clinic" in messages[0]["body"]
    assert "Checked clinic" not in messages[0]["body"]
    services.resources_unverified_notify(now=NOW + dt.timedelta(days=30))
    assert len(outbox) == 2  # next month, again


def test_nothing_unverified_sends_nothing(db, clock, outbox):
    Resource.objects.update(verified_at=NOW)
    coordinator_with_phone()
    assert services.resources_unverified_notify(now=NOW) == 0
    assert len(outbox) == 0


# --- the API -------------------------------------------------------------------------------------

PERSONAS = ("anonymous", "volunteer", "supervisor", "coordinator")


def user_for(persona, volunteer, supervisor, coordinator):
    return {
        "anonymous": None,
        "volunteer": volunteer.user,
        "supervisor": supervisor.user,
        "coordinator": coordinator,
    }[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_volunteers_read_coordinators_write(persona, volunteer, supervisor, coordinator):
    api = api_for(user_for(persona, volunteer, supervisor, coordinator))
    r = api.get("/api/v1/resources/?category=psych_assistance")
    assert r.status_code == (401 if persona == "anonymous" else 200)
    if r.status_code == 200:
        rows = r.json()["results"] if isinstance(r.json(), dict) else r.json()
        assert [row["phone"] for row in rows] == ["12356"]
    body = {"name": "县医院", "category": "hospital", "area": "新县", "phone": "0376-1"}
    r = api.post("/api/v1/resources/", body, format="json")
    assert r.status_code == {"anonymous": 401, "coordinator": 201}.get(persona, 403)
    upload = SimpleUploadedFile("r.csv", CSV.encode(), content_type="text/csv")
    r = api.post("/api/v1/resources/import/", {"file": upload, "dry_run": "true"})
    assert r.status_code == {"anonymous": 401, "coordinator": 200}.get(persona, 403)


@pytest.mark.parametrize("missing", ["phone", "category", "name"])
def test_api_resource_without_phone_or_category_is_400_naming_the_field(coordinator, missing):
    body = {"name": "县医院", "category": "hospital", "area": "新县", "phone": "0376-1"}
    del body[missing]
    r = api_for(coordinator).post("/api/v1/resources/", body, format="json")
    assert r.status_code == 400 and missing in r.json()["errors"]


def test_api_bad_phone_unknown_category_and_filter(coordinator):
    api = api_for(coordinator)
    r = api.post(
        "/api/v1/resources/", {"name": "x", "category": "casino", "phone": "110"}, format="json"
    )
    assert r.status_code == 400 and "category" in r.json()["errors"]
    r = api.post(
        "/api/v1/resources/",
        {"name": "x", "category": "shelter", "phone": "call me"},
        format="json",
    )
    assert r.status_code == 400 and list(r.json()["errors"]) == ["phone"]
    r = api.get("/api/v1/resources/?category=casino")
    assert r.status_code == 400 and "category" in r.json()["errors"]


def test_api_import_bad_rows_400_nothing_written_then_real_import(coordinator):
    api = api_for(coordinator)
    before = Resource.objects.count()
    bad = SimpleUploadedFile("r.csv", (CSV + "x,shelter,新县,,,,,\n").encode())
    r = api.post("/api/v1/resources/import/", {"file": bad})
    assert r.status_code == 400 and r.json()["errors"][0]["row"] == 4
    assert Resource.objects.count() == before
    good = SimpleUploadedFile("r.csv", CSV.encode())
    r = api.post("/api/v1/resources/import/", {"file": good})
    assert r.status_code == 201 and r.json()["created"] == 2
    assert Resource.objects.count() == before + 2


def test_api_verify_and_no_delete(coordinator, volunteer, clock):
    entry = resource()
    assert api_for(volunteer.user).post(f"/api/v1/resources/{entry.pk}/verify/").status_code == 403
    r = api_for(coordinator).post(f"/api/v1/resources/{entry.pk}/verify/")
    assert r.status_code == 200 and r.json()["verified_at"]
    assert api_for(coordinator).delete(f"/api/v1/resources/{entry.pk}/").status_code == 405
