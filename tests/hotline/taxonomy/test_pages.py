"""The coordinators' taxonomy page: list, add, rename, reorder, deactivate; codes never
change; bad input gets a clear error and changes nothing; only coordinators get in."""

import pytest

from hotline.models import AuditLog, TaxonomyAction, TaxonomyCallerGroup, TaxonomyCategory
from hotline.taxonomy import selectors
from tests.support import factories as f

PERSONAS = ("anonymous", "volunteer", "other", "supervisor", "coordinator")


@pytest.fixture
def users(db, volunteer, supervisor, coordinator):
    return {
        "anonymous": None,
        "volunteer": volunteer.user,
        "other": f.volunteer(display_name="Other Volunteer").user,
        "supervisor": supervisor.user,
        "coordinator": coordinator,
    }


def as_(client, users, persona):
    if users[persona] is not None:
        client.force_login(users[persona])
    return client


def counts():
    return (
        TaxonomyCategory.objects.count(),
        TaxonomyAction.objects.count(),
        TaxonomyCallerGroup.objects.count(),
    )


def snapshot():
    return sorted(
        TaxonomyCategory.objects.values_list("code", "label_zh_hans", "label_en", "active", "order")
    )


# --- who gets in --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    "path",
    ["/taxonomy/", "/taxonomy/categories/", "/taxonomy/actions/", "/taxonomy/caller-groups/"],
)
def test_pages_are_for_coordinators(client, users, persona, path):
    r = as_(client, users, persona).get(path)
    if persona == "anonymous":
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    elif persona == "coordinator":
        assert r.status_code in (200, 302)
    else:
        assert r.status_code == 403
        assert "<html" in r.content.decode()  # the styled 403 page


@pytest.mark.parametrize("persona", PERSONAS)
def test_writes_are_for_coordinators(client, users, persona):
    before = snapshot()
    entry = TaxonomyCategory.objects.get(code="employment")
    c = as_(client, users, persona)
    responses = [
        c.post(
            "/taxonomy/categories/add/",
            {"code": "housing", "label_zh_hans": "住房", "label_en": "Housing"},
        ),
        c.post(f"/taxonomy/categories/{entry.pk}/", {"label_zh_hans": "工作", "label_en": "Work"}),
        c.post(f"/taxonomy/categories/{entry.pk}/move/", {"direction": "up"}),
        c.post(f"/taxonomy/categories/{entry.pk}/active/", {"active": "0"}),
    ]
    if persona == "coordinator":
        assert all(r.status_code == 302 for r in responses)
        assert snapshot() != before
    else:
        expected = 302 if persona == "anonymous" else 403
        assert [r.status_code for r in responses] == [expected] * 4
        assert snapshot() == before


def test_nav_and_home_link_for_coordinators_only(client, users):
    as_(client, users, "coordinator")
    assert 'href="/taxonomy/"' in client.get("/").content.decode()
    client.logout()
    as_(client, users, "volunteer")
    assert 'href="/taxonomy/"' not in client.get("/").content.decode()


# --- what a coordinator does --------------------------------------------------------------------


def test_list_shows_sub_categories_under_their_category(client, coordinator):
    client.force_login(coordinator)
    html = client.get("/taxonomy/categories/").content.decode()
    assert "domestic_violence" in html and "rights_legal" in html
    dv = html.index("<code>domestic_violence</code>")
    sub = TaxonomyCategory.objects.filter(parent__code="domestic_violence").first()
    assert sub is not None
    assert html.index(f"<code>{sub.code}</code>") > dv


def test_add_a_category_and_a_sub_category(client, coordinator):
    client.force_login(coordinator)
    r = client.post(
        "/taxonomy/categories/add/",
        {"code": "housing", "label_zh_hans": " 住房 ", "label_en": "Housing"},
    )
    assert r.status_code == 302
    housing = TaxonomyCategory.objects.get(code="housing")
    assert (housing.label_zh_hans, housing.active, housing.parent) == ("住房", True, None)
    last = TaxonomyCategory.objects.filter(parent__isnull=True).order_by("-order").first()
    assert last == housing  # added last
    r = client.post(
        "/taxonomy/categories/add/",
        {
            "code": "eviction",
            "label_zh_hans": "被迫搬离",
            "label_en": "Eviction",
            "parent": "housing",
        },
    )
    assert TaxonomyCategory.objects.get(code="eviction").parent == housing
    assert [c.code for c in selectors.categories_offered() if c.code == "housing"] == ["housing"]
    assert AuditLog.objects.filter(action="taxonomy.create").count() == 2


