"""Rebuilds that move few people, their reasons, options to choose from, and several
hotlines built together — through the database and the rule layer."""

import datetime as dt

import pytest
from django.utils import translation

from scheduling import builder, services
from scheduling.builder import (
    AutofillBusy,
    BuildRefused,
    OptionStale,
    autofill_execute,
    autofill_start,
    autofill_start_group,
    option_apply,
    roster_build,
    roster_options,
    rosters_build,
)
from scheduling.models import Assignment, AutofillRun
from scheduling.rules import check_assignment
from tests.support import factories as f

pytestmark = pytest.mark.django_db

BEFORE = f.at(2026, 3, 1, 0)  # "now" for rebuilds: every shift below is still ahead


def _nights(first_day=dt.date(2026, 3, 2)):
    """A week of nights (20:00–08:00, one counsellor), Wang Fang on Mon, Thu and Sun, Li
    Lei on Tue and Fri, Zhao Min on Wed and Sat — the load as even as seven nights allow."""
    roster = f.roster(first_day=first_day)
    nights = f.daily_shifts(
        roster_=roster,
        days=7,
        hour=20,
        hours=12,
        required_counsellors=1,
        crisis_trained_required=0,
        required_family_educators=0,
    )
    wang = f.volunteer(display_name="Wang Fang", language="en")
    li = f.volunteer(display_name="Li Lei", language="zh-hans")
    zhao = f.volunteer(display_name="Zhao Min", language="zh-hans")
    for night, person in zip(nights, [wang, li, zhao, wang, li, zhao, wang], strict=True):
        f.assignment(shift_=night, volunteer_=person)
    return roster, nights, (wang, li, zhao)


def _active(roster):
    return set(
        Assignment.objects.filter(
            shift__roster=roster, status=Assignment.Status.ACTIVE
        ).values_list("shift_id", "volunteer_id", "role")
    )


def _time_off(volunteer, shift):
    f.time_off(volunteer_=volunteer, starts_at=shift.starts_at, ends_at=shift.ends_at)


def test_rebuild_after_time_off_moves_one_seat_and_keeps_the_reason():
    roster, nights, (wang, _li, _zhao) = _nights()
    before = _active(roster)
    _time_off(wang, nights[3])  # Thursday

    summary = roster_build(roster=roster, rebuild=True, time_limit=2, now=BEFORE)

    assert summary["strategy"] == "repair"
    assert (summary["cancelled"], summary["created"], summary["refused"]) == (1, 1, [])
    m = summary["metrics"]
    assert (m["mode"], m["changes"], m["moved_volunteers"]) == ("repair", 2, 2)
    assert m["spread_hours"] <= m["spread_floor_hours"] + 12
    assert len(before ^ _active(roster)) == 2
    gone = Assignment.objects.get(shift=nights[3], volunteer=wang)
    assert gone.status == Assignment.Status.CANCELLED
    assert gone.change_reason["reason_code"] == "time_off"
    cover = Assignment.objects.get(shift=nights[3], status=Assignment.Status.ACTIVE)
    assert cover.change_reason["reason_code"] == "cover"
    with translation.override("en"):
        assert builder.change_reason(gone.change_reason) == (
            "Wang Fang has time off at Thu 03-05 20:00"
        )
        assert builder.change_reason(cover.change_reason) == "to cover after Wang Fang's time off"
    # The summary lists the two changes, per volunteer too.
    assert [(e["kind"], e["volunteer"]) for e in summary["changes"]] == [
        ("removed", wang.pk),
        ("added", cover.volunteer_id),
    ]
    assert {row["volunteer"] for row in summary["diff"]} == {wang.pk, cover.volunteer_id}


def test_fairest_strategy_is_still_there_for_a_rebuild():
    roster, nights, (wang, _li, _zhao) = _nights()
    _time_off(wang, nights[3])
    summary = roster_build(
        roster=roster, rebuild=True, time_limit=2, strategy="fairest", now=BEFORE
    )
    assert summary["metrics"]["mode"] == "fairest"
    assert summary["refused"] == []
    with pytest.raises(BuildRefused):
        roster_build(roster=roster, rebuild=True, strategy="kindest", now=BEFORE)
    with pytest.raises(BuildRefused):
        roster_build(roster=roster, rebuild=True, spread_tolerance=-3, now=BEFORE)


def test_fill_gaps_stays_fairest_and_changes_nothing_kept():
    roster, nights, _people = _nights()
    Assignment.objects.filter(shift=nights[6]).delete()
    summary = roster_build(roster=roster, time_limit=1, now=BEFORE)
    assert summary["strategy"] == "fairest"
    assert summary["created"] == 1 and summary["cancelled"] == 0
    assert "changes" not in summary["metrics"]


