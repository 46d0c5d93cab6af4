"""The portal's settings for the test suite: the same as production's but for a
known secret and a fast password hasher. DATABASE_URL and REDIS_URL come from
`.ci/services env` (make test); without them the suite runs on SQLite.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns on a missing root
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# The portal's URLs and the benchmarks' bare authenticated view (never routed in production).
ROOT_URLCONF = "tests.urls"
