"""Reminders before published shifts, deduped across runs and restarts; publish and change
notices only to the volunteers whose assignments changed."""

from __future__ import annotations

import datetime as dt
import types

import pytest
from django.core.management import call_command

from hotline.models import Message
from hotline.sms import backends
from scheduling import reminders, services
from scheduling.models import AssignmentNotice
from scheduling.notify import roster_changes_notify
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(clock, outbox):
    hotline = london_hotline()
    roster = published_roster(hotline)
    amy = f.volunteer(display_name="Amy", language="en")
    shift = f.shift(roster_=roster, starts_at=local(2027, 3, 22, 9), hours=6)  # Monday 09:00 GMT
    return {
        "hotline": hotline,
        "roster": roster,
        "amy": amy,
        "shift": shift,
        "a": f.assignment(shift_=shift, volunteer_=amy),
    }


def keys():
    return sorted(Message.objects.filter(purpose="reminder").values_list("dedupe_key", flat=True))


def test_24h_then_2h_reminders_each_once(scene):
    a = scene["a"]
    assert reminders.reminders_send_due(now=local(2027, 3, 21, 8)) == 0  # 25 h before
    assert reminders.reminders_send_due(now=local(2027, 3, 21, 9, 30)) == 1
    assert reminders.reminders_send_due(now=local(2027, 3, 21, 9, 35)) == 0  # run twice
    assert keys() == [f"reminder:{a.pk}:24h"]
    assert reminders.reminders_send_due(now=local(2027, 3, 22, 7, 5)) == 1
    assert keys() == [f"reminder:{a.pk}:24h", f"reminder:{a.pk}:2h"]
    body = Message.objects.get(dedupe_key=f"reminder:{a.pk}:2h").body
    assert "London Line" in body and "09:00" in body and "Europe/London" in body
    assert reminders.reminders_send_due(now=local(2027, 3, 22, 9, 1)) == 0  # started


def test_dedupe_across_a_restart(scene, monkeypatch):
    """A worker dies after queuing but before anything else: the next process (fresh
    module state, same database) sends nothing twice — the outbox key is the guard."""
    now = local(2027, 3, 21, 10)
    reminders.reminders_send_due(now=now)
    backends.outbox.clear()
    import importlib

    importlib.reload(reminders)  # a new process: nothing remembered in memory
    assert reminders.reminders_send_due(now=now + dt.timedelta(minutes=5)) == 0

    # Even a run that skips the pre-check (e.g. an older worker) cannot double-send.
    class NoMemory:
        objects = types.SimpleNamespace(filter=lambda **kw: Message.objects.none())

    monkeypatch.setattr(reminders, "Message", NoMemory)
    reminders.reminders_send_due(now=now + dt.timedelta(minutes=10))
    assert Message.objects.filter(purpose="reminder").count() == 1


def test_management_command_sends_due(scene, clock, capsys):
    clock.now = local(2027, 3, 21, 10)
    call_command("send_due_reminders")
    assert "1 reminder(s) queued" in capsys.readouterr().out
    call_command("send_due_reminders")
    assert "0 reminder(s) queued" in capsys.readouterr().out


def test_opt_out_and_draft_and_cancelled_get_none(scene):
    reminders.reminder_preference_set(volunteer=scene["amy"], enabled=False)
    other = f.volunteer()
    draft = f.roster(hotline_=scene["hotline"], first_day=dt.date(2027, 3, 22), status="draft")
    f.assignment(shift_=f.shift(roster_=draft, starts_at=local(2027, 3, 22, 12)), volunteer_=other)
    cancelled = f.assignment(
        shift_=f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 22, 16)), volunteer_=other
    )
    services.assignment_cancel(assignment=cancelled)
    services.roster_publish(roster=scene["roster"])  # the removal was staged
    assert reminders.reminders_send_due(now=local(2027, 3, 22, 6)) == 0
    reminders.reminder_preference_set(volunteer=scene["amy"], enabled=True)
    assert reminders.reminders_send_due(now=local(2027, 3, 22, 6)) == 1


def test_custom_reminder_hours(scene, settings):
    settings.SHIFT_REMINDER_HOURS = [48]
    assert reminders.reminders_send_due(now=local(2027, 3, 20, 10)) == 1
    assert keys() == [f"reminder:{scene['a'].pk}:48h"]


def test_reminder_query_count_is_constant(scene, django_assert_num_queries):
    for h in range(5):
        f.assignment(
            shift_=f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 22, 16 + h), hours=1),
            volunteer_=f.volunteer(),
        )
    reminders.reminders_send_due(now=local(2027, 3, 21, 10))
    with django_assert_num_queries(2):  # candidates + existing keys; nothing new to queue
        assert reminders.reminders_send_due(now=local(2027, 3, 21, 10, 5)) == 0


# --- publish / change notices ---------------------------------------------------------------


def test_publish_notifies_assigned_then_republish_only_changed(clock, outbox):
    hotline = london_hotline()
    roster = f.roster(hotline_=hotline, first_day=dt.date(2027, 3, 22), status="draft")
    amy = f.volunteer(display_name="Amy", roles=("counsellor", "family_educator"))
    ben = f.volunteer(display_name="Ben")
    s1 = f.shift(roster_=roster, starts_at=local(2027, 3, 22, 9), hours=6)
    a_amy = f.assignment(shift_=s1, volunteer_=amy)
    f.assignment(shift_=s1, volunteer_=ben)
    services.roster_publish(roster=roster, now=clock.now)
    assert sorted(m["to"] for m in outbox) == sorted([amy.phone_number, ben.phone_number])
    assert AssignmentNotice.objects.count() == 2

    services.roster_publish(roster=roster, now=clock.now)  # nothing changed
    assert len(outbox) == 2

    clock.advance(hours=1)
    services.assignment_update(assignment=a_amy, role="family_educator")
    services.roster_publish(roster=roster, now=clock.now)
    msgs = list(outbox)
    assert len(msgs) == 3 and msgs[-1]["to"] == amy.phone_number
    assert "Your hotline shifts changed" in msgs[-1]["body"]


def test_staged_change_to_published_roster_is_told_on_publish_only_once(scene, outbox, clock):
    roster_changes_notify(now=clock.now)
    assert len(outbox) == 1
    clock.advance(minutes=5)
    services.assignment_cancel(assignment=scene["a"])
    assert roster_changes_notify(now=clock.now) == 0  # staged: the sweep does not see it
    services.roster_publish(roster=scene["roster"], now=clock.now)
    assert "Cancelled" in list(outbox)[-1]["body"]
    assert roster_changes_notify(now=clock.now) == 0
    assert len(outbox) == 2


def test_made_and_cancelled_in_draft_never_notified(clock, outbox):
    roster = f.roster(hotline_=london_hotline(), first_day=dt.date(2027, 3, 22), status="draft")
    a = f.assignment(
        shift_=f.shift(roster_=roster, starts_at=local(2027, 3, 22, 9)), volunteer_=f.volunteer()
    )
    services.assignment_cancel(assignment=a)
    services.roster_publish(roster=roster, now=clock.now)
    assert len(outbox) == 0
