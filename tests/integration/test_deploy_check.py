import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_with_production_settings_prints_no_warnings():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG", "SECURE_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.org",
        DJANGO_SETTINGS_MODULE="portal.settings",
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert (result.returncode, result.stdout.strip(), result.stderr) == (
        0,
        "System check identified no issues (1 silenced).",  # axes.W006: see AXES_LOCKOUT_PARAMETERS
        "",
    )
