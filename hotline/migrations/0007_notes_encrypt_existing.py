# Encrypt the notes and callback numbers written before 0006 with the first key of
# FIELD_ENCRYPTION_KEYS (reversible: the reverse decrypts them). Raw SQL in batches by id,
# each batch its own transaction: the model field would try to decrypt what it reads. Rows
# already encrypted are skipped, so running it again after a partial run is safe.
#
# Then the database is compacted, so the replaced plain text does not linger in free pages
# of the file (SQLite: VACUUM and an emptied WAL; PostgreSQL: VACUUM FULL of the tables).
# Backups made before this migration still hold it: see docs/security-encryption.md.

from django.db import migrations

from hotline import crypto

COLUMNS = [
    ('CallbackRequest', 'number'),
    ('CallbackRequest', 'note'),
    ('CallReport', 'summary'),
    ('CallReport', 'referral'),
    ('CallReportAddendum', 'text'),
    ('Escalation', 'reason'),
    ('Escalation', 'resolution_notes'),
]


def _rewrite(apps, schema_editor, transform):
    for model_name, field_name in COLUMNS:
        model = apps.get_model('hotline', model_name)
        result = crypto.rewrite_column(
            connection=schema_editor.connection,
            table=model._meta.db_table,
            column=model._meta.get_field(field_name).column,
            transform=transform,
        )
        if result.failed:
            raise RuntimeError(
                f'{model_name}.{field_name}: rows {result.failed[:20]} could not be converted '
                '(is FIELD_ENCRYPTION_KEYS the key they were encrypted with?)'
            )


def encrypt(apps, schema_editor):
    _rewrite(apps, schema_editor, crypto.encrypt_plaintext)


def compact(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == 'sqlite':
            cursor.execute('VACUUM')
            cursor.execute('PRAGMA wal_checkpoint(TRUNCATE)')
        elif connection.vendor == 'postgresql':
            tables = {apps.get_model('hotline', name)._meta.db_table for name, _ in COLUMNS}
            for table in sorted(tables):
                cursor.execute(f'VACUUM FULL {connection.ops.quote_name(table)}')


def decrypt(apps, schema_editor):
    _rewrite(apps, schema_editor, crypto.decrypt_to_plaintext)


class Migration(migrations.Migration):

    # VACUUM cannot run inside a transaction; each batch of rows commits on its own.
    atomic = False

    dependencies = [
        ('hotline', '0006_notes_encrypted_fields'),
    ]

    operations = [
        migrations.RunPython(encrypt, decrypt, atomic=False),
        migrations.RunPython(compact, migrations.RunPython.noop, atomic=False),
    ]
