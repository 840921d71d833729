"""Swap and drop behaviours a `make mutants` run of scheduling/swaps.py found unpinned
(issue 19): the schedule that expires requests and asks the next wave of a drop, the
coordinators' list of uncovered drops, and the `TAKE` SMS reply. Each test names the
surviving mutant(s) it kills (`scheduling.swaps.x_…`); each was rechecked with
`bin/mutants.py --recheck swaps` (docs/testing.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduling import swaps
from scheduling.models import Assignment, DropAsk, SwapRequest
from tests.support import factories as f
from tests.support.scenes import local, london_hotline, published_roster

pytestmark = pytest.mark.django_db

START = local(2027, 3, 24, 9)


@pytest.fixture
def scene(clock, outbox, settings):
    """A shift with spare seats four days ahead; Amy holds one, Ben and Cai could take it;
    a drop asks one volunteer per wave."""
    settings.DROP_WAVE_SIZE = 1
    settings.DROP_WAVE_MINUTES = 30
    hotline = london_hotline()
    roster = published_roster(hotline)
    giver = f.volunteer(display_name="Amy", language="en")
    taker = f.volunteer(display_name="Ben", language="en")
    cai = f.volunteer(display_name="Cai", language="en")
    shift = f.shift(roster_=roster, starts_at=START, hours=6)
    offered = f.assignment(shift_=shift, volunteer_=giver)
    return {
        "hotline": hotline,
        "roster": roster,
        "giver": giver,
        "taker": taker,
        "cai": cai,
        "shift": shift,
        "offered": offered,
    }


def drop(scene, assignment=None, giver=None):
    return swaps.swap_offer(
        assignment=assignment or scene["offered"], volunteer=giver or scene["giver"], kind="drop"
    )


def asked(swap) -> list[str]:
    return list(
        DropAsk.objects.filter(swap=swap)
        .order_by("id")
        .values_list("volunteer__display_name", flat=True)
    )


def status(swap) -> str:
    return SwapRequest.objects.get(pk=swap.pk).status


# --- the schedule: expiry and the next wave ---------------------------------------------------


def test_the_schedule_run_with_no_time_given_asks_by_the_clock(scene, clock):
    """The schedule calls it with no argument. Kills drops_ask_due 2 (`now and …`: no time
    at all)."""
    swap = drop(scene)
    assert asked(swap) == ["Ben"]
    clock.advance(minutes=31)
    assert swaps.drops_ask_due() == 1
    assert asked(swap) == ["Ben", "Cai"]


def test_a_request_expires_when_its_shift_starts_dated_then(scene, clock):
    """Kills drops_ask_due 4 and 7 (no decision time on the expired request)."""
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    swaps.drops_ask_due(now=START)
    swap.refresh_from_db()
    assert (swap.status, swap.decided_at) == (SwapRequest.Status.EXPIRED, START)


def test_the_expiry_leaves_finished_requests_as_they_were(scene, clock):
    """A withdrawn offer and a swap done stay so once the shift starts. Kills drops_ask_due 10
    (every request of a started shift expired, whatever its state)."""
    scene["hotline"].auto_approve_swaps = True
    scene["hotline"].save()
    withdrawn = swaps.swap_withdraw(
        swap=swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"]),
        volunteer=scene["giver"],
    )
    cai_seat = f.assignment(shift_=scene["shift"], volunteer_=scene["cai"])
    done = swaps.swap_claim(
        swap=swaps.swap_offer(assignment=cai_seat, volunteer=scene["cai"]),
        volunteer=scene["taker"],
    )
    assert status(done) == SwapRequest.Status.DONE
    swaps.drops_ask_due(now=START)
    assert (status(withdrawn), status(done)) == (
        SwapRequest.Status.WITHDRAWN,
        SwapRequest.Status.DONE,
    )


def test_the_next_wave_is_asked_at_exactly_its_time(scene, clock):
    """Kills drops_ask_due 29 (`next_ask_at < now`: the wave due this very minute waits)."""
    swap = drop(scene)
    due = SwapRequest.objects.get(pk=swap.pk).next_ask_at
    assert due == clock.now + dt.timedelta(minutes=30)
    assert swaps.drops_ask_due(now=due) == 1
    assert asked(swap) == ["Ben", "Cai"]


def test_a_wave_another_worker_has_just_asked_is_not_asked_again(scene, clock, monkeypatch):
    """Two schedule runs at once: the other one asks the wave between this run's list of
    due drops and its lock; this run, seeing the next ask in the future, asks nobody. Kills
    drops_ask_due 26 and 27 (the re-check after the lock reduced to "open" or "has a next
    ask": Dan, the next in line, would be asked at once)."""
    f.volunteer(display_name="Dan", language="en")
    swap = drop(scene)
    later = clock.now + dt.timedelta(minutes=31)
    real_lock = swaps._lock

    def other_worker_first(s):
        swaps.drop_ask_wave(swap=real_lock(s), now=later)
        return real_lock(s)

    monkeypatch.setattr(swaps, "_lock", other_worker_first)
    assert swaps.drops_ask_due(now=later) == 0
    assert asked(swap) == ["Ben", "Cai"]  # the other run's wave, once


def test_the_schedule_counts_everyone_it_asked(scene, clock):
    """Two drops due in one run. Kills drops_ask_due 30 (`asked = …`: the last drop's count
    only)."""
    dan = f.volunteer(display_name="Dan", language="en")
    first = drop(scene)
    second = drop(scene, assignment=f.assignment(shift_=scene["shift"], volunteer_=dan), giver=dan)
    clock.advance(minutes=31)
    assert swaps.drops_ask_due(now=clock.now) == 2
    assert len(asked(first)) == len(asked(second)) == 2


def test_a_coordinator_sees_the_uncovered_drops_of_the_hotlines_they_manage(scene, coordinator):
    """Kills drops_uncovered 5 (filtered for nobody: the coordinator's list is empty)."""
    swap = drop(scene)
    now = scene["shift"].starts_at - dt.timedelta(days=1)
    assert list(swaps.drops_uncovered(now=now, by=coordinator)) == [swap]
    assert list(swaps.drops_uncovered(now=now, by=scene["taker"].user)) == []


# --- the TAKE reply -----------------------------------------------------------------------------


def take(volunteer, swap, now=None):
    return swaps.sms_take_reply(from_number=volunteer.phone_number, body=f"TAKE {swap.pk}", now=now)


def test_a_take_reply_is_answered_in_words_and_the_giver_told(scene, outbox):
    """Kills sms_take_reply 41–44 (the reply's wording)."""
    swap = drop(scene)
    assert take(scene["taker"], swap) == "Thanks! A coordinator will confirm."
    assert status(swap) == SwapRequest.Status.CLAIMED


def test_a_take_reply_is_answered_in_the_volunteers_language(scene):
    """Kills sms_take_reply 23 (the reply in the site's language)."""
    scene["taker"].language = "zh-hans"
    scene["taker"].save()
    swap = drop(scene)
    assert take(scene["taker"], swap) == "谢谢！协调员会确认。"


def test_a_take_reply_takes_the_drop_it_names(scene):
    """Ben was asked for three drops and takes the middle one. Kills sms_take_reply 18 (the
    newest or oldest drop he was asked for, whatever the number)."""
    drops = [drop(scene)]
    for day, name in ((26, "Dan"), (27, "Eve")):
        giver = f.volunteer(display_name=name, language="en")
        shift = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, day, 9), hours=6)
        drops.append(
            drop(scene, assignment=f.assignment(shift_=shift, volunteer_=giver), giver=giver)
        )
    assert [asked(d) for d in drops] == [["Ben"]] * 3
    assert take(scene["taker"], drops[1]) == "Thanks! A coordinator will confirm."
    assert [status(d) for d in drops] == [
        SwapRequest.Status.OPEN,
        SwapRequest.Status.CLAIMED,
        SwapRequest.Status.OPEN,
    ]


