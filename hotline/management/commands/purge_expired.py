"""Erase callback numbers, recording references and report notes past their retention."""

from django.core.management.base import BaseCommand

from hotline.crisis.retention import purge_expired, retention_days

LABELS = {
    "callback_numbers": "callback numbers erased",
    "recordings": "recording references erased",
    "report_notes": "report notes erased",
    "addenda": "report addenda erased",
    "escalation_notes": "escalation notes erased",
    "follow_up_numbers": "follow-up numbers erased",
    "follow_up_notes": "follow-up notes erased",
}


class Command(BaseCommand):
    help = (
        "Erase callback numbers, recording references and report notes older than "
        "RETENTION_DAYS_CALLBACK / _RECORDING / _NOTES. Statistical fields are kept."
    )

    def handle(self, *args, **options):
        days = retention_days()
        self.stdout.write(
            "Retention: callback numbers {callback} days, recordings {recording} days, "
            "notes {notes} days.".format(**days)
        )

        def progress(label, done):
            self.stdout.write(f"  … {LABELS.get(label, label)}: {done}")

        result = purge_expired(progress=progress)
        for key, count in result.counts.items():
            self.stdout.write(f"{LABELS.get(key, key)}: {count}")
        self.stdout.write(self.style.SUCCESS(f"Done: {result.total} records erased."))
