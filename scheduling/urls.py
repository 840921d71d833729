from django.urls import path

from scheduling import board_views, feeds, views, volunteer_views

urlpatterns = [
    path("", views.home, name="home"),
    path("rosters/<int:pk>/", views.roster_detail, name="roster-detail"),
    # Volunteers on their own (calendar feeds need no login: the token is the key).
    path("calendar/<str:token>.ics", feeds.volunteer_calendar, name="calendar-feed"),
    path("calendar/open/<str:token>.ics", feeds.open_slots_calendar, name="calendar-open-feed"),
    path("me/shifts/", volunteer_views.my_shifts, name="my-shifts"),
    path("me/shifts/<int:pk>/confirm/", volunteer_views.my_shift_confirm, name="my-shift-confirm"),
    path("me/shifts/<int:pk>/offer/", volunteer_views.my_shift_offer, name="my-shift-offer"),
    path("me/calendar/rotate/", volunteer_views.my_calendar_rotate, name="my-calendar-rotate"),
    path("me/reminders/", volunteer_views.my_reminders, name="my-reminders"),
    path("me/availability/", volunteer_views.my_availability, name="my-availability"),
    path("swaps/", volunteer_views.swap_list, name="swap-list"),
    path("swaps/<int:pk>/claim/", volunteer_views.swap_claim, name="swap-claim"),
    path("swaps/<int:pk>/withdraw/", volunteer_views.swap_withdraw, name="swap-withdraw"),
    path("swaps/<int:pk>/approve/", volunteer_views.swap_approve, name="swap-approve"),
    path("swaps/<int:pk>/reject/", volunteer_views.swap_reject, name="swap-reject"),
    # Coverage board (issue 6)
    path("rosters/<int:pk>/board/", board_views.board, name="roster-board"),
    path("rosters/<int:pk>/board/assign/", board_views.assign, name="roster-board-assign"),
    path(
        "rosters/<int:pk>/board/assignments/<int:assignment_id>/remove/",
        board_views.unassign,
        name="roster-board-unassign",
    ),
    path(
        "rosters/<int:pk>/board/assignments/<int:assignment_id>/lock/",
        board_views.lock,
        name="roster-board-lock",
    ),
    path("rosters/<int:pk>/board/autofill/", board_views.autofill, name="roster-board-autofill"),
    path(
        "rosters/<int:pk>/board/autofill/<int:run_id>/status/",
        board_views.autofill_status,
        name="roster-board-autofill-status",
    ),
    path("rosters/<int:pk>/board/publish/", board_views.publish, name="roster-board-publish"),
]
