"""gunicorn settings of the production web process: ``gunicorn -c portal/gunicorn.conf.py portal.wsgi``.

Chosen by measurement (bench/selection_rush.py, figures in bench/REPORT.md and the README's
production section): gthread workers, two per core, four threads each. Most of a request's time
is spent waiting on PostgreSQL, so threads overlap that wait without the memory of more
processes, and a slow client or a held row lock does not block a whole process. Each value can
be overridden from the environment for another host's size.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Every thread holds one database connection (CONN_MAX_AGE): workers x threads per host, which
# PgBouncer multiplexes onto the server's connections (docs/scaling.md).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5  # behind a load balancer that keeps connections open
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))  # recycle workers: bounded memory growth
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
