"""Queue the shift reminders now due (also run every 5 minutes by the django-q2 schedule)."""

from django.core.management.base import BaseCommand

from scheduling.reminders import reminder_hours, reminders_send_due


class Command(BaseCommand):
    help = "Send the SMS reminders due before published shifts (never twice for one shift)."

    def handle(self, *args, **options):
        queued = reminders_send_due()
        hours = ", ".join(f"{h} h" for h in reminder_hours())
        self.stdout.write(f"{queued} reminder(s) queued (reminders {hours} before each shift).")