def test_a_take_reply_from_a_volunteer_since_deactivated_is_ignored(scene):
    """Ben was asked, then left the line: his TAKE gets no answer and changes nothing. Kills
    sms_take_reply 12 (an inactive volunteer's number accepted)."""
    swap = drop(scene)
    scene["taker"].is_active = False
    scene["taker"].save()
    assert take(scene["taker"], swap) is None
    assert status(swap) == SwapRequest.Status.OPEN


def test_a_take_reply_is_dated_when_it_arrived(scene, clock):
    """A reply held in the inbox is handled later with the time it arrived. Kills
    sms_take_reply 32 and 35 (the claim dated by the clock)."""
    swap = drop(scene)
    arrived = clock.now + dt.timedelta(minutes=3)
    take(scene["taker"], swap, now=arrived)
    swap.refresh_from_db()
    assert swap.claimed_at == arrived
    assert Assignment.objects.filter(pk=scene["offered"].pk, status="active").exists()


# --- who is asked for a drop, and in what order ------------------------------------------------


def hours_this_week(scene, volunteer, start, hours, **kw):
    shift = f.shift(roster_=scene["roster"], starts_at=start, hours=hours)
    return f.assignment(shift_=shift, volunteer_=volunteer, **kw)


def candidates(swap) -> list[str]:
    return [v.display_name for v in swaps.drop_candidates(swap)]


