# Every calendar token has its hash now (0006): required and unique, the feeds' lookup key.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scheduling', '0006_calendar_tokens_hashed'),
    ]

    operations = [
        migrations.AlterField(
            model_name='calendartoken',
            name='token_hash',
            field=models.CharField(max_length=64, unique=True, verbose_name='token hash'),
        ),
    ]
