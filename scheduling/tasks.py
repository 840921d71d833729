"""django-q2 tasks of the scheduling app."""

from scheduling.builder import autofill_execute


def autofill_run(run_id: int) -> str:
    """Run one queued auto-fill (state and progress are kept on its AutofillRun row)."""
    return autofill_execute(run_id=run_id).status
