"""A real Celery worker process against a real Redis, for the background tests.

The worker is a separate process: it sees only committed data, so its tests use
``transaction=True``, and it reaches the pytest-django test database through
DATABASE_URL. Redis DB 5 keeps these queues apart from everybody else's.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]
# Database 5 of the suite's Redis (REDIS_URL names database 0 of it), apart from the portal's own.
BROKER_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:63799/0").rsplit("/", 1)[0] + "/5"
VISIBILITY_TIMEOUT = 3  # seconds: a task of a SIGKILLed worker comes back this soon


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_broker():
    """Point this process's Celery app at Redis DB 5 (emptied first); skip when Redis is down."""
    if not _redis_reachable():
        pytest.skip(f"Redis not reachable at {BROKER_URL}")
    from portal.celery import app

    redis.Redis.from_url(BROKER_URL).flushdb()
    app.conf.broker_url = BROKER_URL
    app.conf.broker_transport_options = {"visibility_timeout": VISIBILITY_TIMEOUT}
    app.conf.task_always_eager = False
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    return app


class Worker:
    def __init__(self, env: dict, log_path: Path, queue: str):
        self.env, self.log_path, self.queue = env, log_path, queue
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "Worker":
        self.log = self.log_path.open("ab")
        start = self.log_path.stat().st_size
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--pool=prefork",
                "--concurrency=2",
                "-Q",
                self.queue,
                "-n",
                f"h6-{uuid.uuid4().hex[:8]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text(errors='replace')[-3000:]}")
            if b" ready." in self.log_path.read_bytes()[start:]:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready: {self.log_path.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children): nothing acknowledged, nothing cleaned up."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def media_root(tmp_path, settings) -> Path:
    settings.MEDIA_ROOT = tmp_path / "var" / "media"
    return tmp_path / "var"


@pytest.fixture
def celery_workers(celery_broker, transactional_db, tmp_path, mail_dir, media_root):
    """A factory of real worker processes on this test's database; all stopped at teardown."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.integration.background.worker_settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": BROKER_URL,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "H6_EMAIL_DIR": str(mail_dir),
        "VAR_DIR": str(media_root),
        "DB_CONN_MAX_AGE": "0",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("TEST_DATABASE_NAME", None)
    workers: list[Worker] = []

    def start(queues: str = ",".join(settings.TASK_QUEUES)) -> Worker:
        worker = Worker(env, tmp_path / "worker.log", queue=queues).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(condition, timeout: float = 30, interval: float = 0.1):
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
