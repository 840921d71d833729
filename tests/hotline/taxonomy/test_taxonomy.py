"""The taxonomy the federation counts: seeded tables, reports checked against them, edits
that keep old reports and statistics, non-data calls, reports on voicemails."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from hotline.calls import services as calls
from hotline.crisis import reports
from hotline.models import Call, CallReport, TaxonomyAction, TaxonomyCategory
from hotline.taxonomy.selectors import report_counts
from tests.support import factories as f
from tests.support.crisis import answered_call
from tests.support.followups import LOW, follow_up_for
from tests.support.twilio import NOW

LINE_NEEDS = {
    "rights_legal": ("权益与法律咨询", "rights and legal questions"),
    "domestic_violence": ("家庭暴力", "domestic violence"),
    "employment": ("就业", "employment"),
    "marriage_family": ("婚姻家庭关系", "marriage and family relations"),
    "epidemic_stress": ("疫情相关压力", "epidemic-related stress"),
    "parenting_study": ("亲子与子女学习", "parenting and children's study"),
}


def api_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def report(volunteer, hotline, **data):
    call = answered_call(hotline, volunteer, at=NOW)
    return reports.report_create(
        call=call, by=volunteer.user, data={**LOW, "follow_up_needed": False, **data}, now=NOW
    )


def test_seed_has_todays_codes_and_the_lines_own(db):
    rows = {c.code: c for c in TaxonomyCategory.objects.filter(parent__isnull=True)}
    for code in ("psychological", "family_education", "medical_family", "other"):
        assert rows[code].active
    for code, (zh, en) in LINE_NEEDS.items():
        assert (rows[code].label_zh_hans, rows[code].label_en) == (zh, en)
    assert TaxonomyCategory.objects.filter(parent__code="domestic_violence").count() == 3
    assert TaxonomyAction.objects.filter(code="referred").exists()


def test_report_with_new_category_sub_category_actions_and_optional_caller_fields(
    scene, volunteer, clock
):
    saved = report(
        volunteer,
        scene.hotline,
        category="domestic_violence",
        sub_category="dv_economic",
        caller_group="single_mother",
        caller_sex="female",
        caller_age_band="30_44",
        actions=["safety_plan", "referred"],
    )
    saved.refresh_from_db()
    assert (saved.category, saved.sub_category, saved.caller_age_band) == (
        "domestic_violence",
        "dv_economic",
        "30_44",
    )
    assert sorted(saved.actions.values_list("code", flat=True)) == ["referred", "safety_plan"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("category", "astrology"),
        ("category", "anxiety"),  # a sub-category is not a category
        ("sub_category", "dv_physical"),  # belongs to another category
        ("caller_group", "aliens"),
        ("actions", ["prayed"]),
        ("caller_age_band", "ancient"),
    ],
)
def test_unknown_codes_are_refused_naming_the_field(scene, volunteer, clock, field, value):
    with pytest.raises(ValidationError) as exc:
        report(volunteer, scene.hotline, **{field: value})
    assert field in exc.value.message_dict
    assert not CallReport.objects.exists()


def test_unknown_code_through_the_api_is_400_naming_the_field(scene, volunteer, clock):
    call = answered_call(scene.hotline, volunteer, at=NOW)
    api = api_for(volunteer.user)
    body = {**LOW, "category": "astrology"}
    r = api.post(f"/api/v1/calls/{call.pk}/report/", body, format="json")
    assert r.status_code == 400 and "category" in r.json()["errors"]
    r = api.post(f"/api/v1/calls/{call.pk}/report/", {**LOW, "actions": ["prayed"]}, format="json")
    assert r.status_code == 400 and "actions" in r.json()["errors"]
    r = api.post(
        f"/api/v1/calls/{call.pk}/report/",
        {**LOW, "category": "employment", "actions": ["referred"]},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["category"] == "employment" and r.json()["actions"] == ["referred"]


def test_deactivated_category_stays_on_old_reports_and_is_not_offered(
    scene, volunteer, client, clock
):
    old = report(volunteer, scene.hotline, category="epidemic_stress")
    TaxonomyCategory.objects.filter(code="epidemic_stress").update(active=False)

    # Not offered on a new report (form) and refused if sent anyway.
    call = answered_call(scene.hotline, volunteer, at=NOW)
    client.force_login(volunteer.user)
    page = client.get(f"/calls/{call.pk}/report/").content.decode()
    assert 'value="epidemic_stress"' not in page and 'value="employment"' in page
    with pytest.raises(ValidationError) as exc:
        reports.report_create(
            call=call,
            by=volunteer.user,
            data={**LOW, "category": "epidemic_stress"},
            now=NOW,
        )
    assert "no longer offered" in exc.value.message_dict["category"][0]

    # The old report keeps it, shows it, and can still be edited.
    reports.report_update(
        report=old, by=volunteer.user, data={"summary": "edited"}, now=NOW + dt.timedelta(hours=1)
    )
    old.refresh_from_db()
    assert old.category == "epidemic_stress"
    page = client.get(f"/calls/{old.call_id}/report/").content.decode()
    assert 'value="epidemic_stress" selected' in page


def test_relabelling_and_deactivating_keep_statistics(scene, volunteer, clock):
    report(volunteer, scene.hotline, category="employment", actions=["referred"])
    report(volunteer, scene.hotline, category="employment", actions=["referred", "safety_plan"])
    report(volunteer, scene.hotline, category="psychological")
    before = report_counts(CallReport.objects.all(), "category")
    assert before == [
        ("employment", "employment", 2),
        ("psychological", "psychological support", 1),
    ]
    TaxonomyCategory.objects.filter(code="employment").update(
        label_en="work and jobs", active=False
    )
    after = report_counts(CallReport.objects.all(), "category")
    assert after == [
        ("employment", "work and jobs", 2),
        ("psychological", "psychological support", 1),
    ]
    assert report_counts(CallReport.objects.all(), "actions") == [
        ("referred", "referred", 2),
        ("safety_plan", "safety plan made", 1),
    ]


# --- non-data calls ------------------------------------------------------------------------


def test_one_tap_marks_a_silent_call_no_report_needed(scene, volunteer, client, clock):
    call = answered_call(scene.hotline, volunteer, at=NOW)
    client.force_login(volunteer.user)
    page = client.get(f"/calls/{call.pk}/report/").content.decode()
    assert 'name="type" value="silent"' in page and 'value="test"' in page
    r = client.post(f"/calls/{call.pk}/non-data/", {"type": "silent"})
    assert r.status_code == 302
    call.refresh_from_db()
    assert call.non_data_type == "silent"
    mine = client.get("/crisis/").content.decode()
    assert "silent call" in mine and "no report needed" in mine


def test_non_data_refused_for_others_for_unknown_types_and_reported_calls(scene, volunteer, clock):
    call = answered_call(scene.hotline, volunteer, at=NOW)
    with pytest.raises(PermissionDenied):
        calls.call_mark_non_data(call=call, by=f.volunteer().user, kind="prank", now=NOW)
    with pytest.raises(ValidationError):
        calls.call_mark_non_data(call=call, by=volunteer.user, kind="boring", now=NOW)
    reported = report(volunteer, scene.hotline)
    with pytest.raises(ValidationError):
        calls.call_mark_non_data(call=reported.call, by=volunteer.user, kind="prank", now=NOW)
    assert not Call.objects.exclude(non_data_type="").exists()


def test_non_data_through_the_api(scene, volunteer, clock):
    call = answered_call(scene.hotline, volunteer, at=NOW)
    api = api_for(volunteer.user)
    r = api.post(f"/api/v1/calls/{call.pk}/non-data/", {"type": "wrong_number"}, format="json")
    assert r.status_code == 200 and r.json()["non_data_type"] == "wrong_number"
    r = api.post(f"/api/v1/calls/{call.pk}/non-data/", {"type": "boring"}, format="json")
    assert r.status_code == 400 and "type" in r.json()["errors"]
    other = api_for(f.volunteer().user)
    r = other.post(f"/api/v1/calls/{call.pk}/non-data/", {"type": "prank"}, format="json")
    assert r.status_code == 404  # not a call they can see


# --- reports on voicemails -------------------------------------------------------------------


def voicemail(hotline):
    return Call.objects.create(
        call_sid="CA" + "7" * 32,
        hotline=hotline,
        arrived_at=NOW,
        state=Call.State.ENDED,
        outcome=Call.Outcome.VOICEMAIL,
        recording_sid="RE" + "7" * 32,
    )


def test_voicemail_reported_by_its_follow_up_assignee_or_a_supervisor(
    scene, volunteer, supervisor, clock
):
    call = voicemail(scene.hotline)
    with pytest.raises(PermissionDenied):
        reports.report_create(call=call, by=volunteer.user, data=LOW, now=NOW)
    fu = follow_up_for(scene.hotline, volunteer, now=NOW)
    fu.call = call
    fu.save()
    saved = reports.report_create(call=call, by=volunteer.user, data=LOW, now=NOW)
    assert saved.author == volunteer
    other_call = Call.objects.create(
        call_sid="CA" + "8" * 32,
        hotline=scene.hotline,
        arrived_at=NOW,
        state=Call.State.ENDED,
        outcome=Call.Outcome.VOICEMAIL,
    )
    by_supervisor = reports.report_create(call=other_call, by=supervisor.user, data=LOW, now=NOW)
    assert by_supervisor.author == supervisor


# --- the tables through the API ----------------------------------------------------------------


PERSONAS = ("anonymous", "volunteer", "supervisor", "coordinator")


@pytest.mark.parametrize("persona", PERSONAS)
def test_taxonomy_api_everyone_reads_coordinators_write(
    persona, volunteer, supervisor, coordinator
):
    user = {
        "anonymous": None,
        "volunteer": volunteer.user,
        "supervisor": supervisor.user,
        "coordinator": coordinator,
    }[persona]
    api = api_for(user)
    r = api.get("/api/v1/taxonomy/categories/?active=true")
    assert r.status_code == (401 if user is None else 200)
    new = {"code": "housing", "label_zh_hans": "住房", "label_en": "housing", "order": 95}
    r = api.post("/api/v1/taxonomy/categories/", new, format="json")
    assert r.status_code == {"anonymous": 401, "coordinator": 201}.get(persona, 403)
    assert TaxonomyCategory.objects.filter(code="housing").exists() == (persona == "coordinator")


def test_coordinator_relabels_deactivates_never_renames_or_deletes(coordinator):
    api = api_for(coordinator)
    entry = TaxonomyCategory.objects.get(code="employment")
    url = f"/api/v1/taxonomy/categories/{entry.pk}/"
    r = api.patch(url, {"label_en": "work", "active": False}, format="json")
    assert r.status_code == 200 and r.json()["active"] is False
    r = api.patch(url, {"code": "work"}, format="json")
    assert r.status_code == 400 and "code" in r.json()["errors"]
    assert api.delete(url).status_code == 405
    entry.refresh_from_db()
    assert (entry.code, entry.label_en, entry.active) == ("employment", "work", False)
    r = api.post(
        "/api/v1/taxonomy/categories/",
        {"code": "Bad Code!", "label_zh_hans": "x", "label_en": "x"},
        format="json",
    )
    assert r.status_code == 400 and "code" in r.json()["errors"]
    r = api.post(
        "/api/v1/taxonomy/categories/",
        {
            "code": "dv_digital",
            "label_zh_hans": "网络暴力",
            "label_en": "online abuse",
            "parent": "domestic_violence",
        },
        format="json",
    )
    assert r.status_code == 201 and r.json()["parent"] == "domestic_violence"
