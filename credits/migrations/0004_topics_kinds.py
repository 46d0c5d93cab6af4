"""Preloaded topics (专题) and kinds of hours named in the Guangzhou 2022 and Maoming 2024 notices."""

from django.db import migrations

TOPICS = [
    ("ethics", "师德师风"),
    ("shuangjian", "双减"),
    ("red", "红色教育"),
    ("it20", "信息技术应用能力提升2.0"),
    ("mental", "心理健康"),
    ("nurture", "育人能力"),
    ("digital", "数字素养"),
    ("preschool", "学前教育"),
    ("curriculum", "新课标新课堂"),
    ("school-research", "校本教研"),
    ("research", "科研能力"),
]
KINDS = [
    ("ordinary", "普通远程培训课程", "professional"),
    ("rotation", "全员轮训网络研修", "professional"),
]


def forward(apps, schema_editor):
    Topic = apps.get_model("credits", "Topic")
    CreditKind = apps.get_model("credits", "CreditKind")
    for code, name in TOPICS:
        Topic.objects.get_or_create(code=code, defaults={"name": name})
    for code, name, category in KINDS:
        CreditKind.objects.get_or_create(code=code, defaults={"name": name, "category": category})


class Migration(migrations.Migration):
    dependencies = [("credits", "0003_ledger_immutable_trigger")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
