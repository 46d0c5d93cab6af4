from django.db import migrations

STAGES = [
    ("kindergarten", "幼儿园", 10, False),
    ("primary", "小学", 20, True),
    ("junior", "初中", 30, True),
    ("senior", "高中", 40, False),
    ("vocational", "中职", 50, False),
    ("special", "特殊教育", 60, False),
]


def add_stages(apps, schema_editor):
    Stage = apps.get_model("portal", "Stage")
    for code, name, order, compulsory in STAGES:
        Stage.objects.update_or_create(code=code, defaults={"name": name, "order": order, "compulsory": compulsory})


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [migrations.RunPython(add_stages, migrations.RunPython.noop)]
