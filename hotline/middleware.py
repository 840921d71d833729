"""Request-wide bounds that every view relies on (the database's: hotline/busy.py)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class RequestSizeMiddleware:
    """Refuse a body larger than REQUEST_MAX_BYTES (413) before anything reads it.

    Django bounds form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but neither file uploads (it
    spools them to disk, however large) nor bodies read as a stream (DRF's JSON parser).
    A body always comes with a Content-Length under WSGI (Django reads nothing without
    one), so checking it bounds them all."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BYTES:
            detail = _("The request is larger than %(size)d MB.") % {
                "size": max(1, settings.REQUEST_MAX_BYTES // (1024 * 1024))
            }
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "too_large", "detail": detail}, status=413)
            return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
