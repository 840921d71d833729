"""A supervisor at a crisis: the banner on every page while an escalation waits, the
escalation's page, acknowledge, resolve — and the banner is gone."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone

from hotline.crisis.escalations import escalation_raise
from hotline.models import Escalation, Hotline
from scheduling.models import Assignment
from tests.support.crisis import answered_call

SUPERVISOR_PASSWORD = "supervisor-demo"  # seed_demo's public demo password


def _escalation_on_a_live_call() -> Escalation:
    now = timezone.now()
    on_shift = (
        Assignment.objects.filter(
            status=Assignment.Status.ACTIVE,
            shift__starts_at__lte=now,
            shift__ends_at__gt=now,
            volunteer__user__username__startswith="volunteer",
        )
        .select_related("volunteer", "shift")
        .first()
    )
    assert on_shift is not None, "nobody on shift in the demo roster"
    call = answered_call(Hotline.objects.get(), on_shift.volunteer, at=now, shift=on_shift.shift)
    return escalation_raise(
        call=call,
        by=on_shift.volunteer.user,
        reason="来电者提到今晚有自伤计划 caller spoke of a plan for tonight",
        now=now,
    )


def test_supervisor_takes_and_resolves_an_escalation(page):
    escalation = _escalation_on_a_live_call()
    supervisor = get_user_model().objects.get(username="supervisor")

    page.sign_in("supervisor", SUPERVISOR_PASSWORD)
    page.open("/me/shifts/")  # any page: the banner is there
    waiting = page.ngettext(
        "%(n)s escalation waits for someone to take it",
        "%(n)s escalations wait for someone to take them",
        1,
    ) % {"n": 1}
    assert page.find(".crisis-banner").text == waiting
    page.looks_right()

    page.submit(".crisis-banner a")  # to the dashboard
    page.sees_text(escalation.code)
    page.looks_right()
    page.open(f"/crisis/escalations/{escalation.pk}/")
    page.sees_text(escalation.code, "caller spoke of a plan for tonight")
    page.looks_right()
    page.click_text(page.t("Acknowledge"))

    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.ACKNOWLEDGED
    assert escalation.acknowledged_by == supervisor
    page.open(f"/crisis/escalations/{escalation.pk}/")
    # Named as people know her, not by her login.
    card = page.find("main .card").text
    assert supervisor.volunteer.display_name in card
    assert "supervisor" not in card
    handled = page.ngettext(
        "%(n)s escalation is being handled", "%(n)s escalations are being handled", 1
    ) % {"n": 1}
    assert page.find(".crisis-banner").text == handled

    page.find("details summary").click()
    page.select("select[name=outcome]", Escalation.Outcome.FOLLOW_UP_ARRANGED)
    page.fill("textarea[name=notes]", "已联系家属 family reached")
    page.submit("form[action$='/resolve/'] button[type=submit]")
    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.RESOLVED
    assert escalation.acknowledged_by == supervisor  # resolving keeps who took it
    page.open("/me/shifts/")
    assert not page.find_all(".crisis-banner")
    page.looks_right()
