"""The console SMS backend (no Twilio credentials): each SMS shows once."""


def test_console_sms_is_printed_once(capsys, caplog):
    from hotline.models import Message
    from hotline.sms.backends import _send_console

    message = Message(pk=7, to="+8613800000001", body="hello")
    with caplog.at_level("DEBUG"):
        _send_console(message)
    printed = capsys.readouterr().out
    assert printed.count("hello") == 1
    assert not [r for r in caplog.records if "hello" in r.getMessage()]