def test_fewest_hours_that_week_are_asked_first(scene):
    """Dan works 10 hours early in the week, Eve 2 hours later on: Eve is asked before Dan
    although Dan joined first. Kills drop_candidates 13 (`ends + starts`: ordered by when
    the shifts are, not how long)."""
    dan = f.volunteer(display_name="Dan", language="en")
    eve = f.volunteer(display_name="Eve", language="en")
    hours_this_week(scene, dan, local(2027, 3, 22, 0), 10)
    hours_this_week(scene, eve, local(2027, 3, 23, 9), 2)
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert candidates(swap) == ["Ben", "Cai", "Eve", "Dan"]


def test_only_active_assignments_of_that_local_week_count(scene):
    """Dan's other shifts are a cancelled one this week and those of the weeks before and
    after; Ben's shift late on Sunday 21 March (London) is in the week before, though in
    Shanghai, the server's zone, it is Monday 22 March. Both count as idle and keep their
    order by joining; Cai, with 2 hours this week, comes last. Kills drop_candidates 5 (the
    week in the server's zone), 20, 24, 25, 26, 41 and 44 (hours outside the week or
    cancelled counted)."""
    dan = f.volunteer(display_name="Dan", language="en")
    hours_this_week(scene, dan, local(2027, 3, 23, 9), 8, status=Assignment.Status.CANCELLED)
    hours_this_week(scene, dan, local(2027, 3, 17, 9), 8)
    hours_this_week(scene, dan, local(2027, 3, 30, 9), 8)
    hours_this_week(scene, scene["taker"], local(2027, 3, 21, 20), 2)
    hours_this_week(scene, scene["cai"], local(2027, 3, 26, 9), 2)
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert candidates(swap) == ["Ben", "Dan", "Cai"]


def test_more_than_a_hundred_candidates_are_all_found_in_order(scene):
    """The facts are loaded per hundred volunteers: the first hundred, then the rest, and a
    limit stops inside the first hundred. Kills drop_candidates 59–66 (the full chunk checked
    with a wrong argument, or without the limit)."""
    pool = [f.volunteer(display_name=f"Pool{i:03}") for i in range(101)]
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    everyone = swaps.drop_candidates(swap)
    assert [v.pk for v in everyone] == [scene["taker"].pk, scene["cai"].pk] + [v.pk for v in pool]
    assert [v.pk for v in swaps.drop_candidates(swap, limit=3)] == [
        scene["taker"].pk,
        scene["cai"].pk,
        pool[0].pk,
    ]


