"""Auto-fill's choices on a roster with nobody on it yet (a new draft): the one choice it can
offer (fairest, with a note why there are no others) is shown and can be used. Before, the
run failed (the fairest option of an empty roster has no list of changes) and the board said
"The last auto-fill failed"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scheduling import builder
from scheduling.models import Assignment, AutofillRun
from tests.support import factories as f
from tests.support.scenes import local, london_hotline

pytestmark = pytest.mark.django_db


def test_options_of_an_empty_draft_offer_the_fairest_and_can_be_used(clock, client, coordinator):
    roster = f.roster(hotline_=london_hotline(), first_day=local(2027, 3, 22).date())
    shift = f.shift(roster_=roster, starts_at=local(2027, 3, 23, 9), required_family_educators=0)
    amy, bob = f.volunteer(display_name="Amy"), f.volunteer(display_name="Bob")

    run = builder.autofill_start(
        roster=roster, mode="rebuild", time_limit=2, by=None, options=True, enqueue=False
    )
    run = builder.autofill_execute(run_id=run.pk)

    assert run.status == AutofillRun.Status.DONE, run.message
    (option,) = run.result["options"]
    assert option["key"] == "fairest" and option["changes"] == []
    assert option["summary"]["seats_filled"] == 2
    assert [n["code"] for n in run.result["notes"]] == ["no_previous"]
    assert not Assignment.objects.filter(shift=shift).exists()  # nothing saved before chosen
    client.force_login(coordinator)
    page = client.get(reverse("scheduling:roster-board", args=[roster.pk])).content.decode()
    assert 'id="option-fairest"' in page and 'id="autofill-notes"' in page
    assert "There is no earlier version to keep: only the fairest roster is offered." in page

    applied = builder.option_apply(run=run, key="fairest")
    assert applied["created"] == 2 and not applied["staged"]
    assert set(Assignment.objects.filter(shift=shift).values_list("volunteer", flat=True)) == {
        amy.pk,
        bob.pk,
    }
