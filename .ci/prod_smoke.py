#!/usr/bin/env python3
# Run with the project's virtualenv: .venv/bin/python .ci/prod_smoke.py (make prod-smoke does).
"""`make prod-smoke`: the production shape of docker-compose.yml, without Docker, end to end.

On loopback: the suite's PostgreSQL (a database of our own on it, dropped at the end) and a
Redis of our own (so that stopping it harms nobody); the portal migrated and loaded with the
demo data; then every process of docker-compose.yml exactly as it runs there (.ci/process: web
under gunicorn with production settings, the three workers, beat). Then, as a person would:

1. /healthz answers 200; the login page carries its security headers, and static files are
   served under hashed names with a cache lifetime of their own (whitenoise's manifest);
2. the demo principal (a teacher who is also her school's admin) logs in and selects a course;
3. she asks for e-mail copies of "export done" notices and starts a roster export: the export
   worker writes the file, the notice lands in her inbox, and the e-mail worker sends its copy
   (a file-based mail backend), each task in the worker of its queue;
4. Redis is stopped: /healthz answers 503;
5. everything is stopped and removed.

Exits 0 with "prod-smoke: N passed, 0 failed" or 1 with what went wrong and the processes' logs.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from html import unescape
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PRINCIPAL = "440104199401128800"  # 赵梅梅: teacher and school admin of 广州市越秀第一中学 (README)
PASSWORD = "jijiao2026"
PROCESSES = ("web", "worker-deadlines", "worker-email", "worker-exports", "beat")
started_at = time.monotonic()
passed: list[str] = []


def step(name: str) -> None:
    passed.append(name)
    print(f"prod-smoke: ok  {name} ({time.monotonic() - started_at:.0f} s)", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Browser:
    """Just enough of a browser: cookies (by hand: the production cookies are Secure, and this is
    plain HTTP on loopback, as behind a TLS proxy), CSRF tokens from the forms, redirects."""

    def __init__(self, port: int):
        self.port, self.cookies, self.path, self.headers = port, {}, "/", None

    def request(self, method: str, path: str, data: dict | None = None) -> tuple[int, str, str]:
        for _ in range(10):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            headers = {"Host": "127.0.0.1"}
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            body = None
            if data is not None:
                body = urlencode(data, doseq=True)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _sep, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            conn.close()
            if response.status in (301, 302, 303) and method in ("GET", "POST"):
                method, data, path = (
                    "GET",
                    None,
                    urlsplit(response.headers["Location"])._replace(scheme="", netloc="").geturl(),
                )
                continue
            self.path, self.headers = path, response.headers
            return response.status, text, path
        raise AssertionError(f"too many redirects at {path}")

    def get(self, path: str) -> tuple[int, str, str]:
        return self.request("GET", path)

    def submit(self, page: str, action_pattern: str, fields: dict) -> tuple[int, str, str]:
        """Post the form of ``page`` whose action matches ``action_pattern`` with its CSRF token."""
        for attributes, inner in re.findall(r"<form\b([^>]*)>(.*?)</form>", page, re.S):
            action = re.search(r'action="([^"]*)"', attributes)
            action = action.group(1) if action else self.path  # no action: the page's own address
            if re.search(action_pattern, unescape(action)):
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', inner)
                return self.request("POST", unescape(action), {"csrfmiddlewaretoken": token.group(1), **fields})
        raise AssertionError(f"no form posting to {action_pattern}")


def run(command: list[str], env: dict) -> None:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(command[-2:])} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"


def healthz(port: int) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return 0


def main() -> int:
    subprocess.run([str(ROOT / ".ci" / "services"), "start"], check=True, stdout=subprocess.DEVNULL)
    services_env = subprocess.run(
        [str(ROOT / ".ci" / "services"), "env"], check=True, capture_output=True, text=True
    ).stdout
    suite_db = re.search(r"DATABASE_URL=(\S+)", services_env).group(1)
    work = Path(tempfile.mkdtemp(prefix="jijiao-smoke-"))
    db_name = f"smoke_{secrets.token_hex(4)}"
    db_url = suite_db.rsplit("/", 1)[0] + f"/{db_name}"
    redis_port, web_port = free_port(), free_port()
    (work / "mail").mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "CELERY_"))},
        "PYTHON": PYTHON,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # TLS ends at the proxy in front; there is none on loopback
        "DATABASE_URL": db_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "VAR_DIR": str(work / "var"),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(work / "mail"),
        "BIND": f"127.0.0.1:{web_port}",
        "WEB_WORKERS": "2",
    }

    def psql(sql: str, database: str = "postgres", params: tuple = ()) -> None:
        import psycopg2

        admin = psycopg2.connect(suite_db.rsplit("/", 1)[0] + f"/{database}")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(sql, params)
        admin.close()

    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
        ],
        stdout=(work / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    procs: dict[str, subprocess.Popen] = {}
    failed = 1  # until the last step has passed
    try:
        psql(f"CREATE DATABASE {db_name}")
        manage = [PYTHON, "manage.py"]
        # On two cores: static files beside the migration, and the processes start while the demo loads.
        static = subprocess.Popen([*manage, "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env)
        run([str(ROOT / ".ci" / "process"), "migrate"], env)
        for name in PROCESSES:
            procs[name] = subprocess.Popen(
                [str(ROOT / ".ci" / "process"), name],
                cwd=ROOT,
                env=env,
                stdout=(work / f"{name}.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        run([*manage, "load_demo"], env)
        psql("UPDATE portal_user SET email = 'smoke@example.cn' WHERE id_number = %s", db_name, (PRINCIPAL,))
        assert static.wait() == 0, "collectstatic failed"
        step("database migrated and demo data loaded, static files collected")

        wait_for(lambda: healthz(web_port) == 200, 60, "/healthz to answer 200")
        step("/healthz answers 200 with web, three workers and beat running")

        browser = Browser(web_port)
        status, page, _path = browser.get("/accounts/login/")
        assert status == 200 and "csrfmiddlewaretoken" in page, status
        assert browser.headers["X-Frame-Options"] == "DENY", browser.headers
        css = re.search(r'href="(/static/[^"]*bootstrap[^"]*\.css)"', page).group(1)
        assert css != "/static/vendor/bootstrap/css/bootstrap.min.css", "static file names are not hashed"
        assets = Browser(web_port)  # another tab: the login form stays the page in hand
        status, _css, _path = assets.get(css)
        assert status == 200 and "immutable" in assets.headers["Cache-Control"], (status, css)
        step("the login page is served with its headers, static files hashed and cached for good")
        status, page, path = browser.submit(page, r"/accounts/login/", {"username": PRINCIPAL, "password": PASSWORD})
        if "password" in path:  # an account whose first password was set by someone else changes it first
            new = "Smoke-" + secrets.token_urlsafe(12)
            status, page, path = browser.submit(
                page, r"password", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
            )
        assert status == 200 and "赵梅梅" in page, (status, path)
        step("the demo principal logs in")

        status, page, _path = browser.get("/courses/")
        assert status == 200, status
        course = re.search(r'action="/courses/(\d+)/select/"', page)
        assert course, "no course open for selection in the catalogue"
        status, page, _path = browser.submit(page, rf"^/courses/{course.group(1)}/select/$", {})
        assert status == 200, status
        status, page, _path = browser.get(f"/courses/{course.group(1)}/")
        assert 'action="/courses/' + course.group(1) + '/drop/"' in page, "the course is not selected"
        step(f"she selects course {course.group(1)}")

        status, page, _path = browser.get("/inbox/preferences/")
        status, page, _path = browser.submit(page, r"/inbox/preferences/", {"email_kinds": "export.done"})
        assert status == 200, status
        status, page, _path = browser.get("/inbox/exports/")
        status, page, path = browser.submit(page, r"/inbox/exports/new/roster/", {})
        assert status == 200 and re.search(r"/inbox/exports/\d+/$", path), (status, path)
        wait_for(lambda: "/download/" in browser.get(path)[1], 60, "the export to finish")
        status, page, _path = browser.get("/inbox/")
        assert "导出完成" in page, "no export-done notice in the inbox"
        wait_for(  # among whatever else the workers sent (announcements, reminders)
            lambda: [m for m in (work / "mail").glob("*.log") if "smoke@example.cn" in m.read_text(errors="replace")],
            60,
            "the e-mail copy of the notice",
        )
        logs = {name: (work / f"{name}.log").read_text(errors="replace") for name in PROCESSES}
        # "Task <name>[<id>] received": the task ran there (each worker's banner lists every task).
        assert "Task portal.tasks.export_run[" in logs["worker-exports"], "the export did not run in the export worker"
        assert "Task portal.tasks.notifications_email[" in logs["worker-email"], "the e-mail left from another worker"
        assert "Task portal.tasks.export_run[" not in logs["worker-deadlines"] + logs["worker-email"], (
            "export elsewhere"
        )
        step("the export and its notice arrive through their workers, and the e-mail copy is sent")

        redis.send_signal(signal.SIGTERM)
        redis.wait(timeout=20)
        wait_for(lambda: healthz(web_port) == 503, 30, "/healthz to answer 503")
        step("with Redis stopped, /healthz answers 503")
        failed = 0
        return 0
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        print(f"prod-smoke: FAILED at line {where.lineno}: {type(exc).__name__}: {exc}", flush=True)
        for log in sorted(work.glob("*.log")):
            print(f"----- {log.name} (last lines)\n{log.read_text(errors='replace')[-3000:]}")
        return 1
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if redis.poll() is None:
            redis.terminate()
            redis.wait(timeout=20)
        psql(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)
        print(f"prod-smoke: {len(passed)} passed, {failed} failed in {time.monotonic() - started_at:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
