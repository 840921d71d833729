"""A coordinator at the coverage board: find the roster from the start page, read the week,
auto-fill its gaps, look at a shift, publish; make a new roster, preview auto-fill's three
choices and pick one, publish, stage a removal and publish it."""

from __future__ import annotations

from scheduling.models import Assignment, AutofillRun, Roster

PASSWORD = "coordinator-demo"  # seed_demo's public demo password


def test_coordinator_fills_the_gaps_of_a_week_and_publishes(page):
    roster = Roster.objects.get()
    page.sign_in("coordinator", PASSWORD)
    page.open("/")
    page.sees("Rosters")
    page.looks_right()
    page.click_text(page.t("Coverage board"))
    page.sees("Coverage board", "Auto-fill", "Publish changes")
    page.looks_right()  # the grid scrolls inside its own box; the page does not

    active = Assignment.objects.filter(shift__roster=roster, status=Assignment.Status.ACTIVE)
    before = active.count()
    page.submit("#autofill form button[type=submit]")  # "fill gaps only", the first mode
    run = AutofillRun.objects.get(roster=roster)
    assert run.status == AutofillRun.Status.DONE, run.error if hasattr(run, "error") else run
    assert active.count() >= before  # filling gaps never removes anyone
    page.looks_right()

    # A shift's panel names the people on it, by name.
    cell = page.find("table.board a.cell")
    shift_id = int(cell.get_attribute("href").split("shift=")[1].split("#")[0])
    page.submit("table.board a.cell")
    panel = page.find(f"#shift-{shift_id}").text
    page.sees("On this shift")
    names = [
        a.volunteer.display_name
        for a in active.filter(shift_id=shift_id).select_related("volunteer")
    ]
    assert names, "auto-fill left the week's first shift empty"
    for name in names:
        assert name in panel
    page.looks_right()

    page.submit("form[action$='/board/publish/'] button[type=submit]")
    page.looks_right()


def test_coordinator_makes_next_weeks_roster_publishes_it_and_stages_a_removal(page):
    """New roster from the start page; fill it by previewing the three auto-fill choices and
    picking one; publish; remove a volunteer a week ahead (a pending change nobody sees
    yet); publish the change."""
    hotline = Roster.objects.get().hotline
    page.sign_in("coordinator", PASSWORD)
    page.open("/")
    page.submit("#roster-new")
    page.looks_right()
    page.select("#roster-new-form select[name=hotline]", str(hotline.pk))
    page.fill("#roster-new-form input[name=first_day]", "2027-03-08")
    page.fill("#roster-new-form input[name=last_day]", "2027-03-14")
    with_patterns = page.find("#roster-new-form input[name=with_patterns]")
    if not with_patterns.is_selected():
        with_patterns.click()
    page.snap("roster-new")
    page.submit("#roster-new-form button[type=submit]")
    roster = Roster.objects.get(first_day="2027-03-08")
    assert roster.shifts.exists(), "the hotline's patterns made no shifts"
    assert f"/rosters/{roster.pk}/board/" in page.driver.current_url
    page.looks_right()

    # Fill the draft by previewing the three choices (rebuild, "show me three choices
    # first") and picking one: the coordinator reads each one's numbers before anything
    # is saved. The choices share one run's time limit, the shortest on offer (5 s), so
    # this costs no more than the plain fill it replaces.
    page.find("#autofill input[name=mode][value=rebuild]").click()
    page.find("#autofill-options input[name=options]").click()
    page.select("#autofill select[name=time_limit]", "5")
    page.submit("#autofill form button[type=submit]")
    run = AutofillRun.objects.filter(roster=roster).latest("pk")
    assert run.status == AutofillRun.Status.DONE, run
    assert not Assignment.objects.filter(shift__roster=roster).exists(), "saved before chosen"
    page.sees("Choose one", "Use this one")
    choices = page.find_all("#autofill-choices ul.choices > li")
    offered = [o["key"] for o in run.result["options"]]
    assert 1 <= len(choices) == len(offered) <= 3, page.find("#autofill").text
    if len(offered) < 3:  # the board says why there are fewer choices
        notes = page.find("#autofill-notes").text
        assert notes.strip(), page.find("#autofill").text
    if offered == ["fairest"]:  # a new roster: nothing earlier to keep
        assert (
            page.t("There is no earlier version to keep: only the fairest roster is offered.")
            in notes
        )
    labels = {"fewest_changes": "Fewest changes", "balanced": "Balanced", "fairest": "Fairest"}
    for key, choice in zip(offered, choices, strict=True):
        option = next(o for o in run.result["options"] if o["key"] == key)
        text = choice.text
        if key in labels:
            assert page.t(labels[key]) in text, text
        # The numbers a person compares, as the board words them.
        summary = option["summary"]
        numbers = page.t(
            "%(filled)s seats filled, %(changes)s changes, %(moved)s people moved, "
            "spread %(spread)s h"
        ) % {
            "filled": summary["seats_filled"],
            "changes": summary["changes"],
            "moved": summary["moved_volunteers"],
            "spread": summary["spread_hours"],
        }
        assert numbers in text, text
    page.looks_right()
    page.driver.execute_script("document.getElementById('autofill').scrollIntoView();")
    page.snap("autofill-choices")
    chosen = "balanced" if "balanced" in offered else offered[0]
    chosen_option = next(o for o in run.result["options"] if o["key"] == chosen)
    page.submit(f"#option-{chosen} button[type=submit]")
    made = Assignment.objects.filter(shift__roster=roster, status=Assignment.Status.ACTIVE)
    assert made.count() == len(chosen_option["assignments"]) > 0
    page.sees_text(
        page.t("Option chosen: %(created)d added, %(cancelled)d removed.")
        % {"created": made.count(), "cancelled": 0}
    )
    page.looks_right()

    page.submit("#publish-roster button[type=submit]")
    roster.refresh_from_db()
    assert roster.is_published
    page.sees("Publish changes")
    page.looks_right()

    # Remove someone from the first shift (a week ahead: outside the freeze window).
    first = (
        Assignment.objects.filter(shift__roster=roster, status=Assignment.Status.ACTIVE)
        .select_related("volunteer", "shift")
        .order_by("shift__starts_at", "id")
        .first()
    )
    assert first is not None, "auto-fill filled nothing"
    page.open(f"/rosters/{roster.pk}/board/?week=2027-03-08&shift={first.shift_id}")
    row = f"#assignment-{first.pk}"
    page.find(f"{row} details.confirm summary").click()
    page.submit(f"{row} details.confirm button[type=submit]")
    first.refresh_from_db()
    assert first.status == Assignment.Status.ACTIVE and first.pending_cancel  # nobody sees it yet
    assert first.volunteer.display_name in page.find("#pending-diff").text
    assert page.find_all("#pending-diff li.removed")
    page.looks_right()
    page.driver.execute_script("document.getElementById('pending-changes').scrollIntoView();")
    page.snap("board-pending-changes")

    page.submit("#publish-changes button[type=submit]")
    first.refresh_from_db()
    assert first.status == Assignment.Status.CANCELLED
    assert page.find_all("#pending-none")
    page.looks_right()
