"""The follow-up pages, for each persona: anonymous, the assigned volunteer, another
volunteer, a supervisor, a coordinator. A follow-up someone may not see is a 404."""

import datetime as dt

import pytest

from hotline.models import AuditLog, FollowUp
from tests.support import factories as f
from tests.support.followups import follow_up_for
from tests.support.twilio import NOW

PERSONAS = ("anonymous", "volunteer", "other", "supervisor", "coordinator")


@pytest.fixture
def world(scene, volunteer, supervisor, coordinator, clock):
    other = f.volunteer(display_name="Other Volunteer")
    fu = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW + dt.timedelta(hours=2))
    late = follow_up_for(scene.hotline, volunteer, now=NOW, due_at=NOW - dt.timedelta(hours=1))
    debrief = FollowUp.objects.create(
        kind=FollowUp.Kind.DEBRIEF,
        source=FollowUp.Source.ESCALATION,
        hotline=scene.hotline,
        volunteer=volunteer,
        assignee=supervisor,
        due_at=NOW + dt.timedelta(hours=20),
        notes="talked about the night shift",
        created_at=NOW,
        updated_at=NOW,
    )
    users = {
        "anonymous": None,
        "volunteer": volunteer.user,
        "other": other.user,
        "supervisor": supervisor.user,
        "coordinator": coordinator,
    }
    return {"fu": fu, "late": late, "debrief": debrief, "users": users, "other": other}


def as_(client, world, persona):
    user = world["users"][persona]
    if user is not None:
        client.force_login(user)
    return client


def is_login_redirect(r):
    return r.status_code == 302 and r["Location"].startswith("/accounts/login/")


MY_LIST = {
    "anonymous": "login",
    "volunteer": 200,
    "other": 200,
    "supervisor": 200,
    "coordinator": 200,
}
QUEUE = {
    "anonymous": "login",
    "volunteer": 403,
    "other": 403,
    "supervisor": 200,
    "coordinator": 200,
}
DETAIL = {
    "anonymous": "login",
    "volunteer": 200,
    "other": 404,
    "supervisor": 200,
    "coordinator": 200,
}
DEBRIEF = {
    "anonymous": "login",
    "volunteer": 404,
    "other": 404,
    "supervisor": 200,
    "coordinator": 404,
}


def check(r, expected):
    if expected == "login":
        assert is_login_redirect(r), r
    else:
        assert r.status_code == expected, (r.status_code, expected)


@pytest.mark.parametrize("persona", PERSONAS)
def test_my_follow_ups_page(client, world, persona):
    r = as_(client, world, persona).get("/follow-ups/")
    check(r, MY_LIST[persona])
    if persona == "volunteer":
        html = r.content.decode()
        assert html.count('class="card overdue"') == 1  # the late one, in red
        assert "1 follow-up is overdue." in html
    if persona == "other":
        assert "Nothing to follow up" in r.content.decode()


@pytest.mark.parametrize("persona", PERSONAS)
def test_supervisors_queue_page(client, world, persona):
    r = as_(client, world, persona).get("/follow-ups/queue/")
    check(r, QUEUE[persona])
    if r.status_code == 200:
        html = r.content.decode()
        shows_debrief = f"/follow-ups/{world['debrief'].pk}/" in html
        assert shows_debrief == (persona == "supervisor")
        assert f"/follow-ups/{world['fu'].pk}/" in html


@pytest.mark.parametrize("persona", PERSONAS)
def test_detail_page(client, world, persona):
    fu = world["fu"]
    r = as_(client, world, persona).get(f"/follow-ups/{fu.pk}/")
    check(r, DETAIL[persona])
    if r.status_code == 200:
        assert AuditLog.objects.filter(action="followup.view", object_id=fu.pk).exists()
        assert "+8613900139000" not in r.content.decode()  # last four only
        assert "…9000" in r.content.decode()


@pytest.mark.parametrize("persona", PERSONAS)
def test_debrief_page_is_for_supervisors_only(client, world, persona):
    debrief = world["debrief"]
    r = as_(client, world, persona).get(f"/follow-ups/{debrief.pk}/")
    check(r, DEBRIEF[persona])
    if r.status_code == 200:
        assert "talked about the night shift" in r.content.decode()


COMPLETE = {
    "anonymous": "login",
    "volunteer": 302,
    "other": 404,
    "supervisor": 302,
    "coordinator": 302,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_complete(client, world, persona):
    fu = world["fu"]
    r = as_(client, world, persona).post(
        f"/follow-ups/{fu.pk}/complete/", {"status": "done", "notes": "she is safe"}
    )
    check(r, COMPLETE[persona])
    fu.refresh_from_db()
    assert (fu.status == "done") == (COMPLETE[persona] == 302)


REASSIGN = {
    "anonymous": "login",
    "volunteer": 403,
    "other": 404,
    "supervisor": 302,
    "coordinator": 302,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_reassign(client, world, persona):
    fu, other = world["fu"], world["other"]
    r = as_(client, world, persona).post(f"/follow-ups/{fu.pk}/reassign/", {"assignee": other.pk})
    check(r, REASSIGN[persona])
    fu.refresh_from_db()
    assert (fu.assignee == other) == (REASSIGN[persona] == 302)


FROM_ESCALATION = {
    "anonymous": "login",
    "volunteer": 403,
    "other": 403,
    "supervisor": 200,
    "coordinator": 200,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_from_escalation_page(client, world, persona, scene, volunteer):
    from hotline.crisis import escalations
    from tests.support.crisis import answered_call

    call = answered_call(scene.hotline, volunteer, at=NOW)
    escalation = escalations.escalation_raise(
        call=call, by=volunteer.user, reason="danger", now=NOW
    )
    r = as_(client, world, persona).get(f"/follow-ups/from-escalation/{escalation.pk}/")
    check(r, FROM_ESCALATION[persona])


DEBRIEF_REQUEST = {
    "anonymous": "login",
    "volunteer": 302,
    "other": 302,
    "supervisor": 302,
    "coordinator": 403,  # no volunteer record: nobody to debrief
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_debrief_request(client, world, persona):
    before = FollowUp.objects.filter(source="volunteer").count()
    r = as_(client, world, persona).post("/follow-ups/debrief/")
    check(r, DEBRIEF_REQUEST[persona])
    after = FollowUp.objects.filter(source="volunteer").count()
    assert after - before == (1 if DEBRIEF_REQUEST[persona] == 302 else 0)


def test_home_page_counts_open_and_overdue_follow_ups(client, world, volunteer):
    client.force_login(volunteer.user)
    html = client.get("/").content.decode()
    assert "2 open follow-ups" in html and "1 overdue" in html


def test_escalation_page_offers_a_follow_up_to_supervisors(client, world, scene, volunteer):
    from hotline.crisis import escalations
    from tests.support.crisis import answered_call

    call = answered_call(scene.hotline, volunteer, at=NOW)
    escalation = escalations.escalation_raise(
        call=call, by=volunteer.user, reason="danger", now=NOW
    )
    client.force_login(world["users"]["supervisor"])
    html = client.get(f"/crisis/escalations/{escalation.pk}/").content.decode()
    assert f"/follow-ups/from-escalation/{escalation.pk}/" in html