def test_a_drop_ask_for_another_channel_names_the_shift_in_the_volunteers_language(scene):
    """The WeCom card or plain SMS is made from the ask's params. Kills _in_language 1 (the
    shift in the site's language)."""
    from django.utils import translation

    from hotline.models import Message
    from scheduling.notify import shift_words

    scene["taker"].language = "zh-hans"
    scene["taker"].save()
    drop(scene)
    message = Message.objects.get(recipient=scene["taker"])
    with translation.override("zh-hans"):
        chinese = shift_words(scene["offered"])
    with translation.override("en"):
        assert shift_words(scene["offered"]) != chinese
    assert message.params["shift"] == chinese


# --- the coordinators' list of uncovered drops ------------------------------------------------


def test_uncovered_drops_are_open_drops_of_shifts_not_started_soonest_first(scene, clock):
    """Not an offer, not a drop someone claimed, not one whose shift has started (before
    the schedule expires it); the soonest shift first. Kills drops_uncovered 13, 22, 23
    and 24."""
    dan, eve, fay = (f.volunteer(display_name=n, language="en") for n in ("Dan", "Eve", "Fay"))
    later = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 26, 9), hours=6)
    sooner = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 23, 9), hours=6)
    started = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 24, 8), hours=6)
    on_later = drop(scene, assignment=f.assignment(shift_=later, volunteer_=dan), giver=dan)
    on_sooner = drop(scene, assignment=f.assignment(shift_=sooner, volunteer_=eve), giver=eve)
    on_started = drop(scene, assignment=f.assignment(shift_=started, volunteer_=fay), giver=fay)
    claimed = drop(scene)
    swaps.swap_claim(swap=claimed, volunteer=scene["cai"])
    swaps.swap_offer(
        assignment=f.assignment(shift_=later, volunteer_=scene["cai"]), volunteer=scene["cai"]
    )
    now = local(2027, 3, 24, 8, 30)
    assert list(swaps.drops_uncovered(now=now)) == [on_later]
    assert list(swaps.drops_uncovered(now=clock.now)) == [on_sooner, on_started, on_later]


