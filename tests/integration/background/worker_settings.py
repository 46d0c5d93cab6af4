"""Settings for the Celery worker that the background tests start: the suite's settings plus
a file e-mail backend, so a test can count what the worker sent."""

import os

from tests.settings import *  # noqa: F403

if os.environ.get("H6_EMAIL_DIR"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["H6_EMAIL_DIR"]
