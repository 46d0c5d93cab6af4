"""Settings for the portal, read from the environment only.

With nothing set the portal runs embedded: SQLite and a Celery broker on the
filesystem, which is what `make demo` uses. Production sets DATABASE_URL,
REDIS_URL, SECRET_KEY and ALLOWED_HOSTS (see docker-compose.yml).
"""

from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = "insecure-demo-key-only-for-debug"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.forms",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_htmx",
    "template_partials",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "django_celery_beat",
    "portal",
    "courses",
    "enrollment",
    "credits",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.security_middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portal.middleware.NulInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "portal.security_middleware.AdminSessionMiddleware",
    "portal.security_middleware.PasswordChangeRequiredMiddleware",
    "portal.middleware.LockBusyMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "portal.context_processors.portal",
            ],
        },
    },
]

# Form widgets rendered with the project's templates, so templates/django/forms/ can override
# one (the select, for speed); the others still come from django.forms.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'demo.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The demo runs a web process, a worker and beat on one file: wait for locks.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME")}
# A streaming replica for the dashboards and background exports (portal/replica.py says which
# reads go there and why the rest stay on the primary). Tests mirror it onto the primary.
if env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        env_str("DATABASE_REPLICA_URL"), conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["portal.replica.PrimaryReplicaRouter"]
# Behind PgBouncer in transaction mode (docs/scaling.md) a server-side cursor opened outside a
# transaction (Django declares it WITH HOLD; its form widgets iterate choices that way) does not
# survive the pooler: switch them off for the primary. The replica keeps its own: every replica
# read runs inside replica_reads()' transaction.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False)
# How long a background export waits for the replica to replay the primary's commits before it
# reads from the primary instead.
REPLICA_WAIT_SECONDS = env_int("REPLICA_WAIT_SECONDS", 10)
# How long a request waits for a row another request holds (a course's seats, a quota) before it
# is asked to retry (portal.locking): one timeout for every lock.
DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 3000)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "portal.auth.IdNumberBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock an ID number after repeated failures, from wherever they come; and an address
# after LOGIN_IP_FAILURE_LIMIT failures across ID numbers (portal.account.LoginAttemptHandler).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
LOGIN_IP_FAILURE_LIMIT = env_int("LOGIN_IP_FAILURE_LIMIT", 30)  # a school's shared address types badly too
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_HANDLER = "portal.account.LoginAttemptHandler"
AXES_CLIENT_IP_CALLABLE = "portal.account.client_ip"
# axes.W006 asks for "ip_address" among the lockout parameters; it would share the ID number's small
# limit (and a success from a school's address would clear every failure of that address): the
# per-address limit is LoginAttemptHandler's instead.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# Addresses (or networks) of the reverse proxies whose X-Forwarded-For is believed; nobody else's is.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
# Login attempts and records hold ID numbers and addresses: deleted after this many days (a job).
LOGIN_RECORDS_KEEP_DAYS = env_int("LOGIN_RECORDS_KEEP_DAYS", 30)
# A staff (Django admin) session ends this many hours after its login: a working day.
ADMIN_SESSION_HOURS = env_int("ADMIN_SESSION_HOURS", 9)
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "portal.auth.axes_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "portal" / "locale"]  # one catalogue for every app
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# static/vendor/ is filled from npm packages at build time (package.json postinstall).
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
# Uploaded documents (agreements, evidence): no URL serves this folder, only views that check who asks.
PRIVATE_ROOT = VAR_DIR / "private"
DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_BYTES", 10 * 1024 * 1024)
# Imports read whole uploads; anything bigger is refused before it is parsed.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Export files (they hold personal data) are deleted this many days after they were written (a job).
EXPORT_KEEP_DAYS = env_int("EXPORT_KEEP_DAYS", 7)
# The public certificate check, per client address (django-ratelimit's "count/period").
VERIFY_RATE_LIMIT = env_str("VERIFY_RATE_LIMIT", "20/m")

# Celery: Redis when REDIS_URL is set, otherwise a broker on the filesystem
# that needs no server (the demo).
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Longer than the longest task (CELERY_TASK_TIME_LIMIT), or Redis would hand a
    # running task to a second worker; tests of redelivery set it short.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 2 * 3600)}
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
# The cache (rate limits): Redis beside the broker when there is one, this process's memory in the demo.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "jijiao"}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# Dashboard figures (counts over every teacher in reach) are recounted when older than this (portal/figures.py).
FIGURES_SECONDS = env_int("FIGURES_SECONDS", 300)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 3600  # the longest task; below the visibility timeout
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# One queue per kind of work, routed by task name, so that a city-wide export or a slow mail
# server never holds up a deadline sweep. Production runs one worker per group (.ci/process,
# docker-compose.yml); the demo's one worker takes every queue. A task not named here goes to
# "default", which the deadline worker also takes; `manage.py check` fails on a route to a task
# that does not exist.
TASK_QUEUES = ("sweeps", "email", "exports", "default")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # Deadlines and reminders: short, and due at a time.
    "enrollment.tasks.applications_expire_overdue": {"queue": "sweeps"},
    "enrollment.tasks.approval_reminders": {"queue": "sweeps"},
    "courses.tasks.waitlists_release_closed": {"queue": "sweeps"},
    "courses.tasks.selection_reminders": {"queue": "sweeps"},
    "courses.tasks.roster_reminders": {"queue": "sweeps"},
    "credits.tasks.hours_reminders": {"queue": "sweeps"},
    # E-mail copies of notices: waits on the mail server.
    "portal.tasks.notifications_email": {"queue": "email"},
    "portal.tasks.notifications_email_pending": {"queue": "email"},
    # Long and memory-hungry: background exports and the nightly compliance snapshot.
    "portal.tasks.export_run": {"queue": "exports"},
    "credits.tasks.compliance_snapshot_nightly": {"queue": "exports"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH")  # for the file-based backend (make prod-smoke)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "jijiao@localhost")

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer asks over plain HTTP
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# No ID number and no query string reaches a log (portal.logs.LogFilter; gunicorn.conf.py for gunicorn).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"privacy": {"()": "portal.logs.LogFilter"}},
    "formatters": {
        "server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["privacy"]},
        "server": {"class": "logging.StreamHandler", "filters": ["privacy"], "formatter": "server"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own loggers pass through the filtered handlers, not Django's default ones.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},  # runserver (the demo)
    },
}

# Headers on every response. No inline script or style anywhere (templates load static/js and
# static/css only; htmx's own indicator style is switched off in base.html and lives in portal.css;
# ECharts draws on a canvas and its tooltips are rich text, not HTML). Bootstrap's form controls
# draw their arrows and ticks from data: SVGs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "xr-spatial-tracking",
    )
} | {"fullscreen": ["self"]}

PORTAL_NAME = _("继教通")

# The installation's first platform operator: `migrate` creates her when no operator exists yet
# (portal.bootstrap), so nobody needs a shell after installing. Later operators are named in the portal.
FIRST_OPERATOR_ID_NUMBER = env_str("FIRST_OPERATOR_ID_NUMBER")
FIRST_OPERATOR_NAME = env_str("FIRST_OPERATOR_NAME", "平台运营")
FIRST_OPERATOR_PASSWORD = env_secret("FIRST_OPERATOR_PASSWORD")
