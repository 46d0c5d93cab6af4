"""Every course of a category the city's rule tells apart by kind carries a kind, and so do its hours.

Before this, a professional course without a kind in Maoming counted toward neither 42 ordinary
nor 60 rotation hours: a teacher's new hours left her verdict unchanged. Such courses get the first
kind of their category the rule names (Maoming: 普通远程培训课程). The ledger is append-only, so each
entry of such a category without a kind is reversed and recorded again with the kind of its course
(or that same first kind): the teacher's totals stay, her kinds are right.
"""

from django.db import migrations
from django.utils import timezone

REASON = "补记学时类型：本市学时规则按学时类型计算，原记录未标类型（数据迁移）"


def _kind_codes(tree):
    found = []

    def walk(node):
        ((key, arg),) = node.items()
        if key in ("all_of", "any_of"):
            for child in arg:
                walk(child)
        elif key == "min_hours" and "kind" in arg and arg["kind"] not in found:
            found.append(arg["kind"])

    walk(tree)
    return found


def forward(apps, schema_editor):
    RuleSet = apps.get_model("credits", "RuleSet")
    CreditKind = apps.get_model("credits", "CreditKind")
    CreditEntry = apps.get_model("credits", "CreditEntry")
    Course = apps.get_model("courses", "Course")
    CourseSelection = apps.get_model("courses", "CourseSelection")
    now = timezone.now()
    for rule_set in RuleSet.objects.select_related("city"):
        codes = _kind_codes(rule_set.tree)
        kinds = {k.code: k for k in CreditKind.objects.filter(code__in=codes)}
        first_by_category = {}
        for code in codes:
            if code in kinds:
                first_by_category.setdefault(kinds[code].category, kinds[code])
        for category, kind in first_by_category.items():
            Course.objects.filter(period__rule_set=rule_set, category=category, kind__isnull=True).update(kind=kind)
            entries = list(
                CreditEntry.objects.filter(
                    year=rule_set.year,
                    category=category,
                    kind__isnull=True,
                    teacher__unit__path__startswith=rule_set.city.path,
                    reversed_by__isnull=True,
                )
                .exclude(source="reversal")
                .order_by("pk")
            )
            selection_ids = {
                int(e.reference.split(":", 1)[1])
                for e in entries
                if e.reference.startswith("enrollment:") and e.reference.split(":", 1)[1].isdigit()
            }
            course_kinds = dict(
                CourseSelection.objects.filter(pk__in=selection_ids).values_list("pk", "course__kind_id")
            )
            rows = []
            for e in entries:
                ref = e.reference.split(":", 1)
                kind_id = course_kinds.get(int(ref[1])) if ref[0] == "enrollment" and ref[1].isdigit() else None
                common = {
                    "teacher_id": e.teacher_id,
                    "year": e.year,
                    "category": e.category,
                    "topic_codes": e.topic_codes,
                    "recorded_at": now,
                    "reason": REASON,
                }
                rows.append(
                    CreditEntry(**common, hours=-e.hours, source="reversal", reference=f"reversal:{e.pk}", reverses=e)
                )
                rows.append(
                    CreditEntry(
                        **common,
                        hours=e.hours,
                        kind_id=kind_id or kind.pk,
                        source="manual",
                        reference=f"kind:{e.reference}",
                    )
                )
            CreditEntry.objects.bulk_create(rows, batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0008_school_providers"),
        ("credits", "0007_totals_as_fresh_install"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
