"""Two-factor sign-in: one authenticator app (TOTP, django-otp) per user, plus one-time
recovery codes (django-otp's static tokens). Required for the privileged roles when
`OTP_REQUIRED` is on (`hotline.access.two_factor_required`); anyone may turn it on."""

from __future__ import annotations

import base64
import re

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from hotline.access import two_factor_required

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"
# The session remembers that a user who needs no second factor has no device either, so
# their pages cost no device lookup; it names the user, so it never carries over.
NO_DEVICE_SESSION_KEY = "two_factor_no_device_for"

_TOTP_RE = re.compile(r"^\d{6}$")
_RECOVERY_RE = re.compile(r"^[a-z2-7]{8}$")


def normalise_code(raw: str) -> str:
    """What people type: spaces and dashes dropped, recovery codes case-insensitive."""
    return re.sub(r"[\s-]", "", raw or "").lower()


def has_two_factor(user) -> bool:
    return any(True for _device in devices_for_user(user, confirmed=True))


def needs_second_factor(user, *, session=None) -> bool:
    """Must this user confirm a code after their password? Yes if their role requires it,
    or if they turned two-factor sign-in on themselves. With a session, the answer "no
    device" is looked up once per session (`remember_second_factor`)."""
    if two_factor_required(user):
        return True
    if session is None:
        return has_two_factor(user)
    if session.get(NO_DEVICE_SESSION_KEY) == user.pk:
        return False
    return remember_second_factor(session, user)


def remember_second_factor(session, user) -> bool:
    """Look up once per session whether the user has a second factor; True if they do."""
    if has_two_factor(user):
        session.pop(NO_DEVICE_SESSION_KEY, None)
        return True
    session[NO_DEVICE_SESSION_KEY] = user.pk
    return False


def authenticator_pending(*, user) -> TOTPDevice:
    """The authenticator being set up (unconfirmed), made on first visit. Asking again
    shows the same secret, so a reload does not break a half-scanned code."""
    device = (
        TOTPDevice.objects.filter(user=user, confirmed=False, name=AUTHENTICATOR_NAME)
        .order_by("-id")
        .first()
    )
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


@transaction.atomic
def authenticator_confirm(*, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the pending authenticator with a code it shows. Replaces any earlier one and
    returns a fresh set of recovery codes (shown once); None if the code is wrong."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    code = normalise_code(code)
    if device.confirmed or not _TOTP_RE.match(code) or not device.verify_token(code):
        return None
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return recovery_codes_renew(user=device.user)


@transaction.atomic
def recovery_codes_renew(*, user) -> list[str]:
    """A new set of one-time recovery codes; the old set stops working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = []
    while len(codes) < RECOVERY_CODE_COUNT:
        code = StaticToken.random_token()
        if code not in codes:
            codes.append(code)
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(*, user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def second_factor_check(*, user, code: str) -> Device | None:
    """The device that accepts this code (an authenticator code, or a recovery code, which
    is used up), or None. django-otp throttles each device after a wrong code."""
    code = normalise_code(code)
    if _TOTP_RE.match(code):
        model = TOTPDevice
    elif _RECOVERY_RE.match(code):
        model = StaticDevice
    else:
        return None
    with transaction.atomic():
        for device in model.objects.devices_for_user(user, confirmed=True).select_for_update():
            if device.verify_token(code):
                return device
    return None


@transaction.atomic
def two_factor_remove(*, user) -> None:
    """Forget the user's authenticator and recovery codes (a lost phone, or turning it
    off). If their role requires two factors they set it up again at their next sign-in."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def secret_for_display(device: TOTPDevice) -> str:
    """The secret as people type it into an authenticator app: base32 in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(text: str) -> str:
    """An inline SVG QR code, drawn here (no CDN, no image service, no script)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")
