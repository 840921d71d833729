"""A volunteer's week, as she would live it in a browser: sign in, see her shifts, subscribe
to her calendar, declare time off, offer a shift; a colleague takes it."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from hotline.models import Volunteer
from scheduling import swaps
from scheduling.models import Assignment, SwapRequest

PASSWORD = "volunteer-demo"


def _volunteer_with_shifts() -> tuple[Volunteer, Assignment]:
    """The first demo volunteer with an upcoming shift, and that shift."""
    now = timezone.now()
    first = (
        Assignment.objects.filter(
            status=Assignment.Status.ACTIVE,
            shift__starts_at__gt=now + dt.timedelta(days=2),
            volunteer__user__username__startswith="volunteer",
        )
        .select_related("volunteer__user", "shift")
        .order_by("volunteer__user__username", "shift__starts_at")
        .first()
    )
    assert first is not None, "seed_demo rostered nobody"
    return first.volunteer, first


def test_volunteer_sees_shifts_subscribes_and_declares_time_off(page):
    volunteer, assignment = _volunteer_with_shifts()
    page.sign_in(volunteer.user.username, PASSWORD)

    page.open("/me/shifts/")
    page.sees("My shifts", "Upcoming", "Calendar")
    page.sees_text(assignment.shift.roster.hotline.name)
    assert page.find(f"#assignment-{assignment.pk}").is_displayed()
    page.looks_right()

    # The calendar link is shown to copy; a calendar app fetching it gets her shifts.
    feed = page.fetch(page.find("#feed-url").get_attribute("value"))
    assert feed.startswith("BEGIN:VCALENDAR")
    assert assignment.shift.roster.hotline.name in feed.replace("\r\n ", "")

    # Time off over a rostered shift.
    page.open("/me/availability/")
    page.sees("Time off")
    local_start = timezone.localtime(assignment.shift.starts_at, assignment.shift.roster.hotline.tz)
    page.fill(
        "input[name=starts_at]", (local_start - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    )
    page.fill(
        "input[name=ends_at]", (local_start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    )
    page.fill("input[name=reason]", "体检 check-up")
    page.click_text(page.t("Add time off"))
    page.sees_text("体检 check-up")
    # The shift she is rostered on is named as a clash, with a one-tap way out.
    page.sees("Clashes with your shifts")
    assert page.find(f"#conflict-{assignment.pk}").is_displayed()
    page.looks_right()
    offer = next(
        form
        for form in page.find_all(f"#conflict-{assignment.pk} form")
        if form.find_element("css selector", "input[name=kind]").get_attribute("value") == "offer"
    )
    page._click_and_wait(offer.find_element("css selector", "button"))
    assert SwapRequest.objects.filter(assignment=assignment).exists()
    page.looks_right()


def test_volunteer_offers_a_shift_and_a_colleague_takes_it(page):
    volunteer, assignment = _volunteer_with_shifts()
    page.sign_in(volunteer.user.username, PASSWORD)
    page.open("/me/shifts/")
    card = f"#assignment-{assignment.pk}"
    page.select(f"{card} select[name=kind]", "offer")
    page.submit(f"{card} form[action$='/offer/'] button[type=submit]")
    page.sees("Offered for swap")
    page.looks_right()

    swap = SwapRequest.objects.get(assignment=assignment)
    now = timezone.now()
    taker = next(
        v
        for v in Volunteer.objects.filter(is_active=True, user__username__startswith="volunteer")
        .exclude(pk=volunteer.pk)
        .order_by("user__username")
        if any(s.pk == swap.pk for s in swaps.swaps_claimable(v, now=now))
    )

    page.sign_out().sign_in(taker.user.username, PASSWORD)
    page.open("/swaps/")
    page.sees("Shifts you can take")
    page.sees_text(volunteer.display_name)
    page.looks_right()
    page.click_text(page.t("Take this shift"))
    swap.refresh_from_db()
    assert swap.status == SwapRequest.Status.CLAIMED
    assert swap.claimant_id == taker.pk
    # The demo hotline has coordinators approve swaps: she is told it waits for them, not
    # that the shift is already hers.
    page.sees("Thank you. A coordinator will confirm before the shift is yours.")
    page.looks_right()
