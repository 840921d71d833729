"""Feed tokens are stored as a keyed hash (the lookup) and encrypted (for the owner's page):
a copy of the database opens no feed, and the volunteer still sees their link."""

from __future__ import annotations

import pytest
from django.db import connection

from hotline import crypto
from scheduling.feeds import tokens
from scheduling.models import CalendarToken
from tests.support import factories as f
from tests.support.rawdb import raw_database_text

pytestmark = pytest.mark.django_db


def stored_row(token: CalendarToken) -> tuple[str, str]:
    table = CalendarToken._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT token, token_hash FROM {table} WHERE id = %s",  # noqa: S608
            [token.pk],
        )
        return cursor.fetchone()


def test_token_is_stored_hashed_and_encrypted_never_plain():
    token = tokens.calendar_token_get(user=f.volunteer().user)
    encrypted, digest = stored_row(token)
    assert digest == crypto.keyed_hash(token.token, purpose="calendar-feed-token")
    assert crypto.decrypt(encrypted) == token.token
    assert token.token not in raw_database_text()


def test_feed_is_found_by_the_hash_of_the_url_token(client):
    token = tokens.calendar_token_get(user=f.volunteer().user)
    assert client.get(f"/calendar/{token.token}.ics").status_code == 200
    # the stored hash itself (or the ciphertext) in the URL opens nothing
    encrypted, digest = stored_row(token)
    assert client.get(f"/calendar/{digest}.ics").status_code == 404
    assert client.get(f"/calendar/{encrypted}.ics").status_code == 404


def test_rotation_replaces_hash_and_token():
    user = f.volunteer().user
    first = tokens.calendar_token_get(user=user)
    before = stored_row(first)
    rotated = tokens.calendar_token_rotate(user=user)
    after = stored_row(rotated)
    assert rotated.pk == first.pk and before[1] != after[1]
    assert after[1] == tokens.token_hash(rotated.token)
    assert tokens.calendar_token_get(user=user).token == rotated.token  # shown again


def test_my_shifts_page_still_shows_the_link_to_copy(client):
    volunteer = f.volunteer()
    client.force_login(volunteer.user)
    first = client.get("/me/shifts/").content.decode()
    token = tokens.calendar_token_get(user=volunteer.user).token
    assert f"/calendar/{token}.ics" in first
    # and again on the next visit, the same link (nothing rotated by looking)
    assert f"/calendar/{token}.ics" in client.get("/me/shifts/").content.decode()
