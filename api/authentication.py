"""`Authorization: Token <key>` against our expiring, revocable API tokens."""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from hotline.accounts.tokens import api_token_find


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token header and 401s; the token lookup is `api_token_find` (expiry, password
    change). `request.auth` is the `ApiToken`, so a view can revoke the presented token."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        token = api_token_find(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
