"""A coordinator at the coverage board: find the roster from the start page, read the week,
auto-fill its gaps, look at a shift, publish."""

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