def test_the_uncovered_drops_on_the_swaps_page_cost_the_same_queries_for_one_or_four(
    scene, coordinator, client
):
    """Each uncovered drop shows its shift, hotline and giver. Kills drops_uncovered 17 and
    18 (a query per drop for its hotline or its giver)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(reverse("scheduling:swap-list")).content.decode()
        return len(ctx.captured_queries), page.count("London Line")

    client.force_login(coordinator)
    drop(scene)
    queries()  # the first request of a session reads more (the session, the user's groups)
    one, shown = queries()
    for i in range(3):
        giver = f.volunteer(display_name=f"Giver{i}", language="en")
        shift = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 29, 9 + i), hours=1)
        drop(scene, assignment=f.assignment(shift_=shift, volunteer_=giver), giver=giver)
    four, shown_four = queries()
    assert shown_four == shown + 3
    assert four == one


# --- carrying a swap out, and what each side reads -------------------------------------------


def bodies_to(outbox, volunteer) -> list[str]:
    return [m["body"] for m in outbox if m["to"] == volunteer.phone_number]


def test_an_approval_is_judged_dated_and_told_at_its_own_time(scene, coordinator, outbox):
    """Approved 21 hours before the shift (inside the freeze window, while the clock still
    reads four days before): at once, by and at whom and when, and both told in words.
    Kills _execute 8, 10, 16, 20, 29, 37 (the clock's time instead of the approval's),
    25, 33 (the new seat created by nobody), 40, 41, 43, 49, 50, 52 (who decided, when)
    and 80, 81, 97 (the SMS's words)."""
    from scheduling.notify import shift_words

    swap = swaps.swap_claim(
        swap=swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"]),
        volunteer=scene["taker"],
    )
    at = local(2027, 3, 23, 12)
    swap = swaps.swap_approve(swap=swap, by=coordinator, now=at)
    swap.refresh_from_db()
    old = Assignment.objects.get(pk=scene["offered"].pk)
    new = swap.new_assignment
    assert old.status == Assignment.Status.CANCELLED
    assert new.status == Assignment.Status.ACTIVE and new.created_by == coordinator
    assert (swap.decided_by, swap.decided_at, swap.auto_approved) == (coordinator, at, False)
    words = shift_words(new)
    assert bodies_to(outbox, scene["giver"])[-1] == (
        f"Swap done: Ben takes your shift {words}. It is no longer yours."
    )
    assert bodies_to(outbox, scene["taker"]) == [
        f"Swap done: the shift {words} is now yours. Thank you!"
    ]


def test_swap_sms_are_in_each_volunteers_language(scene, outbox):
    """Kills _sms 1 (every SMS in the site's language)."""
    scene["hotline"].auto_approve_swaps = True
    scene["hotline"].save()
    scene["taker"].language = "zh-hans"
    scene["taker"].save()
    swaps.swap_claim(
        swap=swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"]),
        volunteer=scene["taker"],
    )
    (taker_sms,) = bodies_to(outbox, scene["taker"])
    assert (
        not taker_sms.startswith("Swap done")
        and "Swap done" in bodies_to(outbox, scene["giver"])[-1]
    )


def test_a_started_shift_is_refused_in_words(scene, clock):
    """Kills _check_not_started 3 and 7 (the refusal's words)."""
    from scheduling.rules import RuleViolation

    clock.set(START)
    with pytest.raises(RuleViolation) as exc:
        swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert exc.value.message == (
        "This shift has already started; it can no longer be swapped or dropped."
    )


def test_a_drop_ask_in_words_with_its_link(scene, outbox):
    """Kills drop_ask_wave 46 (the ask's words), 70 and 71 (the link's param renamed)."""
    from hotline.models import Message
    from scheduling.notify import shift_words

    swap = drop(scene)
    (ask,) = bodies_to(outbox, scene["taker"])
    link = Message.objects.get(recipient=scene["taker"]).params["link"]
    assert link.endswith("/swaps/")
    assert ask == (
        f"Can you take a hotline shift? {shift_words(scene['offered'])}. Reply TAKE {swap.pk},"
        f" or open {link}"
    )


def test_open_offers_a_volunteer_may_take_soonest_first_and_none_started(scene, clock):
    """Kills swaps_claimable 5 (by id, not by when) and 20 (an offer on a started shift
    still listed before the schedule expires it)."""
    dan, eve = (f.volunteer(display_name=n, language="en") for n in ("Dan", "Eve"))
    later = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 26, 9), hours=6)
    on_later = swaps.swap_offer(
        assignment=f.assignment(shift_=later, volunteer_=dan), volunteer=dan
    )
    sooner = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 22, 9), hours=6)
    on_sooner = swaps.swap_offer(
        assignment=f.assignment(shift_=sooner, volunteer_=eve), volunteer=eve
    )
    assert swaps.swaps_claimable(scene["taker"], now=clock.now) == [on_sooner, on_later]
    assert swaps.swaps_claimable(scene["taker"], now=local(2027, 3, 22, 9)) == [on_later]


def test_an_offer_whose_seat_a_coordinator_cancelled_is_no_longer_offered(scene, clock):
    """Kills swaps_claimable 18 (the offer of a cancelled seat still listed)."""
    from scheduling import services

    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert swaps.swaps_claimable(scene["taker"], now=clock.now) == [swap]
    services.assignment_cancel(assignment=scene["offered"], immediate=True)
    assert swaps.swaps_claimable(scene["taker"], now=clock.now) == []


def test_a_seat_the_coordinator_locked_stays_locked_with_its_new_holder(scene, coordinator):
    """A locked seat is kept out of the automatic builder's changes; a swap hands it over
    locked. Kills _execute 35 (the new seat unlocked)."""
    Assignment.objects.filter(pk=scene["offered"].pk).update(locked=True)
    swap = swaps.swap_claim(
        swap=swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"]),
        volunteer=scene["taker"],
    )
    swap = swaps.swap_approve(swap=swap, by=coordinator, now=local(2027, 3, 23, 12))
    assert swap.new_assignment.locked is True


# --- the decorated services (offer, withdraw, claim, approve, reject) --------------------------
# mutated since bin/mutants.py writes `@transaction.atomic` as a `with` block in its copy


