# Calendar-feed tokens: looked up by a keyed hash, stored encrypted. This step adds the hash
# column (empty until 0006_calendar_tokens_hashed fills it) and makes the token column text.

import hotline.fields
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scheduling', '0004_shift_roster_end_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='calendartoken',
            name='token_hash',
            field=models.CharField(max_length=64, null=True, verbose_name='token hash'),
        ),
        migrations.AlterField(
            model_name='calendartoken',
            name='token',
            field=hotline.fields.EncryptedCharField(max_length=100, verbose_name='token'),
        ),
    ]
