import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _production_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG", "SECURE_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.org",
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    return env


def test_check_deploy_with_production_settings_prints_no_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert (result.returncode, result.stdout.strip(), result.stderr) == (
        0,
        "System check identified no issues (1 silenced).",  # axes.W006: see AXES_LOCKOUT_PARAMETERS
        "",
    )


def test_production_settings_keep_compiled_templates_and_widgets():
    code = (
        "from django.forms.renderers import get_default_renderer; from django.template import engines;"
        "print(type(engines['django'].engine.template_loaders[0].loaders[0]).__module__);"
        "print(get_default_renderer().get_template('django/forms/widgets/select.html').origin.name)"
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.stdout.split("\n")[:2] == [
        # Django's default without "loaders" (inside template_partials' loader): parsed once per process.
        "django.template.loaders.cached",
        str(ROOT / "templates" / "django" / "forms" / "widgets" / "select.html"),
    ]
