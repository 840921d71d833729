"""Encrypted model fields: what a caller said never reaches the database in plain text, the
application reads it back unchanged, and no query can filter on ciphertext."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.db import connection

from hotline import crypto
from hotline.calls.services import callback_done, callback_request_create
from hotline.crisis.escalations import escalation_raise, escalation_resolve
from hotline.crisis.reports import report_addendum_add, report_create
from hotline.fields import EncryptedCharField, EncryptedTextField, Unreadable
from hotline.models import CallbackRequest, CallReport, CallReportAddendum, Escalation
from scheduling.feeds import tokens
from tests.support.crisis import answered_call
from tests.support.rawdb import raw_database_text
from tests.support.twilio import NOW

# Every note below, as a caller's words would be: none may appear in the database.
SECRETS = {
    "summary": "来电者是护士，说她撑不下去了 — nurse says she cannot go on",
    "referral": "Referred to Dr Wang at the No.3 hospital crisis clinic",
    "addendum": "Called back on Tuesday: her sister stays with her now",
    "reason": "Caller mentioned pills at home and a plan for tonight",
    "resolution": "Emergency services reached her flat at 23:10",
    "number": "+8613912345678",
    "callback_note": "She asked us to call after 8 pm, husband away",
}


@pytest.fixture
def notes(scene):
    """A report with a referral and an addendum, an escalation with reason and resolution,
    a callback with number and note, a calendar token: all written by the services."""
    counsellor = scene.on_shift("counsellor")
    sup = scene.on_shift("supervisor", role="supervisor")
    call = answered_call(scene.hotline, counsellor, at=NOW)
    report = report_create(
        call=call,
        by=counsellor.user,
        data={
            "category": "psychological",
            "caller_group": "medical_family",
            "summary": SECRETS["summary"],
            "risk_level": 2,
            "referral": SECRETS["referral"],
        },
        now=NOW,
    )
    report_addendum_add(report=report, by=counsellor.user, text=SECRETS["addendum"], now=NOW)
    escalation = escalation_raise(call=call, by=counsellor.user, reason=SECRETS["reason"], now=NOW)
    escalation_resolve(
        escalation=escalation,
        by=sup.user,
        outcome="emergency_services",
        notes=SECRETS["resolution"],
        now=NOW,
    )
    voicemail = answered_call(scene.hotline, None, at=NOW, outcome="voicemail")
    callback = callback_request_create(call=voicemail, number=SECRETS["number"], now=NOW)
    callback_done(callback=callback, by=sup.user, note=SECRETS["callback_note"], now=NOW)
    feed = tokens.calendar_token_get(user=counsellor.user)
    return {"report": report, "escalation": escalation, "callback": callback, "feed": feed}


def test_notes_are_read_back_as_written(notes):
    report = CallReport.objects.get(pk=notes["report"].pk)
    assert (report.summary, report.referral) == (SECRETS["summary"], SECRETS["referral"])
    assert CallReportAddendum.objects.get(report=report).text == SECRETS["addendum"]
    escalation = Escalation.objects.get(pk=notes["escalation"].pk)
    assert (escalation.reason, escalation.resolution_notes) == (
        SECRETS["reason"],
        SECRETS["resolution"],
    )
    callback = CallbackRequest.objects.get(pk=notes["callback"].pk)
    assert (callback.number, callback.note) == (SECRETS["number"], SECRETS["callback_note"])
    assert list(CallReport.objects.values_list("summary", flat=True)) == [SECRETS["summary"]]


def test_raw_database_holds_none_of_the_notes(notes):
    text = raw_database_text()
    # The search works: what is not encrypted is found (hotline name, last four digits).
    assert notes["report"].call.hotline.name in text and "4321" in text
    for name, secret in SECRETS.items():
        assert secret not in text, name
        # nor any recognisable piece of it
        assert secret[-12:] not in text, name
    assert notes["feed"].token not in text
    # what is there instead: Fernet tokens
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT summary FROM {CallReport._meta.db_table}")  # noqa: S608
        (stored,) = cursor.fetchone()
    assert stored.startswith(crypto.TOKEN_PREFIX) and crypto.decrypt(stored) == SECRETS["summary"]


@pytest.mark.django_db(transaction=True)
def test_sqlite_file_bytes_hold_none_of_the_notes(notes, tmp_path):
    """The database file itself, byte for byte (SQLite; PostgreSQL: the raw-SQL test above)."""
    if connection.vendor != "sqlite":
        pytest.skip("a file-level check of SQLite; PostgreSQL is checked by raw SQL")
    copy = tmp_path / "copy.sqlite3"
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(copy)])
    data = copy.read_bytes()
    assert notes["report"].call.hotline.name.encode() in data  # the search works
    for name, secret in SECRETS.items():
        assert secret.encode("utf-8") not in data, name
    assert notes["feed"].token.encode() not in data


def test_each_encryption_is_different(db):
    a, b = crypto.encrypt("same words"), crypto.encrypt("same words")
    assert a != b and crypto.decrypt(a) == crypto.decrypt(b) == "same words"


def test_empty_notes_stay_empty_so_has_a_note_is_a_plain_test(notes):
    report = notes["report"]
    CallReport.objects.filter(pk=report.pk).update(summary="")
    assert CallReport.objects.filter(summary="").count() == 1
    assert not CallReport.objects.exclude(summary="").exists()
    assert CallReport.objects.filter(summary__isnull=False).count() == 1


@pytest.mark.parametrize(
    "lookup",
    [
        {"summary": "来电者"},
        {"summary__icontains": "nurse"},
        {"summary__startswith": "gAAAA"},
        {"referral__in": ["x"]},
        {"summary__lower": "x"},
    ],
)
def test_no_query_can_filter_on_ciphertext(notes, lookup):
    with pytest.raises(FieldError, match="encrypted"):
        list(CallReport.objects.filter(**lookup))


def test_callback_number_cannot_be_searched_in_sql(notes):
    with pytest.raises(FieldError, match="CallbackRequest.number is encrypted"):
        CallbackRequest.objects.filter(number=SECRETS["number"]).exists()


def test_max_length_counts_the_plain_text(db):
    field = CallReport._meta.get_field("referral")
    assert isinstance(field, EncryptedCharField) and field.max_length == 300
    report = CallReport(referral="x" * 301)
    with pytest.raises(Exception, match="at most 300"):
        report.clean_fields(
            exclude=[f.name for f in CallReport._meta.fields if f.name != "referral"]
        )
    # forms: a one-line input for the char field, a textarea for the text field
    assert field.formfield().widget.input_type == "text"
    assert not hasattr(
        CallReport._meta.get_field("summary").formfield().widget, "input_type"
    )  # Textarea
    assert isinstance(CallReport._meta.get_field("summary"), EncryptedTextField)


def test_a_note_no_key_reads_is_shown_as_unreadable_and_kept(notes, settings, caplog):
    report = notes["report"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT summary FROM {CallReport._meta.db_table} WHERE id = %s",  # noqa: S608
            [report.pk],
        )
        (stored,) = cursor.fetchone()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key dropped
    with caplog.at_level(logging.ERROR, logger="hotline.fields"):
        again = CallReport.objects.get(pk=report.pk)
    assert isinstance(again.summary, Unreadable) and "unreadable" in again.summary
    assert "CallReport.summary" in caplog.text
    again.follow_up_needed = True
    again.save()  # writing the report back keeps the note the new key cannot read
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT summary FROM {CallReport._meta.db_table} WHERE id = %s",  # noqa: S608
            [report.pk],
        )
        assert cursor.fetchone()[0] == stored


def test_a_value_stored_before_encryption_is_read_as_it_is(notes):
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {CallReport._meta.db_table} SET referral = %s",  # noqa: S608
            ["legacy plain text"],
        )
    assert CallReport.objects.get().referral == "legacy plain text"


def test_query_count_unchanged_by_decryption(notes, django_assert_num_queries):
    # decrypting happens in Python, on the rows already fetched
    with django_assert_num_queries(1):
        assert len(list(CallReport.objects.all())) == 1


def _encrypted_names(model) -> set[str]:
    return {f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)}


def test_no_admin_searches_filters_or_sorts_on_an_encrypted_field():
    from django.contrib import admin

    checked = 0
    for model, model_admin in admin.site._registry.items():
        encrypted = _encrypted_names(model)
        if not encrypted:
            continue
        checked += 1
        named = {
            name.lstrip("^=@-").split("__")[0]
            for name in (
                *model_admin.search_fields,
                *(x for x in model_admin.list_filter if isinstance(x, str)),
                *(model_admin.ordering or ()),
                model_admin.date_hierarchy or "",
            )
        }
        assert not named & encrypted, model
    assert checked == 5  # reports, escalations, callback requests, calendar tokens, follow-ups


def test_no_api_filter_names_an_encrypted_field():
    from api.urls import router

    for _prefix, viewset, _basename in router.registry:
        model = getattr(getattr(viewset, "queryset", None), "model", None)
        if model is None:
            continue
        fields = set(getattr(viewset, "filterset_fields", None) or ())
        filterset = getattr(viewset, "filterset_class", None)
        if filterset is not None:
            fields |= {f.field_name for f in filterset.base_filters.values()}
        fields |= set(getattr(viewset, "search_fields", None) or ())
        fields |= set(getattr(viewset, "ordering_fields", None) or ())
        assert not fields & _encrypted_names(model), viewset
