"""The scheduling pages (mounted at the site root, namespace `scheduling`): home, rosters and
their coverage board, a volunteer's own pages, swaps, and the calendar feeds."""

from django.urls import path

from scheduling.feeds import views as feeds
from scheduling.views import board, me, pages, swaps

app_name = "scheduling"

urlpatterns = [
    path("", pages.home, name="home"),
    path("rosters/new/", pages.roster_new, name="roster-new"),
    path("rosters/<int:pk>/", pages.roster_detail, name="roster-detail"),
    # Calendar feeds need no login: the token is the key.
    path("calendar/<str:token>.ics", feeds.volunteer_calendar, name="calendar-feed"),
    path("calendar/open/<str:token>.ics", feeds.open_slots_calendar, name="calendar-open-feed"),
    # A volunteer's own pages
    path("me/shifts/", me.my_shifts, name="my-shifts"),
    path("me/shifts/<int:pk>/confirm/", me.my_shift_confirm, name="my-shift-confirm"),
    path("me/shifts/<int:pk>/offer/", me.my_shift_offer, name="my-shift-offer"),
    path("me/calendar/rotate/", me.my_calendar_rotate, name="my-calendar-rotate"),
    path("me/reminders/", me.my_reminders, name="my-reminders"),
    path("me/hours/", me.my_hours, name="my-hours"),
    path("me/channels/", me.my_channels, name="my-channels"),
    path("me/availability/", me.my_availability, name="my-availability"),
    # Swaps and drops
    path("swaps/", swaps.swap_list, name="swap-list"),
    path("swaps/<int:pk>/claim/", swaps.swap_claim, name="swap-claim"),
    # The button of a drop ask's WeCom card: a signed, short-lived link for one person.
    path("swaps/take/<str:token>/", swaps.swap_take, name="swap-take"),
    path("swaps/<int:pk>/withdraw/", swaps.swap_withdraw, name="swap-withdraw"),
    path("swaps/<int:pk>/approve/", swaps.swap_approve, name="swap-approve"),
    path("swaps/<int:pk>/reject/", swaps.swap_reject, name="swap-reject"),
    # The coverage board (coordinators)
    path("rosters/<int:pk>/board/", board.board, name="roster-board"),
    path("rosters/<int:pk>/board/assign/", board.assign, name="roster-board-assign"),
    path(
        "rosters/<int:pk>/board/assignments/<int:assignment_id>/remove/",
        board.unassign,
        name="roster-board-unassign",
    ),
    path(
        "rosters/<int:pk>/board/assignments/<int:assignment_id>/lock/",
        board.lock,
        name="roster-board-lock",
    ),
    path(
        "rosters/<int:pk>/board/shifts/<int:shift_id>/edit/",
        board.shift_edit,
        name="roster-board-shift-edit",
    ),
    path("rosters/<int:pk>/board/autofill/", board.autofill, name="roster-board-autofill"),
    path(
        "rosters/<int:pk>/board/autofill/<int:run_id>/status/",
        board.autofill_status,
        name="roster-board-autofill-status",
    ),
    path("rosters/<int:pk>/board/publish/", board.publish, name="roster-board-publish"),
    path("rosters/<int:pk>/board/discard/", board.discard, name="roster-board-discard"),
    path(
        "rosters/<int:pk>/board/autofill/<int:run_id>/choose/",
        board.choose,
        name="roster-board-autofill-choose",
    ),
]
