"""Voicemail, played through us: the audio is fetched from Twilio with our account's
credentials and streamed to a user who may hear it, and every listening is audited. Twilio's
own recording URL is never stored or shown (anyone holding it could open it).

Who may hear a call's voicemail: `hotline.calls.selectors.recordings_visible_to` (the people
who see the callback queue, for the calls they may see). The page (calls:recording) and the
API (`GET /api/v1/calls/{id}/recording/`) both check it, then call `recording_stream`.
"""

from __future__ import annotations

import datetime as dt

from django.http import StreamingHttpResponse

from hotline.crisis.audit import audit_record
from hotline.models import AuditLog, Call
from hotline.telephony import client as telephony
from hotline.telephony.client import MediaResponse, RecordingUnavailable

__all__ = ["RecordingUnavailable", "recording_response", "recording_stream"]

AUDIT_ACTION = "call.recording_play"
# Players fetch a recording in several range requests (and again on replay): one audit row
# per person and call in this window, not one per request.
AUDIT_WINDOW = dt.timedelta(minutes=10)


def recording_stream(*, call: Call, by, via: str, now: dt.datetime, range_header: str = ""):
    """Open `call`'s voicemail for `by` (already checked: recordings_visible_to) and record
    the listening in the audit log. Raises RecordingUnavailable (nothing is audited then:
    nothing was heard)."""
    media = telephony.recording_open(call.recording_sid, range_header=range_header)
    recent = AuditLog.objects.filter(
        action=AUDIT_ACTION,
        object_type=call._meta.model_name,
        object_id=call.pk,
        actor=by,
        at__gt=now - AUDIT_WINDOW,
    ).exists()
    if not recent:
        audit_record(actor=by, action=AUDIT_ACTION, obj=call, at=now, detail={"via": via})
    return media


def recording_response(media: MediaResponse, *, call: Call) -> StreamingHttpResponse:
    """The streamed audio, never cached by anyone (the browser included)."""
    content_type = media.headers.get("Content-Type", "")
    response = StreamingHttpResponse(
        media,  # closed by Django when the response ends, which closes the download
        status=media.status,
        content_type=content_type if content_type.startswith("audio/") else "audio/mpeg",
    )
    for header in ("Content-Length", "Content-Range", "Accept-Ranges"):
        if header in media.headers:
            response[header] = media.headers[header]
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="voicemail-{call.pk}.mp3"'
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
