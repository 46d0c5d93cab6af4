"""Settings for the Celery worker that the background tests start: the suite's settings plus
a file e-mail backend, so a test can count what the worker sent."""

import os

from tests.settings import *  # noqa: F403

if os.environ.get("H6_EMAIL_DIR"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["H6_EMAIL_DIR"]

# Look for unacknowledged messages of a lost worker every second (kombu's default is about every 100 s),
# so a redelivery test does not wait for minutes. The visibility timeout itself comes from
# CELERY_VISIBILITY_TIMEOUT in the worker's environment.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
    "unacked_mutex_expire": 10,
}
