"""API tokens: issued for a lifetime (`API_TOKEN_TTL_HOURS`), revocable, and void after a
password change. The key is shown once; only its digest is stored."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from hotline.models import ApiToken

# A user may hold this many live tokens (one per device or script); the oldest go first.
MAX_TOKENS_PER_USER = 10


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def password_fingerprint(user) -> str:
    """Changes whenever the user's password hash changes (and says nothing about it)."""
    return salted_hmac("hotline.api-token", user.password, algorithm="sha256").hexdigest()


def token_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS)


@dataclasses.dataclass(frozen=True)
class IssuedToken:
    key: str  # the only time the key exists outside the client
    token: ApiToken


@transaction.atomic
def api_token_issue(*, user) -> IssuedToken:
    now = timezone.now()
    key = secrets.token_hex(20)  # 40 characters, as the tokens clients already store
    token = ApiToken.objects.create(
        key_digest=key_digest(key),
        user=user,
        created_at=now,
        expires_at=now + token_lifetime(),
        password_fingerprint=password_fingerprint(user),
    )
    # Keep the table small: this user's dead tokens, and live ones beyond the cap.
    mine = ApiToken.objects.filter(user=user)
    mine.filter(expires_at__lte=now).delete()
    surplus = list(mine.order_by("-created_at", "-id").values_list("pk", flat=True))[
        MAX_TOKENS_PER_USER:
    ]
    if surplus:
        ApiToken.objects.filter(pk__in=surplus).delete()
    return IssuedToken(key=key, token=token)


def api_token_find(*, key: str) -> ApiToken | None:
    """The live token with this key, or None. A token found expired, or issued under a
    password the user no longer has, is deleted on the way."""
    if not key or len(key) > 128:
        return None
    token = ApiToken.objects.select_related("user").filter(key_digest=key_digest(key)).first()
    if token is None:
        return None
    if token.expires_at <= timezone.now() or not constant_time_compare(
        token.password_fingerprint, password_fingerprint(token.user)
    ):
        token.delete()
        return None
    return token


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).delete()


def api_tokens_revoke_for(*, user) -> int:
    count, _deleted = ApiToken.objects.filter(user=user).delete()
    return count


def api_tokens_purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete expired tokens and those issued under a password since changed."""
    now = now or timezone.now()
    count, _deleted = ApiToken.objects.filter(expires_at__lte=now).delete()
    stale = [
        token.pk
        for token in ApiToken.objects.select_related("user").only(
            "pk", "password_fingerprint", "user__password"
        )
        if not constant_time_compare(token.password_fingerprint, password_fingerprint(token.user))
    ]
    if stale:
        count += ApiToken.objects.filter(pk__in=stale).delete()[0]
    return count
