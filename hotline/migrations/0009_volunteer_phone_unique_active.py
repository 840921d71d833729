# One active volunteer per phone number: SMS replies are matched to a person by number.
# Refuses to run (naming the volunteers) while two active volunteers share a number:
# deactivate one or correct the number, then migrate again.

from django.db import migrations, models
from django.db.models import Count


def refuse_duplicates(apps, schema_editor):
    Volunteer = apps.get_model('hotline', 'Volunteer')
    active = Volunteer.objects.filter(is_active=True).exclude(phone_number='')
    shared = (
        active.values('phone_number').annotate(n=Count('id')).filter(n__gt=1).order_by('phone_number')
    )
    if not shared:
        return
    lines = []
    for row in shared:
        people = active.filter(phone_number=row['phone_number']).order_by('id')
        names = ', '.join(f'#{v.id} {v.display_name}' for v in people)
        lines.append(f"  number ending {row['phone_number'][-4:]}: {names}")
    raise RuntimeError(
        'Two or more active volunteers share a phone number, and SMS replies are matched to '
        'a person by number. Deactivate the extra records or correct their numbers (admin: '
        'Volunteers), then run migrate again:\n' + '\n'.join(lines)
    )


class Migration(migrations.Migration):

    dependencies = [
        ('hotline', '0008_call_recording_url_removed'),
    ]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='volunteer',
            constraint=models.UniqueConstraint(condition=models.Q(('is_active', True), models.Q(('phone_number', ''), _negated=True)), fields=('phone_number',), name='volunteer_phone_unique_active', violation_error_code='unique', violation_error_message='Another active volunteer has this phone number.'),
        ),
    ]