def test_change_notice_tells_the_reason_in_each_volunteers_language(clock, outbox):
    roster, nights, (wang, _li, _zhao) = _nights(first_day=dt.date(2027, 3, 22))
    services.roster_publish(roster=roster, now=clock.now)
    sent = len(outbox)
    _time_off(wang, nights[3])
    clock.advance(hours=1)

    roster_build(roster=roster, rebuild=True, time_limit=2, now=clock.now)
    assert len(outbox) == sent  # staged: nobody hears before the publish
    services.roster_publish(roster=roster, now=clock.now)

    news = {m["to"]: m["body"] for m in list(outbox)[sent:]}
    assert "Cancelled: Thu 2027-03-25 20:00–08:00" in news[wang.phone_number]
    assert "— Wang Fang has time off at Thu 03-25 20:00" in news[wang.phone_number]
    cover = Assignment.objects.get(shift=nights[3], status=Assignment.Status.ACTIVE).volunteer
    assert set(news) == {wang.phone_number, cover.phone_number}
    # Li Lei and Zhao Min read Chinese.
    assert "——因Wang Fang请假顶班" in news[cover.phone_number]


def test_a_hand_made_change_drops_the_builders_reason():
    roster, nights, (wang, _li, _zhao) = _nights()
    _time_off(wang, nights[3])
    roster_build(roster=roster, rebuild=True, time_limit=2, now=BEFORE)
    cover = Assignment.objects.get(shift=nights[3], status=Assignment.Status.ACTIVE)
    assert cover.change_reason
    cover = services.assignment_update(assignment=cover, locked=True)
    assert cover.change_reason == {}


# --- options ---------------------------------------------------------------------------


def test_options_save_nothing_and_the_chosen_one_is_saved_with_its_reasons():
    roster, nights, (wang, _li, _zhao) = _nights()
    _time_off(wang, nights[3])
    before = _active(roster)

    result = roster_options(roster=roster, time_limit=3, now=BEFORE)

    assert _active(roster) == before  # nothing saved
    keys = [o["key"] for o in result["options"]]
    assert keys[0] == "fewest_changes"
    assert len(set(keys)) == len(keys)
    fewest = result["options"][0]
    assert fewest["summary"]["changes"] == 2
    assert fewest["summary"]["seats_filled"] == fewest["summary"]["seats_total"] == 7
    rows = {row["volunteer"]: row for row in fewest["diff"]}
    assert [e["reason_code"] for e in rows[wang.pk]["removed"]] == ["time_off"]
    assert len(result["options"]) + len(result["notes"]) >= 3 or keys == ["no_change"]

    run = AutofillRun.objects.create(
        roster=roster, mode="rebuild", status=AutofillRun.Status.DONE, result=result
    )
    applied = option_apply(run=run, key="fewest_changes")

    assert (applied["created"], applied["cancelled"], applied["refused"]) == (1, 1, [])
    assert len(before ^ _active(roster)) == 2
    gone = Assignment.objects.get(shift=nights[3], volunteer=wang)
    assert gone.change_reason["reason_code"] == "time_off"
    # Applied once, the roster changed: the same options are stale now.
    with pytest.raises(OptionStale):
        option_apply(run=run, key="fewest_changes")


def test_option_apply_refuses_unknown_keys_and_runs_without_options():
    roster, nights, (wang, _li, _zhao) = _nights()
    _time_off(wang, nights[3])
    result = roster_options(roster=roster, time_limit=2, now=BEFORE)
    run = AutofillRun.objects.create(roster=roster, status="done", result=result)
    with pytest.raises(BuildRefused, match="No option"):
        option_apply(run=run, key="cheapest")
    plain = AutofillRun.objects.create(roster=roster, status="done", result={"created": 0})
    with pytest.raises(BuildRefused, match="no options"):
        option_apply(run=plain, key="fewest_changes")
    # Someone edits the roster meanwhile: refused, nothing written.
    Assignment.objects.filter(shift=nights[0]).update(role="family_educator")
    before = _active(roster)
    with pytest.raises(OptionStale):
        option_apply(run=run, key=result["options"][0]["key"])
    assert _active(roster) == before


def test_options_on_a_roster_with_nothing_to_change():
    roster, _nights_, _people = _nights()
    result = roster_options(roster=roster, time_limit=2, now=BEFORE)
    assert [o["key"] for o in result["options"]] == ["no_change"]
    assert [n["code"] for n in result["notes"]] == ["no_change_needed"]
    with translation.override("en"):
        assert builder.option_notes(result["notes"])[0].startswith("Nothing needs to change")


