"""Recurring background work, as django-q2 schedules.

Each entry is (name, dotted function, minutes between runs). Functions are the thin entry
points of hotline/tasks.py and scheduling/tasks.py (and config/sqlite.py), never a service
directly, so services can move without touching stored schedules. `ensure_schedules` runs after
every `migrate` and makes the database match this list, so a new deployment and an upgrade
both get the schedules without a manual step. Add an entry here for new recurring work;
remove one here and the next `migrate` deletes it.
"""

SCHEDULES: list[tuple[str, str, int]] = [
    ("sms-outbox-flush", "hotline.tasks.sms_outbox_flush", 1),
    ("calls-sweep", "hotline.tasks.calls_sweep", 1),
    ("shift-reminders", "scheduling.tasks.reminders_send_due", 5),
    ("drop-asks", "scheduling.tasks.drops_ask_due", 5),
    ("roster-change-notices", "scheduling.tasks.roster_changes_notify", 5),
    ("escalations-advance", "hotline.tasks.escalations_advance", 1),
    ("follow-ups-overdue", "hotline.tasks.follow_ups_overdue", 5),
    ("resources-unverified", "hotline.tasks.resources_unverified", 24 * 60),
    ("retention-purge", "hotline.tasks.retention_purge", 24 * 60),
    ("login-records-purge", "hotline.tasks.login_records_purge", 24 * 60),
    ("sqlite-checkpoint", "config.sqlite.wal_checkpoint_task", 1),
    ("webhook-inbox", "hotline.tasks.webhook_inbox_replay", 1),
    ("activity-reports", "hotline.tasks.activity_reports_monthly", 24 * 60),
]


# A schedule calling into these packages is ours: one no longer listed above is deleted, so a
# renamed or retired entry never keeps running next to its replacement. Schedules an
# operator adds for other code are left alone.
OUR_PACKAGES = ("hotline.", "scheduling.", "config.", "api.")


def ensure_schedules(**kwargs) -> None:
    from django.db.models import Q
    from django_q.models import Schedule

    ours = Q()
    for package in OUR_PACKAGES:
        ours |= Q(func__startswith=package)
    Schedule.objects.filter(ours).exclude(name__in=[name for name, _f, _m in SCHEDULES]).delete()
    for name, func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": Schedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )
