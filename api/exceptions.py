"""Errors as `{"code": ..., "detail": ...}`.

Domain refusals (hotline.conflicts.DomainConflict: a rule, an escalation already taken, an
auto-fill already running…) are mapped here, once, to 409 with their code and their extra
fields; views let them through. A database that stayed busy past DB_LOCK_WAIT_MS answers 503
`busy` with Retry-After, never a 500.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from hotline.busy import busy_message, is_busy
from hotline.conflicts import DomainConflict

log = logging.getLogger(__name__)


def exception_handler(exc, context):
    if is_busy(exc):
        request = context.get("request")
        log.warning("database busy: %s answered 503", getattr(request, "path", "?"))
        return Response(
            {"code": "busy", "detail": busy_message()},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(settings.BUSY_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, DomainConflict):
        set_rollback()
        return Response(
            {
                "code": exc.code,
                "detail": exc.message,
                **exc.details(request=context.get("request")),
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        # Field errors stay keyed by field; a code tells clients what kind of error it is.
        data = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
        response.data = {"code": "invalid", "detail": str(exc.default_detail), "errors": data}
    elif isinstance(response.data, dict) and "detail" in response.data:
        code = getattr(response.data["detail"], "code", None) or getattr(
            exc, "default_code", "error"
        )
        response.data = {"code": code, "detail": str(response.data["detail"])}
    return response