def test_add_an_action_and_a_caller_group(client, coordinator):
    client.force_login(coordinator)
    client.post(
        "/taxonomy/actions/add/",
        {"code": "home_visit", "label_zh_hans": "上门", "label_en": "Visit"},
    )
    client.post(
        "/taxonomy/caller-groups/add/",
        {"code": "elderly", "label_zh_hans": "老年人", "label_en": "Older people"},
    )
    assert TaxonomyAction.objects.filter(code="home_visit").exists()
    assert TaxonomyCallerGroup.objects.filter(code="elderly").exists()


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"code": "employment"}, "code", "is taken"),
        ({"code": "Bad Code"}, "code", "lower-case"),
        ({"code": ""}, "code", "Give a code"),
        ({"label_zh_hans": "  "}, "label_zh_hans", "both languages"),
        ({"label_en": ""}, "label_en", "both languages"),
        ({"parent": "nope"}, "parent", "Unknown category"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(client, coordinator, data, field, words):
    client.force_login(coordinator)
    before = (counts(), snapshot())
    post = {"code": "housing", "label_zh_hans": "住房", "label_en": "Housing", **data}
    r = client.post("/taxonomy/categories/add/", post)
    assert r.status_code == 400
    html = r.content.decode()
    assert words in html and "Nothing was added" in html
    assert (counts(), snapshot()) == before


def test_a_deactivated_code_is_never_reused(client, coordinator):
    client.force_login(coordinator)
    TaxonomyCategory.objects.filter(code="employment").update(active=False)
    r = client.post(
        "/taxonomy/categories/add/",
        {"code": "employment", "label_zh_hans": "就业", "label_en": "Jobs"},
    )
    assert r.status_code == 400 and "deactivated" in r.content.decode()


def test_duplicate_code_error_in_chinese(client, coordinator):
    client.force_login(coordinator)
    client.cookies["django_language"] = "zh-hans"
    r = client.post(
        "/taxonomy/categories/add/",
        {"code": "employment", "label_zh_hans": "就业", "label_en": "Jobs"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert r.status_code == 400 and "已被使用" in r.content.decode()


def test_rename_keeps_the_code_and_refuses_an_empty_label(client, coordinator):
    client.force_login(coordinator)
    entry = TaxonomyCategory.objects.get(code="employment")
    r = client.post(
        f"/taxonomy/categories/{entry.pk}/",
        {"label_zh_hans": "工作", "label_en": "Work", "code": "work"},  # a code is ignored
    )
    assert r.status_code == 302
    entry.refresh_from_db()
    assert (entry.code, entry.label_zh_hans, entry.label_en) == ("employment", "工作", "Work")
    r = client.post(f"/taxonomy/categories/{entry.pk}/", {"label_zh_hans": "", "label_en": "X"})
    assert r.status_code == 400 and "both languages" in r.content.decode()
    entry.refresh_from_db()
    assert (entry.label_zh_hans, entry.label_en) == ("工作", "Work")
    assert (
        "<code>employment</code>"
        in client.get(f"/taxonomy/categories/{entry.pk}/").content.decode()
    )


def test_move_up_and_down_among_siblings(client, coordinator):
    client.force_login(coordinator)

    def order():
        return list(
            TaxonomyCallerGroup.objects.order_by("order", "code").values_list("code", flat=True)
        )

    before = order()
    second = TaxonomyCallerGroup.objects.get(code=before[1])
    client.post(f"/taxonomy/caller-groups/{second.pk}/move/", {"direction": "up"})
    assert order() == [before[1], before[0], *before[2:]]
    client.post(f"/taxonomy/caller-groups/{second.pk}/move/", {"direction": "up"})  # top already
    assert order() == [before[1], before[0], *before[2:]]
    client.post(f"/taxonomy/caller-groups/{second.pk}/move/", {"direction": "down"})
    assert order() == before
    r = client.post(f"/taxonomy/caller-groups/{second.pk}/move/", {"direction": "sideways"})
    assert r.status_code == 302 and order() == before


def test_equal_orders_still_move(client, coordinator):
    client.force_login(coordinator)
    TaxonomyAction.objects.update(order=100)
    codes = list(TaxonomyAction.objects.order_by("order", "code").values_list("code", flat=True))
    last = TaxonomyAction.objects.get(code=codes[-1])
    client.post(f"/taxonomy/actions/{last.pk}/move/", {"direction": "up"})
    after = list(TaxonomyAction.objects.order_by("order", "code").values_list("code", flat=True))
    assert after == [*codes[:-2], codes[-1], codes[-2]]


def test_deactivate_keeps_old_reports_and_is_not_offered(client, coordinator):
    client.force_login(coordinator)
    entry = TaxonomyCategory.objects.get(code="employment")
    r = client.post(f"/taxonomy/categories/{entry.pk}/active/", {"active": "0"}, follow=True)
    assert "no longer offered" in r.content.decode()
    assert "employment" not in [c.code for c in selectors.categories_offered()]
    # the rule of hotline/taxonomy/selectors.py: refused on a new report, kept on an old one
    assert "category" in selectors.check_report_codes({"category": "employment"})
    assert (
        selectors.check_report_codes({"category": "employment"}, current={"category": "employment"})
        == {}
    )
    client.post(f"/taxonomy/categories/{entry.pk}/active/", {"active": "1"})
    assert "employment" in [c.code for c in selectors.categories_offered()]


def test_unknown_table_or_entry_is_404(client, coordinator):
    client.force_login(coordinator)
    assert client.get("/taxonomy/things/").status_code == 404
    assert client.get("/taxonomy/categories/999999/").status_code == 404
