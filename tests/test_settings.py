"""The settings module: embedded defaults, loud on bad values, clean under production checks.

Each case runs ``manage.py`` in a fresh process with a controlled environment, because settings
are read once at start-up.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "SECRET_KEY": "prod-like-" + "k3y" * 20,
    "ALLOWED_HOSTS": "leads.example.com",
    "DATABASE_URL": "postgres://leadflow@db.example.com:5432/leadflow",
    "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "leadflow.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


PRINT_CONFIG = (
    "from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG)"
)


def test_check_deploy_has_no_warnings_under_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_secret_key_is_required_when_debug_is_off():
    result = manage("check", env={"ALLOWED_HOSTS": "x"})
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_nothing_set_but_debug_runs_on_sqlite_with_tasks_in_process():
    result = manage("shell", "-c", PRINT_CONFIG, env={"DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["django.db.backends.sqlite3", "True", "True"]


def test_database_and_broker_urls_switch_to_postgresql_and_a_real_broker():
    result = manage("shell", "-c", PRINT_CONFIG, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["django.db.backends.postgresql", "False", "False"]


def test_a_bad_boolean_fails_loudly():
    result = manage("check", env={"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG" in result.stderr or "maybe" in result.stderr


def test_session_and_token_lifetimes_and_login_throttle_come_from_the_environment():
    env = {**PRODUCTION_ENV, "SESSION_COOKIE_AGE": "3600", "API_TOKEN_TTL": "60", "LOGIN_MAX_FAILURES": "9"}
    code = "from django.conf import settings as s; print(s.SESSION_COOKIE_AGE, s.API_TOKEN_TTL, s.LOGIN_MAX_FAILURES)"
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["3600", "60", "9"]


def test_a_zero_token_lifetime_fails_loudly():
    result = manage("check", env={**PRODUCTION_ENV, "API_TOKEN_TTL": "0"})
    assert result.returncode != 0
    assert "API_TOKEN_TTL must be at least 1" in result.stderr
