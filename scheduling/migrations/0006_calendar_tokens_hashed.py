# Hash and encrypt the existing calendar-feed tokens: every feed URL handed out keeps
# working (it is found by the hash of the same token). Reversible: the reverse decrypts the
# tokens and clears the hashes. Raw SQL: the model field would decrypt what it reads.

from django.db import migrations

from hotline import crypto

# The same purpose as scheduling.feeds.tokens.TOKEN_HASH_PURPOSE (a test holds them equal).
PURPOSE = 'calendar-feed-token'


def _rows(connection, table, where):
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT id, {qn("token")} FROM {qn(table)} WHERE {where} ORDER BY id')
        return cursor.fetchall()


def hash_tokens(apps, schema_editor):
    connection = schema_editor.connection
    qn = connection.ops.quote_name
    table = apps.get_model('scheduling', 'CalendarToken')._meta.db_table
    with connection.cursor() as cursor:
        for pk, token in _rows(connection, table, f'{qn("token_hash")} IS NULL'):
            if crypto.looks_encrypted(token):
                token = crypto.decrypt(token)
            cursor.execute(
                f'UPDATE {qn(table)} SET {qn("token_hash")} = %s, {qn("token")} = %s WHERE id = %s',
                [crypto.keyed_hash(token, purpose=PURPOSE), crypto.encrypt(token), pk],
            )


def unhash_tokens(apps, schema_editor):
    connection = schema_editor.connection
    qn = connection.ops.quote_name
    table = apps.get_model('scheduling', 'CalendarToken')._meta.db_table
    with connection.cursor() as cursor:
        for pk, token in _rows(connection, table, '1 = 1'):
            plain = crypto.decrypt(token) if crypto.looks_encrypted(token) else token
            cursor.execute(
                f'UPDATE {qn(table)} SET {qn("token_hash")} = NULL, {qn("token")} = %s WHERE id = %s',
                [plain, pk],
            )


class Migration(migrations.Migration):

    dependencies = [
        ('scheduling', '0005_calendar_token_hash'),
    ]

    operations = [
        migrations.RunPython(hash_tokens, unhash_tokens),
    ]
