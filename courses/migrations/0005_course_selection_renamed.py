"""Course selection is CourseSelection (``enrollment`` is the special-programme app): the model,
its table, its index and its constraint are renamed; no row changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0004_course_selection"),
        ("portal", "0008_schedules_per_app"),
    ]

    operations = [
        migrations.RenameModel("Enrollment", "CourseSelection"),
        migrations.AlterField(
            model_name="courseselection",
            name="teacher",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="course_selections",
                to="portal.teacher",
                verbose_name="教师",
            ),
        ),
        migrations.AlterField(
            model_name="courseselection",
            name="course",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="selections",
                to="courses.course",
                verbose_name="课程",
            ),
        ),
        migrations.RenameIndex(
            model_name="courseselection", new_name="selection_teacher_period", old_name="enrollment_teacher_period"
        ),
        migrations.RemoveConstraint(model_name="courseselection", name="enrollment_once_per_course"),
        migrations.AddConstraint(
            model_name="courseselection",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["selected", "completed"])),
                fields=("teacher", "course"),
                name="selection_once_per_course",
            ),
        ),
    ]
