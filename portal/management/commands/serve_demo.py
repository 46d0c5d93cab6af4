"""Serve the demo: the web server plus a Celery worker and beat, no other server needed."""

import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the site on 127.0.0.1:8000 with a Celery worker and beat beside it (the demo)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr, **options):
        celery = [sys.executable, "-m", "celery", "-A", "portal"]
        # One process at a time on SQLite: the solo pool avoids writer contention. One worker
        # takes every queue (production runs one per group: .ci/process).
        queues = ",".join(settings.TASK_QUEUES)
        children = [
            subprocess.Popen([*celery, "worker", "--pool=solo", "--loglevel=INFO", f"--queues={queues}"]),
            subprocess.Popen([*celery, "beat", "--loglevel=INFO", f"--schedule={settings.VAR_DIR / 'celerybeat'}"]),
        ]
        call_command("print_demo_logins")
        try:
            call_command("runserver", addr, use_reloader=False)
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                child.wait(timeout=20)
