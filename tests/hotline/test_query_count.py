"""The hot path answers with the same number of queries whatever the roster size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.models import Call
from tests import factories as f
from tests.hotline.conftest import call_data, fixture


def _roster(scene, n):
    shift = scene.shift
    for _i in range(n):
        v = f.volunteer(roles=("counsellor",))
        f.assignment(shift_=shift, volunteer_=v, role="counsellor")


def _queries(tw, sid, path="/twilio/voice/incoming", data=None):
    with CaptureQueriesContext(connection) as ctx:
        r = tw(path, data or call_data(sid))
    assert r.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", ["incoming", "menu"])
def test_same_queries_with_3_or_300_on_shift(scene, tw, path):
    counts = []
    for n, sid in [(3, "CA" + "1" * 32), (297, "CA" + "2" * 32)]:
        _roster(scene, n)
        if path == "incoming":
            counts.append(_queries(tw, sid))
        else:
            tw("/twilio/voice/incoming", call_data(sid))
            data = {**fixture("voice-gather-digits"), "CallSid": sid}
            counts.append(_queries(tw, sid, "/twilio/voice/menu", data))
    assert counts[0] == counts[1], counts
    assert Call.objects.count() == 2


def test_raw_open_flag_agrees_with_the_orm(scene):
    """hotline_with_open_flag is hand-written SQL for speed: same answer as hotline_open,
    at the shift's edges and with a draft roster."""
    from hotline.call_selectors import hotline_open, hotline_with_open_flag

    draft = f.roster(hotline_=scene.hotline)
    f.shift(roster_=draft, starts_at=f.at(2026, 3, 2, 20), hours=4)
    for when in [
        f.at(2026, 3, 2, 7, 59),
        f.at(2026, 3, 2, 8),
        f.at(2026, 3, 2, 13, 59),
        f.at(2026, 3, 2, 14),
        f.at(2026, 3, 2, 21),
    ]:
        found = hotline_with_open_flag(scene.hotline.phone_number, when)
        assert found.pk == scene.hotline.pk
        assert found.is_open == hotline_open(scene.hotline, when), when
    assert hotline_with_open_flag("+8610000000000", f.at(2026, 3, 2, 9)) is None
    scene.hotline.is_active = False
    scene.hotline.save()
    assert hotline_with_open_flag(scene.hotline.phone_number, f.at(2026, 3, 2, 9)) is None


def test_hold_loop_is_one_query(scene, tw):
    """Every waiting caller asks every few seconds: one query while the batch is not due."""
    scene.on_shift("counsellor")
    tw("/twilio/voice/incoming", call_data())
    tw("/twilio/voice/menu", fixture("voice-gather-digits"))
    call = Call.objects.get()
    assert call.state == Call.State.RINGING
    assert _queries(tw, None, f"/twilio/voice/hold?call={call.pk}", call_data()) == 1
