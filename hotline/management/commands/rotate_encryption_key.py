"""Re-encrypt every stored note, callback number and feed token with the first key of
FIELD_ENCRYPTION_KEYS (docs/security-encryption.md, "Rotating the key")."""

from django.core.management.base import BaseCommand, CommandError

from hotline import crypto


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value with the first key of FIELD_ENCRYPTION_KEYS, in "
        "batches. Run it after putting a new key first; remove an old key only once this "
        "reports no unreadable values. Safe to run again, and while the site runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=500, help="rows per transaction")

    def handle(self, *args, batch: int, **options):
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        try:
            crypto.check_keys(crypto.configured_keys())
        except crypto.EncryptionKeyError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Re-encrypting with key 1 of {len(crypto.configured_keys())} (batches of {batch})."
        )

        def progress(label, rewritten, seen):
            self.stdout.write(f"  … {label}: {seen} read, {rewritten} re-encrypted")

        results = crypto.rotate_all(batch=batch, progress=progress)
        failed = 0
        for label, result in results.items():
            line = f"{label}: {result.rewritten} re-encrypted, {result.unchanged} already current"
            if result.failed:
                failed += len(result.failed)
                ids = ", ".join(str(pk) for pk in result.failed[:20])
                line += f", {len(result.failed)} UNREADABLE (ids {ids})"
            self.stdout.write(line)
        rewritten = sum(r.rewritten for r in results.values())
        if failed:
            raise CommandError(
                f"{failed} values could not be decrypted with any configured key: keep the old "
                "keys until they are found (docs/security-encryption.md)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {rewritten} values re-encrypted. Every value now reads with key 1 alone."
            )
        )
