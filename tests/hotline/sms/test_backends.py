import logging

import pytest

from hotline.models import Message
from hotline.sms import backends


@pytest.mark.django_db
def test_the_console_backend_shows_each_sms_once(capsys, caplog):
    message = Message.objects.create(to="+8613900139000", body="您明天 08:00 有班次")
    with caplog.at_level(logging.INFO, logger="hotline.sms.backends"):
        sid = backends._send_console(message)
    assert sid == f"console-{message.pk}"
    assert [r.getMessage() for r in caplog.records] == [
        "SMS to +8613900139000: 您明天 08:00 有班次"
    ]
    assert capsys.readouterr().out == ""  # not printed as well as logged


@pytest.mark.django_db
def test_a_messaging_service_sid_as_sender_is_kept_whole(settings):
    """TWILIO_SMS_FROM may be a Messaging Service SID (34 characters): every message is
    queued with it (before, PostgreSQL refused the row, so no SMS could be queued at all)."""
    from hotline.sms.outbox import sms_send

    settings.TWILIO_SMS_FROM = "MG" + "0123456789abcdef" * 2
    message = sms_send(to="+8613900139000", body="您明天 08:00 有班次", dedupe_key="k")
    message.refresh_from_db()
    assert message.from_number == "MG" + "0123456789abcdef" * 2
