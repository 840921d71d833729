# The national numbers every line refers to, so the directory is useful on day one. Not
# verified (verified_at empty): the monthly list asks the coordinators to check them and add
# their own county's clinics, shelters and contacts.

from django.db import migrations

NATIONAL = [
    # name, category, phone, hours, eligibility
    ("急救中心 Emergency medical", "emergency_120", "120", "24 h", "Medical emergencies."),
    ("公安报警 Police", "police_110", "110", "24 h", "Danger now, violence at home."),
    (
        "妇女维权公益服务热线 Women's rights hotline",
        "legal_aid",
        "12338",
        "",
        "Women's and children's rights, domestic violence (All-China Women's Federation).",
    ),
    ("公共法律服务热线 Legal aid", "legal_aid", "12348", "", "Free legal advice."),
    (
        "心理援助热线 Psychological assistance line",
        "psych_assistance",
        "12356",
        "24 h",
        "National psychological assistance hotline.",
    ),
]


def seed(apps, schema_editor):
    Resource = apps.get_model("hotline", "Resource")
    for name, category, phone, hours, eligibility in NATIONAL:
        Resource.objects.get_or_create(
            name=name,
            area="",
            category=category,
            defaults={"phone": phone, "hours": hours, "eligibility": eligibility},
        )


class Migration(migrations.Migration):
    dependencies = [("hotline", "0013_referrals")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
