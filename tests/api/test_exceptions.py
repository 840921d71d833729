"""api/exceptions.py maps every domain refusal (hotline.conflicts.DomainConflict) once, to
409 with its code, its message and its own extra fields; the bodies are an API contract."""

from __future__ import annotations

import pytest
from rest_framework.test import APIRequestFactory

from api.exceptions import exception_handler
from hotline.conflicts import DomainConflict
from hotline.crisis.escalations import EscalationConflict
from hotline.crisis.reports import ReportConflict
from scheduling.builder import AutofillBusy
from scheduling.models import AutofillRun
from scheduling.rules import RuleViolation, Violation
from scheduling.swaps import SwapRefused
from tests.support import factories as f


def _handle(exc):
    request = APIRequestFactory().post("/api/v1/anything/")
    response = exception_handler(exc, {"request": request, "view": None})
    return response.status_code, response.data


@pytest.mark.parametrize(
    "exc", [EscalationConflict("not_open", "Taken."), ReportConflict("report_exists", "Taken.")]
)
def test_conflicts_answer_409_with_code_and_detail(exc):
    assert isinstance(exc, DomainConflict)
    assert _handle(exc) == (409, {"code": exc.code, "detail": "Taken."})


def test_rule_violation_lists_every_violation():
    exc = RuleViolation([Violation("overlap", "Overlaps."), Violation("rest", "No rest.")])
    assert _handle(exc) == (
        409,
        {
            "code": "overlap",
            "detail": "Overlaps.",
            "violations": [
                {"code": "overlap", "detail": "Overlaps."},
                {"code": "rest", "detail": "No rest."},
            ],
        },
    )


def test_swap_refusal_answers_like_a_rule():
    exc = SwapRefused("started", "Started.")
    assert isinstance(exc, RuleViolation)
    assert _handle(exc) == (
        409,
        {
            "code": "started",
            "detail": "Started.",
            "violations": [{"code": "started", "detail": "Started."}],
        },
    )


@pytest.mark.django_db
def test_autofill_busy_carries_the_run_and_its_status_url(settings):
    settings.SITE_URL = ""
    run = AutofillRun.objects.create(roster=f.roster())
    status, body = _handle(AutofillBusy(run))
    assert status == 409
    assert body == {
        "code": "autofill_running",
        "detail": "An auto-fill is already running for this roster.",
        "run": run.pk,
        "status_url": f"http://testserver/api/v1/autofill/{run.pk}/",
    }
    assert _handle(AutofillBusy(None))[1]["run"] is None
