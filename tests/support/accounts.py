"""Sign-in helpers: authenticator codes as a phone would show them, a confirmed device."""

import time

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from hotline.accounts import twofactor


def otp_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the authenticator app shows now (or this many 30 s steps later: a code
    once accepted is refused again, so a second sign-in in one test uses the next one)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def authenticator(user) -> tuple[TOTPDevice, list[str]]:
    """A confirmed authenticator and its recovery codes, as after the set-up page."""
    device = twofactor.authenticator_pending(user=user)
    codes = twofactor.authenticator_confirm(device=device, code=otp_code(device))
    assert codes is not None
    device.refresh_from_db()
    return device, codes
