from django.core.management.base import BaseCommand

from portal import demo


class Command(BaseCommand):
    help = "Print the demo logins, one per role."

    def handle(self, *args, **options):
        self.stdout.write(f"演示账号（密码均为 {demo.DEMO_PASSWORD}）：")
        for role, number, name in demo.logins():
            self.stdout.write(f"  {role}：{number}  {name}")
