"""Sign-in pages of our own: two-factor set-up and verification, recovery codes, and the
coordinators' list of locked-out sign-ins. The password step is Django's login view."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from hotline.access import can_unlock_login, is_coordinator, two_factor_required
from hotline.accounts import lockout, twofactor
from hotline.accounts.reset import ResetRefused, password_reset_redeem


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autocapitalize": "off",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


class ResetForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    code = forms.CharField(
        label=gettext_lazy("Code from the SMS"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    new_password1 = forms.CharField(
        label=gettext_lazy("New password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=gettext_lazy("New password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password1") != data.get("new_password2"):
            self.add_error("new_password2", _("The two passwords differ."))
        return data


def password_reset(request):
    """Set a new password with the code a coordinator had sent by SMS (no login needed)."""
    form = ResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            password_reset_redeem(
                username=data["username"], code=data["code"], new_password=data["new_password1"]
            )
        except ResetRefused as exc:
            form.add_error("code", exc)
        except forms.ValidationError as exc:  # the password rules
            form.add_error("new_password1", exc)
        else:
            messages.success(request, _("Your new password is set. Sign in with it."))
            return redirect("login")
    return render(request, "registration/password_reset_code.html", {"form": form})


class UnlockForm(forms.Form):
    username = forms.CharField(max_length=150, required=False)
    ip_address = forms.GenericIPAddressField(required=False)


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


def _verified(request, device) -> None:
    """The second factor is in: remember it in the session under a new session key."""
    otp_login(request, device)
    request.session.cycle_key()


@login_required
def two_factor_setup(request):
    """Scan a QR code (or type the secret), confirm with one code, keep the recovery codes."""
    user = request.user
    next_url = _next_url(request)
    if twofactor.has_two_factor(user) and not user.is_verified():
        # Someone holding only the password must not swap in an authenticator of theirs.
        return redirect(_step("accounts:two-factor-verify", next_url))
    device = twofactor.authenticator_pending(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.authenticator_confirm(device=device, code=form.cleaned_data["code"])
        if codes is not None:
            _verified(request, TOTPDevice.objects.get(pk=device.pk))
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "next": next_url, "first_time": True},
            )
        form.add_error(
            "code",
            _("That code did not match. Check the phone's clock and enter the newest code."),
        )
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "next": next_url,
            "qr": twofactor.qr_svg(device.config_url),
            "secret": twofactor.secret_for_display(device),
            "required": two_factor_required(user),
        },
    )


@login_required
def two_factor_verify(request):
    """The second step of signing in: a code from the authenticator, or a recovery code.
    Wrong codes count as failed sign-ins (django-axes), like wrong passwords."""
    user = request.user
    next_url = _next_url(request)
    if user.is_verified():
        return redirect(next_url)
    if not twofactor.has_two_factor(user):
        return redirect(_step("accounts:two-factor-setup", next_url))
    username = user.get_username()
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if lockout.is_locked(request, username=username):
            logout(request)
            return lockout.lockout_response(request, credentials={"username": username})
        if form.is_valid():
            device = twofactor.second_factor_check(user=user, code=form.cleaned_data["code"])
            if device is not None:
                _verified(request, device)
                if isinstance(device, StaticDevice):
                    left = twofactor.recovery_codes_left(user=user)
                    messages.warning(
                        request,
                        ngettext(
                            "You used a recovery code; %(n)d is left. Make new ones on "
                            "the sign-in security page.",
                            "You used a recovery code; %(n)d are left. Make new ones on "
                            "the sign-in security page.",
                            left,
                        )
                        % {"n": left},
                    )
                return redirect(next_url)
            form.add_error("code", _("That code is not right. Try the newest code."))
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
        if getattr(request, "axes_locked_out", False):
            logout(request)  # AxesMiddleware answers with the lockout page
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})


@login_required
def two_factor_home(request):
    """Sign-in security: whether two-factor sign-in is on, recovery codes left."""
    user = request.user
    return render(
        request,
        "accounts/two_factor.html",
        {
            "enabled": twofactor.has_two_factor(user),
            "required": two_factor_required(user),
            "codes_left": twofactor.recovery_codes_left(user=user),
            "can_see_lockouts": is_coordinator(user),
        },
    )


@login_required
@require_POST
def recovery_codes_renew(request):
    user = request.user
    if not twofactor.has_two_factor(user):
        return redirect("accounts:two-factor-setup")
    codes = twofactor.recovery_codes_renew(user=user)
    return render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "next": reverse("accounts:two-factor"), "first_time": False},
    )


@login_required
@require_POST
def two_factor_turn_off(request):
    """Only for those who turned it on themselves; a required second factor stays."""
    user = request.user
    if two_factor_required(user):
        raise PermissionDenied(_("Your role requires two-factor sign-in."))
    form = CodeForm(request.POST)
    if form.is_valid() and twofactor.second_factor_check(user=user, code=form.cleaned_data["code"]):
        twofactor.two_factor_remove(user=user)
        messages.success(request, _("Two-factor sign-in is off."))
    else:
        messages.error(request, _("That code is not right. Try the newest code."))
    return redirect("accounts:two-factor")


@login_required
def lockouts(request):
    """Coordinators and superusers: who is locked out now, and lifting a lockout."""
    user = request.user
    if not is_coordinator(user):
        raise PermissionDenied(_("Only coordinators see locked-out sign-ins."))
    if request.method == "POST":
        form = UnlockForm(request.POST)
        if form.is_valid():
            try:
                lockout.login_unlock(
                    by=user,
                    username=form.cleaned_data["username"] or None,
                    ip_address=form.cleaned_data["ip_address"] or None,
                )
            except lockout.UnlockRefused as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("Unlocked: they can sign in again now."))
        return redirect("accounts:lockouts")
    rows = [
        {
            "lockout": row,
            "can_unlock": can_unlock_login(user, username=row.username, ip_address=row.ip_address),
        }
        for row in lockout.lockouts_current()
    ]
    return render(request, "accounts/lockouts.html", {"rows": rows})


def _step(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"
