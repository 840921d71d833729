"""The monthly activity reports: last month's report for each organisation, built once,
kept for download (ActivityReport) and e-mailed to ACTIVITY_REPORT_EMAILS when set.

Run daily by the `activity-reports` schedule (config/schedules.py → hotline.tasks): a month
already built is skipped, so the first run after a month ends builds it and a missed run is
caught up the next day. A report is saved before it is e-mailed; one whose e-mail failed is
sent again on the next run.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from hotline.models import ActivityReport, Organisation
from hotline.stats import exports, periods
from hotline.stats.periods import Period
from hotline.stats.scope import organisation_hotlines, scope_build
from hotline.stats.selectors import activity_stats

log = logging.getLogger(__name__)


def activity_report_build(
    *, organisation: Organisation, first: dt.date, last: dt.date, now: dt.datetime
) -> ActivityReport | None:
    """Build and keep one organisation's report for [first, last], in the site's language.
    None if it was already built (by this or another worker)."""
    if ActivityReport.objects.filter(
        organisation=organisation, first_day=first, last_day=last
    ).exists():
        return None
    scope = scope_build(organisation_hotlines(organisation), organisation=organisation)
    period = Period(first=first, last=last, tz=scope.tz)
    stats = activity_stats(scope=scope, period=period, now=now)
    with translation.override(settings.LANGUAGE_CODE):
        title = exports.report_title(scope)
        xlsx = exports.activity_xlsx(stats, title=title)
        docx = exports.activity_docx(stats, title=title, scope_label=scope.label)
    try:
        with transaction.atomic():
            return ActivityReport.objects.create(
                organisation=organisation,
                first_day=first,
                last_day=last,
                language=settings.LANGUAGE_CODE,
                figures=stats,
                xlsx=xlsx,
                docx=docx,
                built_at=now,
            )
    except IntegrityError:  # another worker kept the same month first
        return None


def activity_report_email(report: ActivityReport, *, now: dt.datetime) -> bool:
    """Send a kept report to ACTIVITY_REPORT_EMAILS; True once sent (and recorded)."""
    recipients = list(settings.ACTIVITY_REPORT_EMAILS)
    if not recipients:
        return False
    name = f"activity-{report.organisation_id}-{report.first_day:%Y%m}"
    with translation.override(report.language):
        subject = _("Activity report: %(scope)s") % {"scope": report.organisation.name}
        body = "\n".join(exports.narrative(report.figures))
    message = EmailMessage(subject=f"{subject} {report.first_day:%Y-%m}", body=body, to=recipients)
    message.attach(f"{name}.xlsx", bytes(report.xlsx), exports.XLSX_TYPE)
    message.attach(f"{name}.docx", bytes(report.docx), exports.DOCX_TYPE)
    try:
        message.send()
    except Exception:  # kept for download, and sent again on the next run
        log.exception("activity report %s: e-mail failed", report.pk)
        return False
    ActivityReport.objects.filter(pk=report.pk).update(emailed_at=now)
    return True


def monthly_reports_build(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Last month's report for every organisation that has none yet; then e-mail those not
    yet e-mailed (when ACTIVITY_REPORT_EMAILS is set)."""
    now = now or timezone.now()
    first, last = periods.last_month(timezone.localdate(now))
    built = 0
    for organisation in Organisation.objects.order_by("pk"):
        if activity_report_build(organisation=organisation, first=first, last=last, now=now):
            built += 1
    sent = 0
    if settings.ACTIVITY_REPORT_EMAILS:
        pending = ActivityReport.objects.filter(emailed_at__isnull=True).select_related(
            "organisation"
        )
        sent = sum(activity_report_email(report, now=now) for report in pending)
    return {"built": built, "emailed": sent}
