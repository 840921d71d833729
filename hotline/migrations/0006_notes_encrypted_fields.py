# Notes, callback numbers and callback notes become encrypted fields (hotline/fields.py).
# The columns become text (a token is longer than its plain value); the rows are encrypted
# by the next migration, 0007_notes_encrypt_existing.

import hotline.fields
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('hotline', '0005_call_partial_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='callbackrequest',
            name='note',
            field=hotline.fields.EncryptedCharField(blank=True, max_length=500, verbose_name='note'),
        ),
        migrations.AlterField(
            model_name='callbackrequest',
            name='number',
            field=hotline.fields.EncryptedCharField(max_length=20, verbose_name='number to call back'),
        ),
        migrations.AlterField(
            model_name='callreport',
            name='referral',
            field=hotline.fields.EncryptedCharField(blank=True, help_text='Where the caller was referred, if anywhere.', max_length=300, verbose_name='referral given'),
        ),
        migrations.AlterField(
            model_name='callreport',
            name='summary',
            field=hotline.fields.EncryptedTextField(blank=True, max_length=5000, verbose_name='summary'),
        ),
        migrations.AlterField(
            model_name='callreportaddendum',
            name='text',
            field=hotline.fields.EncryptedTextField(max_length=5000, verbose_name='addendum'),
        ),
        migrations.AlterField(
            model_name='escalation',
            name='reason',
            field=hotline.fields.EncryptedTextField(blank=True, max_length=2000, verbose_name='reason'),
        ),
        migrations.AlterField(
            model_name='escalation',
            name='resolution_notes',
            field=hotline.fields.EncryptedTextField(blank=True, max_length=5000, verbose_name='resolution notes'),
        ),
    ]
