"""The queue on PostgreSQL with several connections at once (two web processes): one
volunteer is never offered two callers, and an accept racing a dispatch never deadlocks."""

import pytest

from hotline.calls.queue import call_accept, hotline_dispatch
from hotline.calls.services import call_arrive, call_choose
from hotline.models import Call, CallAttempt
from tests.support import factories as f
from tests.support.twilio import HOTLINE_NUMBER, NOW

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _scene(volunteers: int, batch: int = 2):
    hotline = f.hotline(phone_number=HOTLINE_NUMBER, ring_batch_size=batch)
    roster = f.roster(hotline_=hotline, status="published")
    shift = f.shift(roster_=roster, starts_at=f.at(2026, 3, 2, 8), hours=6, required_counsellors=50)
    people = [f.volunteer(roles=("counsellor",)) for _ in range(volunteers)]
    for v in people:
        f.assignment(shift_=shift, volunteer_=v, role="counsellor")
    return hotline, people


def _arrive(sid):
    call_arrive(
        to_number=HOTLINE_NUMBER, call_sid=sid, from_number="", base_url="http://t/", now=NOW
    )


def _one_offer_each():
    open_ = list(
        CallAttempt.objects.filter(result=CallAttempt.Result.PENDING).values_list(
            "volunteer_id", flat=True
        )
    )
    assert len(open_) == len(set(open_)), open_
    return open_


def test_callers_and_dispatches_at_once_never_offer_one_volunteer_two_callers(fake_twilio):
    hotline, people = _scene(3)
    sids = [f"CA{i:032d}" for i in range(6)]
    for sid in sids:
        _arrive(sid)
    work = [lambda sid=sid: call_choose(call_sid=sid, digits="1", now=NOW) for sid in sids]
    work += [lambda: hotline_dispatch(hotline_id=hotline.pk, now=NOW) for _ in range(3)]
    results = f.race(work)
    assert not [r for r in results if isinstance(r, Exception)], results
    open_ = _one_offer_each()
    assert len(open_) == 3  # every free volunteer offered someone
    # Nobody went to voicemail: they wait for the three to come free.
    assert Call.objects.filter(state=Call.State.RINGING).count() == 6


def test_accept_racing_a_dispatch_never_deadlocks(fake_twilio):
    hotline, people = _scene(6, batch=2)
    sids = [f"CA{i:032d}" for i in range(3)]
    for sid in sids:
        _arrive(sid)
        call_choose(call_sid=sid, digits="1", now=NOW)
    for round_ in range(5):
        offers = list(CallAttempt.objects.filter(result=CallAttempt.Result.PENDING))
        if not offers:
            break
        work = [lambda a=a: call_accept(attempt_id=a.pk, digits="1", now=NOW) for a in offers]
        work += [lambda: hotline_dispatch(hotline_id=hotline.pk, now=NOW) for _ in range(2)]
        results = f.race(work)
        errors = [r for r in results if isinstance(r, Exception)]
        assert not errors, (round_, errors)
        _one_offer_each()
    # Each caller was taken by exactly one volunteer, and nobody took two.
    answered = list(Call.objects.values_list("answered_by", flat=True))
    assert None not in answered and len(set(answered)) == 3
    assert CallAttempt.objects.filter(result="accepted").count() == 3
