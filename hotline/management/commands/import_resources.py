"""Import referral resources from a CSV file (all or nothing), or check it with --dry-run."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from hotline.referrals.services import CSV_COLUMNS, resources_import


class Command(BaseCommand):
    help = (
        "Import referral resources from a UTF-8 CSV with a header row ("
        + ", ".join(CSV_COLUMNS)
        + "). A row matching an existing resource's name, area and category updates it. "
        "Any bad row: nothing is written. --dry-run checks and counts only."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument(
            "--as", dest="username", required=True, help="the coordinator doing the import"
        )

    def handle(self, *args, file, dry_run, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        try:
            result = resources_import(text=text, by=user, dry_run=dry_run, now=timezone.now())
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except PermissionDenied as exc:
            raise CommandError(f"{username}: {exc}") from exc
        for problem in result.errors:
            for field, messages in problem["errors"].items():
                self.stdout.write(f"row {problem['row']}: {field}: {' '.join(messages)}")
        if result.errors:
            raise CommandError(f"{len(result.errors)} bad rows: nothing imported.")
        verb = "would add" if dry_run else "added"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {result.created}, {'would update' if dry_run else 'updated'} {result.updated}."
            )
        )
