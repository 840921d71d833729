# The taxonomy's first entries: today's categories and caller groups (the codes reports
# already carry, so every old report keeps its meaning), plus what this line needs (the
# issue's list), sub-categories and actions taken. Codes are stable: statistics count by
# code, so a coordinator may relabel or deactivate an entry, never reuse its code.
# Written with update_or_create on the code: re-running never duplicates, and an edited
# label is left alone (only missing entries are added).

from django.db import migrations

CATEGORIES = [
    # code, zh-hans, en, order
    ("psychological", "心理疏导", "psychological support", 10),
    ("family_education", "家庭教育", "family education", 20),
    ("medical_family", "医护人员家属支持", "medical-worker family support", 30),
    ("rights_legal", "权益与法律咨询", "rights and legal questions", 40),
    ("domestic_violence", "家庭暴力", "domestic violence", 50),
    ("employment", "就业", "employment", 60),
    ("marriage_family", "婚姻家庭关系", "marriage and family relations", 70),
    ("epidemic_stress", "疫情相关压力", "epidemic-related stress", 80),
    ("parenting_study", "亲子与子女学习", "parenting and children's study", 90),
    ("other", "其他", "other", 999),
]

SUB_CATEGORIES = [
    # parent, code, zh-hans, en, order
    ("psychological", "anxiety", "焦虑", "anxiety", 10),
    ("psychological", "low_mood", "情绪低落", "low mood", 20),
    ("psychological", "sleep", "睡眠问题", "sleep problems", 30),
    ("psychological", "grief", "丧亲与哀伤", "bereavement and grief", 40),
    ("psychological", "suicidal_thoughts", "自杀念头", "thoughts of suicide", 50),
    ("domestic_violence", "dv_physical", "身体暴力", "physical violence", 10),
    ("domestic_violence", "dv_emotional", "精神暴力", "emotional abuse", 20),
    ("domestic_violence", "dv_economic", "经济控制", "economic control", 30),
    ("rights_legal", "legal_divorce", "离婚与抚养", "divorce and custody", 10),
    ("rights_legal", "legal_labour", "劳动权益", "labour rights", 20),
    ("family_education", "study_at_home", "居家学习", "studying at home", 10),
    ("family_education", "parent_child_conflict", "亲子冲突", "parent-child conflict", 20),
]

ACTIONS = [
    ("listened_supported", "倾听与情绪支持", "listened and supported", 10),
    ("information_given", "提供信息", "information given", 20),
    ("coping_skills", "应对技巧指导", "coping skills taught", 30),
    ("safety_plan", "制定安全计划", "safety plan made", 40),
    ("referred", "转介", "referred", 50),
    ("emergency_services", "联系急救/报警", "emergency services called", 60),
    ("supervisor_escalated", "上报督导", "escalated to a supervisor", 70),
    ("follow_up_arranged", "安排跟进", "follow-up arranged", 80),
]

CALLER_GROUPS = [
    ("medical_family", "医护人员或家属", "medical worker or family", 10),
    ("pregnant_new_mother", "孕产妇", "pregnant or new mother", 20),
    ("single_mother", "困难单亲母亲", "single mother in hardship", 30),
    ("parent", "家长", "parent", 40),
    ("other", "其他", "other", 999),
]


def seed(apps, schema_editor):
    Category = apps.get_model("hotline", "TaxonomyCategory")
    Action = apps.get_model("hotline", "TaxonomyAction")
    Group = apps.get_model("hotline", "TaxonomyCallerGroup")
    parents = {}
    for code, zh, en, order in CATEGORIES:
        parents[code], _ = Category.objects.get_or_create(
            code=code, defaults={"label_zh_hans": zh, "label_en": en, "order": order}
        )
    for parent, code, zh, en, order in SUB_CATEGORIES:
        Category.objects.get_or_create(
            code=code,
            defaults={
                "label_zh_hans": zh,
                "label_en": en,
                "order": order,
                "parent": parents[parent],
            },
        )
    for model, rows in ((Action, ACTIONS), (Group, CALLER_GROUPS)):
        for code, zh, en, order in rows:
            model.objects.get_or_create(
                code=code, defaults={"label_zh_hans": zh, "label_en": en, "order": order}
            )


class Migration(migrations.Migration):
    dependencies = [("hotline", "0013_taxonomy")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
