"""API tokens: issue (password, plus a one-time code for two-factor accounts) and revoke.

Repeated failures are counted by django-axes in the database, per account and per client
address, together with the login page and the admin (docs/security-logins.md); a locked-out
client gets 429 with `Retry-After` from `hotline.accounts.lockout.lockout_response`.
"""

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import ExpiringTokenAuthentication
from hotline.accounts import tokens, twofactor


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})
    otp_token = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy(
            "For accounts with two-factor sign-in: the 6-digit code from the authenticator "
            "app, or a one-time recovery code."
        ),
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class TokenView(APIView):
    """Exchange a username and password (and, for two-factor accounts, a one-time code)
    for an API token that lasts `API_TOKEN_TTL_HOURS`. Each call issues a new token."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []  # django-axes counts failures across every worker instead

    def get_authenticate_header(self, request):
        # Without authenticators DRF turns "wrong password" into 403; it is a 401.
        return 'Token realm="api"'

    @extend_schema(
        request=CredentialsSerializer,
        responses={
            200: TokenResponseSerializer,
            400: OpenApiResponse(description="A field is missing or malformed."),
            401: OpenApiResponse(description="Wrong username, password or code."),
            403: OpenApiResponse(description="Two-factor sign-in is required but not set up."),
            429: OpenApiResponse(description="Locked out after repeated failures."),
        },
    )
    def post(self, request):
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        data = credentials.validated_data
        # The Django request, so django-axes flags it and AxesMiddleware answers a lockout.
        http_request = request._request
        user = authenticate(
            request=http_request, username=data["username"], password=data["password"]
        )
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(_("Wrong username or password."))
        if twofactor.needs_second_factor(user):
            code = data.get("otp_token", "")
            if not twofactor.has_two_factor(user):
                raise exceptions.PermissionDenied(
                    _("Set up two-factor sign-in on the website first, then ask again.")
                )
            if not code:
                raise exceptions.ValidationError(
                    {
                        "otp_token": [
                            _(
                                "This account signs in with two factors: send the code from "
                                "the authenticator app in otp_token."
                            )
                        ]
                    }
                )
            if twofactor.second_factor_check(user=user, code=code) is None:
                user_login_failed.send(
                    sender=__name__,
                    credentials={"username": user.get_username()},
                    request=http_request,
                )
                raise exceptions.AuthenticationFailed(_("Wrong code."))
        issued = tokens.api_token_issue(user=user)
        return Response({"token": issued.key, "expires_at": issued.token.expires_at})


class TokenRevokeView(APIView):
    """Revoke the token this request presents (sign out an API client)."""

    authentication_classes = [ExpiringTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked."),
            401: OpenApiResponse(description="No valid token presented."),
        },
    )
    def post(self, request):
        tokens.api_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
