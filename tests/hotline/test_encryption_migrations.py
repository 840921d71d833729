"""The data migrations of the privacy work: notes and callback numbers written before are
encrypted (and decrypted again on the way back), existing feed URLs keep working once their
tokens are hashed, and duplicate phone numbers stop the uniqueness migration with a clear
message. Each test migrates back, writes rows as the old schema did, and migrates forward."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from hotline import crypto
from scheduling.feeds import tokens

pytestmark = pytest.mark.django_db(transaction=True)


def _latest(app: str) -> tuple[str, str]:
    """The app's newest migration (later work adds migrations: never name it here)."""
    from django.db.migrations.loader import MigrationLoader

    leaves = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes(app)
    assert len(leaves) == 1, leaves
    return leaves[0]


HOTLINE_LATEST = _latest("hotline")
SCHEDULING_LATEST = _latest("scheduling")


def migrate(*targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(list(targets))
    return executor.loader.project_state(list(targets)).apps


@pytest.fixture
def back_to_latest():
    yield
    migrate(HOTLINE_LATEST, SCHEDULING_LATEST)


def raw(table: str, column: str) -> list[str]:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {qn(column)} FROM {qn(table)} ORDER BY id")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def _old_rows(apps):
    """A call with a report, an addendum, an escalation and a callback, as 0005 wrote them."""
    User = apps.get_model("auth", "User")
    Hotline = apps.get_model("hotline", "Hotline")
    Volunteer = apps.get_model("hotline", "Volunteer")
    Call = apps.get_model("hotline", "Call")
    user = User.objects.create(username="old-volunteer")
    volunteer = Volunteer.objects.create(
        user=user, display_name="Old", phone_number="+8613800000001"
    )
    hotline = Hotline.objects.create(name="Old line", phone_number="+8637500000001")
    call = Call.objects.create(
        call_sid="CA" + "9" * 32,
        hotline=hotline,
        arrived_at="2026-03-02T02:00:00Z",
        answered_by=volunteer,
        recording_sid="RE" + "9" * 32,
        recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE9",
    )
    report = apps.get_model("hotline", "CallReport").objects.create(
        call=call,
        author=volunteer,
        category="psychological",
        caller_group="parent",
        summary="old summary: caller's son stopped eating",
        risk_level=3,
        referral="old referral",
        created_at="2026-03-02T02:00:00Z",
        updated_at="2026-03-02T02:00:00Z",
    )
    apps.get_model("hotline", "CallReportAddendum").objects.create(
        report=report, author=user, text="old addendum", created_at="2026-03-02T02:00:00Z"
    )
    apps.get_model("hotline", "Escalation").objects.create(
        call=call,
        hotline=hotline,
        source="manual",
        reason="old reason",
        resolution_notes="old resolution",
        code="1234",
        opened_at="2026-03-02T02:00:00Z",
    )
    apps.get_model("hotline", "CallbackRequest").objects.create(
        call=call,
        hotline=hotline,
        number="+8613999990000",
        note="old callback note",
        requested_at="2026-03-02T02:00:00Z",
    )


COLUMNS = {
    ("hotline_callreport", "summary"): "old summary: caller's son stopped eating",
    ("hotline_callreport", "referral"): "old referral",
    ("hotline_callreportaddendum", "text"): "old addendum",
    ("hotline_escalation", "reason"): "old reason",
    ("hotline_escalation", "resolution_notes"): "old resolution",
    ("hotline_callbackrequest", "number"): "+8613999990000",
    ("hotline_callbackrequest", "note"): "old callback note",
}


def test_existing_notes_are_encrypted_and_the_reverse_decrypts_them(back_to_latest):
    apps = migrate(("hotline", "0005_call_partial_indexes"))
    _old_rows(apps)
    for (table, column), plain in COLUMNS.items():
        assert raw(table, column) == [plain]

    apps = migrate(("hotline", "0008_call_recording_url_removed"))
    for (table, column), plain in COLUMNS.items():
        (value,) = raw(table, column)
        assert crypto.looks_encrypted(value) and crypto.decrypt(value) == plain, column
    # read through the models, the notes are as they were
    report = apps.get_model("hotline", "CallReport").objects.get()
    assert report.summary == COLUMNS[("hotline_callreport", "summary")]
    # the raw recording URL is gone with its column
    columns = [
        c.name
        for c in connection.introspection.get_table_description(connection.cursor(), "hotline_call")
    ]
    assert "recording_url" not in columns and "recording_sid" in columns

    migrate(("hotline", "0005_call_partial_indexes"))
    for (table, column), plain in COLUMNS.items():
        assert raw(table, column) == [plain], column


def test_existing_feed_urls_keep_working(back_to_latest, client):
    apps = migrate(("scheduling", "0004_shift_roster_end_index"))
    User = apps.get_model("auth", "User")
    user = User.objects.create(username="feed-owner")
    apps.get_model("hotline", "Volunteer").objects.create(
        user=user, display_name="Feed owner", phone_number="+8613800000002"
    )
    old_token = "k" * 43
    apps.get_model("scheduling", "CalendarToken").objects.create(
        user=user, kind="shifts", token=old_token
    )

    migrate(SCHEDULING_LATEST)
    (stored,) = raw("scheduling_calendartoken", "token")
    (digest,) = raw("scheduling_calendartoken", "token_hash")
    assert stored != old_token and crypto.decrypt(stored) == old_token
    assert digest == tokens.token_hash(old_token)  # the migration and the feeds agree
    assert client.get(f"/calendar/{old_token}.ics").status_code == 200
    assert client.get(f"/calendar/{'x' * 43}.ics").status_code == 404

    migrate(("scheduling", "0004_shift_roster_end_index"))
    assert raw("scheduling_calendartoken", "token") == [old_token]


def test_duplicate_phone_numbers_stop_the_migration_clearly(back_to_latest):
    apps = migrate(("hotline", "0008_call_recording_url_removed"))
    User = apps.get_model("auth", "User")
    Volunteer = apps.get_model("hotline", "Volunteer")
    a = Volunteer.objects.create(
        user=User.objects.create(username="a"), display_name="Ann", phone_number="+8613811112222"
    )
    b = Volunteer.objects.create(
        user=User.objects.create(username="b"), display_name="Bo", phone_number="+8613811112222"
    )
    # an inactive record on the same number is no conflict
    Volunteer.objects.create(
        user=User.objects.create(username="c"),
        display_name="Cy",
        phone_number="+8613811112222",
        is_active=False,
    )
    with pytest.raises(RuntimeError) as excinfo:
        migrate(HOTLINE_LATEST)
    message = str(excinfo.value)
    assert "share a phone number" in message
    assert f"number ending 2222: #{a.pk} Ann, #{b.pk} Bo" in message
    assert "+8613811112222" not in message  # the last four digits are enough
    Volunteer.objects.filter(pk=b.pk).update(is_active=False)
    migrate(HOTLINE_LATEST)  # fixed: it goes through
