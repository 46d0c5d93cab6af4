"""manage.py import_roster PATH --unit CODE [--dry-run]

Exit 0 with "created N, updated M, unchanged K"; exit 1 with every error line
(and nothing written) when the file or any row is wrong.
"""

from django.core.management.base import BaseCommand, CommandError

from portal.importing import ImportFileError
from portal.locking import LockBusy
from portal.models import Unit
from portal.roster_import import roster_import


class Command(BaseCommand):
    help = "Import a roster .xlsx into a unit (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the .xlsx file")
        parser.add_argument("--unit", required=True, help="code of the school (or district/city: rows name 学校代码)")
        parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")

    def handle(self, *args, path, unit, dry_run, **options):
        try:
            target = Unit.objects.get(code=unit)
        except Unit.DoesNotExist:
            raise CommandError(f"没有代码为 {unit} 的单位") from None
        try:
            result = roster_import(path, unit=target, dry_run=dry_run)
        except (ImportFileError, LockBusy) as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"无法读取文件 {path}：{exc.strerror or exc}") from None
        if result.errors:
            for line in result.error_lines():
                self.stderr.write(line)
            raise CommandError(f"{len(result.errors)} 处错误，未写入任何数据")
        self.stdout.write(result.summary)
        if dry_run:
            self.stdout.write("dry run: nothing written")
