"""The one exception type for domain refusals.

A `DomainConflict` says: the request was understood, but the state of things forbids it (a
rule refused an assignment, an escalation was already acknowledged, an auto-fill is already
running). Each carries a stable `code` and a `message` in the active language. Pages show
the message; api/exceptions.py answers every one of them 409 `{"code", "detail"}` plus the
fields of `details()`. Services raise subclasses named for their domain (`RuleViolation`,
`SwapRefused`, `EscalationConflict`, `ReportConflict`, `AutofillBusy`).

Bad input is a `ValidationError` (400) and a missing right a `PermissionDenied` (403), not
a conflict.
"""

from __future__ import annotations


class DomainConflict(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def details(self, *, request=None) -> dict:
        """Extra fields for the API's 409 body; `request` makes links absolute."""
        return {}
