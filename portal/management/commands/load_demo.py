from django.core.management.base import BaseCommand

from portal import demo


class Command(BaseCommand):
    help = "Load the demo data (Guangzhou and Maoming) and print one login per role."

    def handle(self, *args, **options):
        if demo.is_loaded():
            self.stdout.write("演示数据已存在，跳过加载（删除 demo.sqlite3 可重新生成）。")
            return
        demo.load()
        self.stdout.write(self.style.SUCCESS("演示数据已加载。"))
