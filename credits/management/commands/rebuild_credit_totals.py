"""manage.py rebuild_credit_totals: recompute every teacher's yearly totals from the ledger."""

import time

from django.core.management.base import BaseCommand
from django.db import transaction

from credits.services import credit_totals_rebuild


class Command(BaseCommand):
    help = "按学时记录重新计算教师年度学时汇总（恢复或批量导入后使用，可重复执行）"

    def handle(self, *args, **options):
        started = time.perf_counter()
        with transaction.atomic():
            rows = credit_totals_rebuild()
        if rows is None:
            self.stdout.write("此数据库不使用学时汇总表（按学时记录实时计算），无需重建")
            return
        self.stdout.write(f"已重建 {rows} 条教师年度学时汇总，用时 {time.perf_counter() - started:.2f} 秒")