def claimed(scene):
    return swaps.swap_claim(
        swap=swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"]),
        volunteer=scene["taker"],
    )


def refusal(call) -> tuple[str, str]:
    from scheduling.rules import RuleViolation

    with pytest.raises(RuleViolation) as exc:
        call()
    return exc.value.code, exc.value.message


def test_a_volunteer_cannot_decide_on_a_swap_in_words(scene):
    """What the swaps page shows a volunteer who posts a decision, and the swap still waits.
    Kills swap_approve 6, 10–12 and swap_reject 6–13."""
    swap = claimed(scene)
    cai = scene["cai"].user
    assert refusal(lambda: swaps.swap_approve(swap=swap, by=cai)) == (
        "not_yours",
        "Only coordinators approve swaps.",
    )
    assert refusal(lambda: swaps.swap_reject(swap=swap, by=cai)) == (
        "not_yours",
        "Only coordinators decide on swaps.",
    )
    assert status(swap) == SwapRequest.Status.CLAIMED


def test_a_coordinator_of_another_organisation_cannot_decide_in_words(scene):
    """The London hotline belongs to no organisation; a coordinator of a branch does not
    manage it. Kills swap_approve 20–27 and swap_reject 21–28."""
    branch = f.coordinator_user()
    f.volunteer(user=branch, organisation=f.organisation())
    swap = claimed(scene)
    words = ("not_yours", "This swap is on a hotline you do not manage.")
    assert refusal(lambda: swaps.swap_approve(swap=swap, by=branch)) == words
    assert refusal(lambda: swaps.swap_reject(swap=swap, by=branch)) == words
    assert status(swap) == SwapRequest.Status.CLAIMED


def test_deciding_a_swap_that_is_not_waiting_is_refused_in_words(scene, coordinator):
    """An open offer nobody claimed cannot be approved; a withdrawn one cannot be turned
    down. Kills swap_approve 29–31 and swap_reject 30–37."""
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert refusal(lambda: swaps.swap_approve(swap=swap, by=coordinator)) == (
        "not_open",
        "This swap is not waiting for approval.",
    )
    swaps.swap_withdraw(swap=swap, volunteer=scene["giver"])
    assert refusal(lambda: swaps.swap_reject(swap=swap, by=coordinator)) == (
        "not_open",
        "This swap is no longer open.",
    )
    assert status(swap) == SwapRequest.Status.WITHDRAWN


def test_a_rejection_records_who_when_and_the_reason_cut_to_300(scene, coordinator, clock):
    """No reason given: none recorded; no time given: the clock's. Kills swap_reject 1, 2,
    39, 40 (who and when lost), 3 (the clock instead of the time given), 42 (301
    characters kept)."""
    swap = swaps.swap_reject(swap=claimed(scene), by=coordinator)
    swap = SwapRequest.objects.get(pk=swap.pk)
    assert (swap.status, swap.decided_by, swap.decided_at, swap.reject_reason) == (
        SwapRequest.Status.REJECTED,
        coordinator,
        clock.now,
        "",
    )
    dan = f.volunteer(display_name="Dan", language="en")
    other = f.assignment(shift_=scene["shift"], volunteer_=dan)
    second = swaps.swap_claim(
        swap=swaps.swap_offer(assignment=other, volunteer=dan), volunteer=scene["taker"]
    )
    at = local(2027, 3, 21, 8)
    swaps.swap_reject(swap=second, by=coordinator, reason=" " + "x" * 310 + " ", now=at)
    second = SwapRequest.objects.get(pk=second.pk)
    assert (second.decided_at, second.reject_reason) == (at, "x" * 300)


def test_both_sides_are_told_in_words_that_the_swap_was_turned_down(scene, coordinator, outbox):
    """Kills swap_reject 67, 68 (the SMS's words)."""
    from scheduling.notify import shift_words

    swaps.swap_reject(swap=claimed(scene), by=coordinator)
    told = f"The swap of {shift_words(scene['offered'])} was not approved; it stays with Amy."
    assert bodies_to(outbox, scene["giver"])[-1] == told
    assert bodies_to(outbox, scene["taker"]) == [told]


