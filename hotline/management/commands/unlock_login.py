"""Lift a sign-in lockout (and, for a lost phone, reset two-factor sign-in)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from hotline.accounts import lockout, twofactor


class Command(BaseCommand):
    help = (
        "Forget the failed sign-ins of an account (USERNAME) and/or a client address "
        "(--ip), so they can sign in again now. With --list, show who is locked out. "
        "With --reset-two-factor, also remove the account's authenticator and recovery "
        "codes: they set two-factor sign-in up again at their next sign-in."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", help="the account to unlock")
        parser.add_argument("--ip", dest="ip_address", help="a client address to unlock")
        parser.add_argument("--list", action="store_true", help="list current lockouts")
        parser.add_argument(
            "--reset-two-factor",
            action="store_true",
            help="also remove USERNAME's two-factor devices (lost phone)",
        )

    def handle(self, *args, username=None, ip_address=None, **options):
        if options["list"]:
            current = lockout.lockouts_current()
            for row in current:
                who = row.username or f"address {row.ip_address}"
                until = timezone.localtime(row.ends_at)
                self.stdout.write(f"{who}: {row.failures} failures, until {until:%H:%M %Z}")
            self.stdout.write(f"{len(current)} locked out.")
            return
        if not username and not ip_address:
            raise CommandError("Name an account (USERNAME) or an address (--ip), or use --list.")
        # An operator at the command line may lift any lockout (by=None).
        count = lockout.login_unlock(by=None, username=username, ip_address=ip_address)
        self.stdout.write(f"Removed {count} failure record(s).")
        if options["reset_two_factor"]:
            if not username:
                raise CommandError("--reset-two-factor needs a USERNAME.")
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No account named {username!r}.")
            twofactor.two_factor_remove(user=user)
            self.stdout.write(f"Two-factor sign-in reset for {username}.")
        self.stdout.write(self.style.SUCCESS("Done: they can sign in again now."))
