"""The hot path answers with the same number of queries whatever the roster size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hotline.models import Call
from tests.support import factories as f
from tests.support.twilio import NOW, call_data, fixture


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


@pytest.mark.django_db(transaction=True)
def test_an_arrival_is_two_statements_outside_any_transaction(scene, tw):
    """What a new call costs the database: the hotline with its open flag, then the INSERT;
    each its own autocommit (no transaction, no savepoint around them), and nothing from
    the session or sign-in middleware (Twilio sends no cookie)."""
    scene.on_shift("counsellor")
    seen = []

    def record(execute, sql, params, many, context):
        seen.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert tw("/twilio/voice/incoming", call_data()).status_code == 200
    assert [sql.split(None, 1)[0].upper() for sql, _ in seen] == ["SELECT", "INSERT"], seen
    assert "hotline_hotline" in seen[0][0] and '"hotline_call"' in seen[1][0]
    assert not any(in_transaction for _, in_transaction in seen)
    assert Call.objects.get().state == Call.State.MENU


def test_raw_open_flag_agrees_with_the_orm(scene):
    """hotline_with_open_flag is hand-written SQL for speed: same answer as hotline_open,
    at the shift's edges and with a draft roster."""
    from hotline.calls.selectors import hotline_open, hotline_with_open_flag

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


def _saved_by_the_orm(call: Call) -> dict:
    """What `save()` would have stored for the same values: a copy saved the ORM's way."""
    twin = Call(
        **{
            f.attname: getattr(call, f.attname)
            for f in Call._meta.concrete_fields
            if not f.primary_key
        }
    )
    twin.call_sid = "CA" + "f" * 32
    twin.save()
    return _row(twin.pk)


def _row(pk) -> dict:
    row = Call.objects.filter(pk=pk).values().get()
    return {k: v for k, v in row.items() if k not in ("id", "call_sid", "created_at", "updated_at")}


@pytest.mark.parametrize("when", [NOW, f.at(2026, 3, 2, 20)], ids=["open", "out_of_hours"])
def test_arrival_insert_stores_what_save_would(scene, clock, when):
    """The arrival INSERT is written out for speed: every column as the ORM would store it,
    the timestamps set, and a replay returns the stored call without a second row."""
    from hotline.calls.services import call_arrive, caller_hash

    def arrive():
        return call_arrive(
            to_number=scene.hotline.phone_number,
            call_sid="CA" + "1" * 32,
            from_number="+8613800138000",
            base_url="https://hotline.example/",
            now=when,
        )

    clock.set(when)
    call = arrive()
    stored = Call.objects.get(pk=call.pk)
    assert stored.created_at == stored.updated_at == when
    assert stored.hotline_id == scene.hotline.pk
    assert _row(call.pk) == _saved_by_the_orm(stored)
    assert (stored.state, stored.outcome, stored.voicemail_reason) == (
        ("menu", "", "") if when == NOW else ("voicemail", "out_of_hours", "closed")
    )
    assert (stored.caller_last4, stored.webhook_base, stored.twilio_status) == (
        "8000",
        "https://hotline.example/",
        "ringing",
    )
    assert stored.caller_hash == caller_hash("+8613800138000")
    assert (stored.arrived_at, stored.menu_attempts, stored.answered_by_id) == (when, 0, None)

    assert arrive().pk == call.pk
    assert Call.objects.filter(call_sid="CA" + "1" * 32).count() == 1


def test_arrival_insert_refuses_unknown_fields(scene):
    from hotline.calls.services import _insert_unless_known

    with pytest.raises(TypeError, match="not_a_field"):
        _insert_unless_known(scene.hotline, call_sid="CA" + "2" * 32, not_a_field=1)
    assert not Call.objects.exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans")
def test_call_routing_reads_use_their_indexes(scene):
    """The incoming call's reads seek by index instead of walking the rosters' history or
    every volunteer; new calls stay out of the partial indexes, which lookups still use."""
    from hotline.calls.selectors import _hotline_open_plan
    from scheduling.selectors import volunteers_on_shift

    sql = _hotline_open_plan(connection)[0]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, ["published", "x", "x", "+1", True])
        open_flag = " ".join(str(r) for r in cursor.fetchall())
    assert "shift_roster_end_idx" in open_flag

    on_shift = volunteers_on_shift(scene.hotline, NOW, role="counsellor").explain()
    assert "shift_roster_end_idx" in on_shift
    assert "SCAN hotline_volunteer" not in on_shift

    assert (
        "call_ringing_idx"
        in Call.objects.filter(state="ringing", batch_deadline__lte=NOW).explain()
    )
    assert "call_answered_by_arrived_idx" in Call.objects.filter(answered_by_id=1).explain()
    assert "call_shift_idx" in Call.objects.filter(shift_id=1).explain()


def test_arrival_insert_assumes_no_json_field_on_call():
    """The arrival INSERT passes None straight through as NULL; a JSONField would need
    its own preparation (None is JSON null there)."""
    from django.db.models import JSONField

    assert not [f.name for f in Call._meta.concrete_fields if isinstance(f, JSONField)]