def test_withdrawing_someone_elses_offer_is_refused_in_words_and_a_withdrawal_is_dated(
    scene, clock
):
    """Twice: the second is refused. Kills swap_withdraw 7, 11–13, 15–22 (the words), 1, 2,
    24 (no date without a time given)."""
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert refusal(lambda: swaps.swap_withdraw(swap=swap, volunteer=scene["taker"])) == (
        "not_yours",
        "You can only withdraw your own offers.",
    )
    swaps.swap_withdraw(swap=swap, volunteer=scene["giver"])
    withdrawn = SwapRequest.objects.get(pk=swap.pk)
    assert (withdrawn.status, withdrawn.decided_at) == (SwapRequest.Status.WITHDRAWN, clock.now)
    assert refusal(lambda: swaps.swap_withdraw(swap=swap, volunteer=scene["giver"])) == (
        "not_open",
        "This offer is no longer open.",
    )


def test_a_claim_that_cannot_be_is_refused_in_words(scene):
    """One's own offer; an offer someone has already claimed. Kills swap_claim 11, 12,
    15–17."""
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert refusal(lambda: swaps.swap_claim(swap=swap, volunteer=scene["giver"])) == (
        "own_offer",
        "You cannot take your own shift.",
    )
    swaps.swap_claim(swap=swap, volunteer=scene["taker"])
    assert refusal(lambda: swaps.swap_claim(swap=swap, volunteer=scene["cai"])) == (
        "not_open",
        "Someone else has already taken this shift, or the offer was withdrawn.",
    )


def test_offering_someone_elses_shift_is_refused_in_words_and_an_offer_has_no_note_unless_given(
    scene, outbox
):
    """And the giver reads who offered to take it. Kills swap_offer 14, 18–20 (the words),
    1 (a note made up) and swap_claim 64 (the claim's SMS)."""
    from scheduling.notify import shift_words

    assert refusal(
        lambda: swaps.swap_offer(assignment=scene["offered"], volunteer=scene["taker"])
    ) == ("not_yours", "You can only offer your own shifts.")
    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert SwapRequest.objects.get(pk=swap.pk).note == ""
    swaps.swap_claim(swap=swap, volunteer=scene["taker"])
    assert bodies_to(outbox, scene["giver"])[-1] == (
        f"Ben offered to take your shift {shift_words(scene['offered'])};"
        " a coordinator will confirm."
    )


def test_an_offer_that_cannot_be_made_is_refused_in_words(scene):
    """A cancelled seat, a draft roster's seat, an unknown kind. Kills swap_offer 22, 23 and
    the other words of those refusals."""
    from scheduling import services

    draft = f.roster(hotline_=scene["hotline"], first_day=dt.date(2027, 4, 12))
    on_draft = f.assignment(
        shift_=f.shift(roster_=draft, starts_at=local(2027, 4, 14, 9), hours=6),
        volunteer_=scene["giver"],
    )
    assert refusal(lambda: swaps.swap_offer(assignment=on_draft, volunteer=scene["giver"])) == (
        "not_published",
        "This roster is not published yet.",
    )
    assert refusal(
        lambda: swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"], kind="x")
    ) == ("invalid", "Unknown kind of request.")
    services.assignment_cancel(assignment=scene["offered"], immediate=True)
    assert refusal(
        lambda: swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    ) == ("not_open", "This assignment has been cancelled.")
    assert not SwapRequest.objects.exists()


# --- from the whole-module run of 30 Nov (docs/testing.md) -------------------------------------


def test_taking_an_offer_whose_seat_was_cancelled_is_refused_in_words(scene):
    """A coordinator cancelled the seat after it was offered. Kills _check_seat_held 3,
    7–9 (the refusal without words, or with other words)."""
    from scheduling import services

    swap = swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    services.assignment_cancel(assignment=scene["offered"], immediate=True)
    assert refusal(lambda: swaps.swap_claim(swap=swap, volunteer=scene["taker"])) == (
        "not_open",
        "This assignment has been cancelled.",
    )