def test_an_options_run_records_its_options_and_saves_nothing():
    roster, nights, (wang, _li, _zhao) = _nights()
    _time_off(wang, nights[3])
    before = _active(roster)
    run = autofill_start(roster=roster, mode="rebuild", options=True, time_limit=2, enqueue=False)

    run = autofill_execute(run_id=run.pk)

    assert run.status == AutofillRun.Status.DONE
    assert run.result["options"] and run.result["fingerprint"]
    assert run.result["request"]["options"] is True
    assert _active(roster) == before
    with pytest.raises(BuildRefused):
        autofill_start(roster=roster, mode="fill", options=True, enqueue=False)


# --- several hotlines --------------------------------------------------------------------


def _province(days=3):
    """Two city lines, the same days, shifts overlapping (08–14 and 09–15); three
    counsellors shared, two shifts a week each at most."""
    first, second = f.hotline(name="Wuhan"), f.hotline(name="Huangshi", min_rest_hours=8)
    rosters = [f.roster(hotline_=first), f.roster(hotline_=second)]
    for roster, hour in zip(rosters, (8, 9), strict=True):
        f.daily_shifts(
            roster_=roster,
            days=days,
            hour=hour,
            required_counsellors=1,
            crisis_trained_required=0,
            required_family_educators=0,
        )
    people = [
        f.volunteer(display_name=name, max_shifts_per_week=2) for name in ("Ann", "Bo", "Cai")
    ]
    return rosters, people


def test_rosters_of_several_hotlines_share_one_pool_under_every_rule():
    rosters, people = _province()

    summaries = rosters_build(rosters=rosters, time_limit=2, now=BEFORE)

    assert set(summaries) == {r.pk for r in rosters}
    for roster in rosters:
        s = summaries[roster.pk]
        assert s["refused"] == [] and s["unfilled"] == []
        assert s["coverage"]["seats_missing"] == 0
        assert s["group"] == [r.pk for r in rosters]
    assert set(summaries[rosters[0].pk]["metrics"]["by_hotline"]) == {
        str(r.hotline_id) for r in rosters
    }
    saved = Assignment.objects.filter(shift__roster__in=rosters).select_related(
        "shift__roster__hotline", "volunteer"
    )
    assert saved.count() == 6
    for a in saved:
        assert check_assignment(shift=a.shift, volunteer=a.volunteer, role=a.role, ignore=a) == []
    # The weekly limit counts both hotlines: six seats, two each.
    assert sorted(saved.values_list("volunteer", flat=True)) == sorted(
        [p.pk for p in people for _ in range(2)]
    )


def test_rosters_built_together_must_share_a_period_and_differ_in_hotline():
    rosters, _people = _province()
    other = f.roster(hotline_=f.hotline(), first_day=dt.date(2026, 3, 9))
    with pytest.raises(BuildRefused, match="same period"):
        rosters_build(rosters=[rosters[0], other])
    twin = f.roster(hotline_=rosters[0].hotline)
    with pytest.raises(BuildRefused, match="different hotlines"):
        rosters_build(rosters=[rosters[0], twin])
    far = f.roster(hotline_=f.hotline(time_zone="Europe/London"))
    with pytest.raises(BuildRefused, match="time zone"):
        rosters_build(rosters=[rosters[0], far])


def test_a_group_run_builds_every_roster_and_records_each_result():
    rosters, _people = _province()
    runs = autofill_start_group(rosters=rosters, time_limit=2, enqueue=False)
    assert [r.status for r in runs] == ["queued", "queued"]

    autofill_execute(run_id=runs[0].pk)

    for run in runs:
        run.refresh_from_db()
        assert run.status == AutofillRun.Status.DONE
        assert run.result["coverage"]["seats_missing"] == 0
        assert run.result["request"]["group"] == [r.pk for r in runs]
    # A second delivery of the task changes nothing.
    assert autofill_execute(run_id=runs[0].pk).status == AutofillRun.Status.DONE


def test_a_group_is_refused_whole_when_one_roster_is_busy():
    rosters, _people = _province()
    busy = autofill_start(roster=rosters[1], enqueue=False)
    with pytest.raises(AutofillBusy) as caught:
        autofill_start_group(rosters=rosters, enqueue=False)
    assert caught.value.run == busy
    assert not AutofillRun.objects.filter(roster=rosters[0]).exists()
