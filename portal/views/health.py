"""``/healthz`` for the load balancer and the orchestrator: can this process reach the database and the broker?

No login and no detail: 200 "ok", or 503 "unavailable" when either is down (which one goes to the log,
never to the caller). Nothing is cached.
"""

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        connection.close()  # a broken persistent connection: the next request opens a new one
        return False


def _broker_ok() -> bool:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:  # a new connection, not a pooled one that may be stale
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            client = getattr(conn.default_channel, "client", None)
            if client is not None:
                client.ping()  # Redis: a round trip, not only an open socket
        return True
    except Exception:  # kombu and redis raise their own error classes for a down broker
        return False


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    database, broker = _database_ok(), _broker_ok()
    if database and broker:
        return HttpResponse("ok", content_type="text/plain")
    log.error("healthz: database %s, broker %s", "up" if database else "DOWN", "up" if broker else "DOWN")
    return HttpResponse("unavailable", status=503, content_type="text/plain")
