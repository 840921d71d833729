# Twilio's recording URL is no longer kept: voicemail is played through us, fetched by its
# SID with our credentials (hotline/calls/recordings.py). Anyone holding the raw URL could
# open the recording; dropping it removes the copies already stored.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('hotline', '0007_notes_encrypt_existing'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='call',
            name='recording_url',
        ),
    ]