def test_offering_a_shift_twice_is_refused_in_words(scene):
    """Kills swap_offer 72, 76–78 (the refusal without words, or with other words)."""
    swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    assert refusal(
        lambda: swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"], kind="drop")
    ) == ("already_offered", "You have already offered this shift.")
    assert SwapRequest.objects.count() == 1


def test_an_offer_keeps_its_note_trimmed_and_cut_to_300_characters(scene):
    """The note shows on the swaps page and in the API. Kills swap_offer 64 (the note
    dropped) and 67 (cut to 301)."""
    swap = swaps.swap_offer(
        assignment=scene["offered"], volunteer=scene["giver"], note="  " + "n" * 400
    )
    assert SwapRequest.objects.get(pk=swap.pk).note == "n" * 300
    cai_seat = f.assignment(shift_=scene["shift"], volunteer_=scene["cai"])
    swap = swaps.swap_offer(assignment=cai_seat, volunteer=scene["cai"], note=" Dentist \n")
    assert SwapRequest.objects.get(pk=swap.pk).note == "Dentist"


def test_a_volunteer_is_shown_at_most_the_50_soonest_offers(scene, clock):
    """The list a volunteer sees (swaps page, API) stops at 50 offers, the soonest. Kills
    swaps_claimable 1 (51)."""
    dan = f.volunteer(display_name="Dan", language="en")
    offers = [
        swaps.swap_offer(
            assignment=f.assignment(
                shift_=f.shift(
                    roster_=scene["roster"], starts_at=START + dt.timedelta(hours=i), hours=1
                ),
                volunteer_=dan,
            ),
            volunteer=dan,
        )
        for i in range(51)
    ]
    assert swaps.swaps_claimable(scene["taker"], now=clock.now) == offers[:50]


def test_the_shifts_a_volunteer_can_take_cost_one_query_per_offer(scene, client):
    """The swaps page lists each offer's shift, hotline and giver; the volunteer's rule facts
    are read once, and each offer then costs one query (the seats taken). Kills
    swaps_claimable 9, 10 (the hotline or the giver read per offer) and 33, 45, 48 (the
    facts read again for each offer)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(reverse("scheduling:swap-list")).content.decode()
        return len(ctx.captured_queries), page.count("Take this shift")

    swaps.swap_offer(assignment=scene["offered"], volunteer=scene["giver"])
    client.force_login(scene["taker"].user)
    queries()  # the first request of a session reads more (the session, the user's groups)
    one, shown = queries()
    for i in range(3):
        giver = f.volunteer(display_name=f"Giver{i}", language="en")
        shift = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 29, 9 + i), hours=1)
        swaps.swap_offer(assignment=f.assignment(shift_=shift, volunteer_=giver), volunteer=giver)
    four, shown_four = queries()
    assert (shown, shown_four) == (1, 4)
    assert four == one + 3


def test_offers_of_a_role_the_volunteer_does_not_hold_do_not_crowd_the_50_out(scene, clock):
    """The 50 offers examined are of the volunteer's roles: fifty sooner family-educator
    offers leave a counsellor's offer listed for Ben, a counsellor. Kills swaps_claimable 19
    (the role left to the rule layer, after the cap)."""
    fay = f.volunteer(display_name="Fay", language="en", roles=("family_educator",))
    for i in range(50):
        shift = f.shift(roster_=scene["roster"], starts_at=START + dt.timedelta(hours=i), hours=1)
        seat = f.assignment(shift_=shift, volunteer_=fay, role="family_educator")
        swaps.swap_offer(assignment=seat, volunteer=fay)
    later = f.shift(roster_=scene["roster"], starts_at=local(2027, 3, 30, 9), hours=6)
    dan = f.volunteer(display_name="Dan", language="en")
    offer = swaps.swap_offer(assignment=f.assignment(shift_=later, volunteer_=dan), volunteer=dan)
    assert swaps.swaps_claimable(scene["taker"], now=clock.now) == [offer]
