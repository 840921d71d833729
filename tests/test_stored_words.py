"""Words the system writes into rows (an escalation's reason, an imported time off's label)
are shown in the reader's language, not in the language of whoever caused the write."""

import datetime as dt

import pytest
from django.utils import translation

from hotline.models import Escalation
from scheduling.models import TimeOff


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Call report at risk level 3."), ("zh-hans", "通话记录风险等级为 3。")],
)
def test_a_report_escalation_gives_its_reason_in_the_readers_language(language, expected):
    # Raised while a Chinese-speaking counsellor saved her report.
    escalation = Escalation(
        source=Escalation.Source.REPORT, risk_level=3, reason="通话记录风险等级为 3。"
    )
    with translation.override(language):
        assert escalation.reason_text == expected


def test_a_reason_someone_typed_stays_as_typed():
    escalation = Escalation(source=Escalation.Source.MANUAL, reason="来电者说今晚很危险")
    with translation.override("en"):
        assert escalation.reason_text == "来电者说今晚很危险"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "busy (imported calendar)"), ("zh-hans", "忙碌（导入的日历）")],
)
def test_imported_time_off_is_labelled_in_the_readers_language(language, expected):
    start = dt.datetime(2027, 3, 2, 8, tzinfo=dt.UTC)
    imported = TimeOff(
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        reason="忙碌（导入的日历）",
        imported=True,
    )
    typed = TimeOff(starts_at=start, ends_at=start + dt.timedelta(hours=2), reason="体检")
    with translation.override(language):
        assert imported.label == expected
        assert typed.label == "体检"
