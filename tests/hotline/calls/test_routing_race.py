"""Callers choosing at the same moment on PostgreSQL: one volunteer is never rung for two."""

import pytest

from hotline.calls.services import call_arrive, call_choose
from hotline.models import Call, CallAttempt
from tests.support import factories as f
from tests.support.twilio import HOTLINE_NUMBER, NOW

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_callers_at_once_never_ring_the_same_volunteer(fake_twilio):
    hotline = f.hotline(phone_number=HOTLINE_NUMBER, ring_batch_size=2)
    roster = f.roster(hotline_=hotline, status="published")
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8), hours=6, required_counsellors=9)
    volunteers = [f.volunteer(roles=("counsellor",)) for _ in range(3)]
    for v in volunteers:
        f.assignment(shift_=shift, volunteer_=v, role="counsellor")

    for round_ in range(4):
        sids = [f"CA{round_}{i}" + "0" * 30 for i in (1, 2)]
        for sid in sids:
            call_arrive(
                to_number=HOTLINE_NUMBER,
                call_sid=sid,
                from_number="",
                base_url="http://t/",
                now=NOW,
            )
        f.race([lambda sid=sid: call_choose(call_sid=sid, digits="1", now=NOW) for sid in sids])

        ringing = list(
            CallAttempt.objects.filter(
                call__call_sid__in=sids, result=CallAttempt.Result.PENDING
            ).values_list("volunteer_id", flat=True)
        )
        # Three volunteers, two callers wanting two each: three legs, all different people.
        assert len(ringing) == len(set(ringing)) == 3, (round_, ringing)
        CallAttempt.objects.filter(call__call_sid__in=sids).update(
            result=CallAttempt.Result.NO_ANSWER
        )
        Call.objects.filter(call_sid__in=sids).update(state=Call.State.ENDED)
