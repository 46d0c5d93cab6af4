"""The production processes of docker-compose.yml, started here without Docker:
gunicorn serving the site with production settings, a Celery worker and beat.
"""

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(tmp_path) -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",  # TLS ends at the proxy in front; none here
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:63799/0").rsplit("/", 1)[0] + "/7",
        VAR_DIR=str(tmp_path),
    )
    return env


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_gunicorn_worker_and_beat_start_with_production_settings(tmp_path):
    assert connection.vendor == "postgresql"
    env = production_env(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    worker_log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--concurrency=1",
            "-n",
            "smoke@%h",
            f"--logfile={worker_log}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    beat_log = tmp_path / "beat.log"
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel=INFO", f"--logfile={beat_log}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:

        def login_page():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2) as r:
                    return r.status, r.read().decode(), r.headers
            except OSError:
                return None

        assert wait_for(lambda: login_page() is not None), web.stderr.read1().decode() if web.poll() else ""
        status, body, headers = login_page()
        assert status == 200
        assert "登录继教通" in body
        assert headers["X-Frame-Options"] == "DENY"
        css = next(line for line in body.splitlines() if "bootstrap.min" in line and ".css" in line)
        href = css.split('href="', 1)[1].split('"', 1)[0]
        assert ".min." in href and href != "/static/vendor/bootstrap/css/bootstrap.min.css"  # hashed by the manifest
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{href}", timeout=5) as r:
            assert r.status == 200
            assert "immutable" in r.headers["Cache-Control"]

        def worker_pongs():
            # A ping sent before the worker has joined the broadcast is lost: ask again until it answers.
            ping = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "portal",
                    "inspect",
                    "ping",
                    "-d",
                    f"smoke@{socket.gethostname()}",
                    "--timeout",
                    "2",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            return "pong" in ping.stdout

        assert wait_for(worker_pongs, timeout=90), worker_log.read_text()
        assert wait_for(lambda: beat_log.exists() and "beat: Starting" in beat_log.read_text()), beat_log.read_text()
        assert beat.poll() is None
    finally:
        for proc in (web, worker, beat):
            proc.terminate()
        for proc in (web, worker, beat):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
