"""Replay the webhooks kept in the inbox while the database was busy (as the `webhook-inbox`
schedule does every minute): for a web host whose inbox the worker cannot read."""

from django.core.management.base import BaseCommand

from hotline import tasks
from hotline.telephony import inbox


class Command(BaseCommand):
    help = (
        "Replay Twilio webhooks kept in WEBHOOK_INBOX_DIR while the database was busy. "
        "Safe to run at any time, and from several hosts: each entry is claimed once."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"Inbox {inbox.inbox_dir()}: {len(inbox.inbox_pending())} waiting.")
        counts = tasks.webhook_inbox_replay()
        self.stdout.write(
            "Replayed {replayed}, still waiting {waiting} (database busy), "
            "failed {failed} (kept in failed/).".format(**counts)
        )
