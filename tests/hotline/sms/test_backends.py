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
