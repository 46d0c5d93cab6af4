"""Existing providers serve the cities whose periods list their courses."""

from django.db import migrations


def forward(apps, schema_editor):
    Provider = apps.get_model("courses", "Provider")
    Course = apps.get_model("courses", "Course")
    Through = Provider.cities.through
    pairs = set(Course.objects.values_list("provider_id", "period__city_id").distinct())
    Through.objects.bulk_create(
        [Through(provider_id=p, unit_id=c) for p, c in sorted(pairs)], ignore_conflicts=True
    )


class Migration(migrations.Migration):
    dependencies = [("courses", "0006_provider_cities")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
