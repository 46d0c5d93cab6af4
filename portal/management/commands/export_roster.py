"""manage.py export_roster --unit CODE --out PATH: the roster of the unit's whole subtree as .xlsx.

ID numbers are masked, as in every export; ``--whole-id-numbers`` writes them whole (moving a
roster to another system, by whoever runs manage.py on the server).
"""

from django.core.management.base import BaseCommand, CommandError

from portal.models import Teacher, Unit
from portal.roster_export import roster_export


class Command(BaseCommand):
    help = "Export the roster of a unit and everything below it to an .xlsx file."

    def add_arguments(self, parser):
        parser.add_argument("--unit", required=True, help="unit code (school, district or city)")
        parser.add_argument("--out", required=True, help="path of the .xlsx to write")
        parser.add_argument("--whole-id-numbers", action="store_true", help="write ID numbers whole, not masked")

    def handle(self, *args, unit, out, whole_id_numbers=False, **options):
        try:
            target = Unit.objects.get(code=unit)
        except Unit.DoesNotExist:
            raise CommandError(f"没有代码为 {unit} 的单位") from None
        teachers = Teacher.objects.filter(unit__path__startswith=target.path)
        try:
            count = roster_export(teachers, out, title=f"{target.name} 教师花名册", whole=whole_id_numbers)
        except OSError as exc:
            raise CommandError(f"无法写入 {out}：{exc.strerror or exc}") from None
        self.stdout.write(f"exported {count} teachers to {out}")
