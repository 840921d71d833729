"""Request-wide bounds that every view relies on (the database's: hotline/busy.py), and which
answers carry the Content-Security-Policy."""

from __future__ import annotations

from csp.middleware import CSPMiddleware as _CSPMiddleware
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


class CSPMiddleware(_CSPMiddleware):
    """django-csp's Content-Security-Policy, on every answer a browser may render as a
    document (pages, errors, the API, TwiML): not on a calendar file, which calendar apps
    read and browsers download, nor on a 304, which has no body (a cache keeps the headers
    it stored with the full answer). django-csp builds the header before it looks at any
    exemption; a calendar app revalidating its feed every few minutes is most of the
    site's GET traffic, and the header was about a quarter of a 304's CPU (docs/benchmarks.md)."""

    def process_response(self, request, response):
        if response.status_code == 304 or response.get("Content-Type", "").startswith(
            "text/calendar"
        ):
            return response
        return super().process_response(request, response)
