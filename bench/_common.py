"""What every benchmark needs: a fresh PostgreSQL database of its own, Django on it, peak memory."""

import os
import resource
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(name: str) -> str:
    """Drop and create database ``name`` beside DATABASE_URL's, point Django at it, migrate; its URL.

    Exits with a hint when DATABASE_URL is not PostgreSQL (`eval "$(.ci/services env)"` sets it).
    """
    import psycopg2

    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgres"):
        sys.exit('DATABASE_URL must point at PostgreSQL: eval "$(.ci/services env)" first')
    parts = urlsplit(url)
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
    admin.close()
    bench_url = urlunsplit(parts._replace(path=f"/{name}"))
    os.environ["DATABASE_URL"] = bench_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return bench_url
