"""Keys: the first encrypts, all decrypt; `rotate_encryption_key` moves every stored value
to the first key in batches; a missing or malformed key is refused."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from hotline import checks, crypto
from hotline.calls.services import callback_request_create
from hotline.crisis.reports import report_create
from hotline.models import AuditLog, CallbackRequest, CallReport
from scheduling.feeds import tokens
from tests.support.crisis import answered_call
from tests.support.twilio import NOW

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def stored(model, field: str) -> list[str]:
    """The raw column values, as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {field} FROM {model._meta.db_table} ORDER BY id"  # noqa: S608
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def old_key_rows(scene, settings):
    """Five reports and their callbacks, and a feed token, written under OLD."""
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    counsellor = scene.on_shift("counsellor")
    for n in range(5):
        call = answered_call(scene.hotline, counsellor, at=NOW)
        report_create(
            call=call,
            by=counsellor.user,
            data={
                "category": "psychological",
                "caller_group": "parent",
                "summary": f"summary {n}",
                "risk_level": 1,
                "referral": "" if n == 0 else f"referral {n}",
            },
            now=NOW,
        )
        callback_request_create(call=call, number=f"+861391234567{n}", now=NOW)
    feed = tokens.calendar_token_get(user=counsellor.user)
    return {"feed": feed.token}


def test_first_key_encrypts_every_key_decrypts(settings, db):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt("words")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert crypto.decrypt(token) == "words" and not crypto.is_current(token)
    fresh = crypto.encrypt("words")
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert crypto.decrypt(fresh) == "words"
    with pytest.raises(InvalidToken):
        crypto.decrypt(token)


def test_rotation_moves_every_value_to_the_first_key(old_key_rows, settings, client):
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    out = StringIO()
    call_command("rotate_encryption_key", "--batch", "2", stdout=out)
    text = out.getvalue()
    # batches of two: progress lines as it goes, then a line per field
    assert "  … hotline.CallReport.summary: 2 read, 2 re-encrypted" in text
    assert "  … hotline.CallReport.summary: 4 read, 4 re-encrypted" in text
    assert "hotline.CallReport.summary: 5 re-encrypted, 0 already current" in text
    assert "hotline.CallReport.referral: 4 re-encrypted" in text  # the empty one is skipped
    assert "hotline.CallbackRequest.number: 5 re-encrypted" in text
    assert "scheduling.CalendarToken.token: 1 re-encrypted" in text
    assert "Done: 15 values re-encrypted." in text
    # the old key can go now: everything reads with the new one alone
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert sorted(CallReport.objects.values_list("summary", flat=True)) == [
        f"summary {n}" for n in range(5)
    ]
    assert {c.number for c in CallbackRequest.objects.all()} == {
        f"+861391234567{n}" for n in range(5)
    }
    for value in stored(CallReport, "summary") + stored(CallbackRequest, "number"):
        assert crypto.is_current(value)
    # the feed URL handed out before the rotation still works (found by its hash)
    assert client.get(f"/calendar/{old_key_rows['feed']}.ics").status_code == 200
    entry = AuditLog.objects.get(action="encryption.rotate")
    assert entry.detail == {"keys": 2, "rewritten": 15, "unreadable": 0}


def test_rotation_again_changes_nothing(old_key_rows, settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    call_command("rotate_encryption_key", stdout=StringIO())
    before = stored(CallReport, "summary")
    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "hotline.CallReport.summary: 0 re-encrypted, 5 already current" in out.getvalue()
    assert stored(CallReport, "summary") == before


def test_rotation_refuses_to_finish_while_a_value_is_unreadable(old_key_rows, settings):
    # the operator dropped OLD before rotating: nothing reads these rows
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    before = stored(CallReport, "summary")
    out = StringIO()
    with pytest.raises(CommandError, match="could not be decrypted with any configured key"):
        call_command("rotate_encryption_key", stdout=out)
    assert "hotline.CallReport.summary: 0 re-encrypted, 0 already current, 5 UNREADABLE" in (
        out.getvalue()
    )
    assert stored(CallReport, "summary") == before  # left as they were, for the right key


def test_rotation_encrypts_values_stored_before_encryption(old_key_rows, settings):
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {CallReport._meta.db_table} SET referral = %s",  # noqa: S608
            ["plain text left over"],
        )
    call_command("rotate_encryption_key", stdout=StringIO())
    assert all(crypto.looks_encrypted(v) for v in stored(CallReport, "referral"))
    assert set(CallReport.objects.values_list("referral", flat=True)) == {"plain text left over"}


def test_rotation_keeps_a_change_made_while_it_ran(old_key_rows, settings, monkeypatch):
    """The UPDATE is conditional on the value read: a note the app rewrote meanwhile stays."""
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    report = CallReport.objects.order_by("id").first()
    real = crypto.rotate_if_needed

    def rotate_while_app_writes(value):
        if value == stored(CallReport, "summary")[0]:
            CallReport.objects.filter(pk=report.pk).update(summary="written meanwhile")
        return real(value)

    monkeypatch.setattr(crypto, "rotate_if_needed", rotate_while_app_writes)
    crypto.rotate_all()
    assert CallReport.objects.get(pk=report.pk).summary == "written meanwhile"


def test_check_reports_missing_and_malformed_keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    assert [e.id for e in checks.encryption_keys_check(None)] == ["hotline.E001"]
    settings.FIELD_ENCRYPTION_KEYS = [NEW, "not-a-key"]
    assert [e.id for e in checks.encryption_keys_check(None)] == ["hotline.E002"]
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert checks.encryption_keys_check(None) == []


def test_command_refuses_without_keys(settings, db):
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(CommandError, match="FIELD_ENCRYPTION_KEYS is empty"):
        call_command("rotate_encryption_key", stdout=StringIO())


def test_keyed_hash_depends_on_purpose_and_secret(settings):
    a = crypto.keyed_hash("token", purpose="calendar-feed-token")
    assert a != crypto.keyed_hash("token", purpose="other")
    settings.CALLER_HASH_SECRET = "another secret"
    assert a != crypto.keyed_hash("token", purpose="calendar-feed-token")
