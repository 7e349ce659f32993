"""Production settings: `manage.py check --deploy` is clean, fails on the demo's defaults
(its public token key, the sandbox mounted), and the embedded Xero sandbox does not exist
(no URLs, no app). Each runs in a fresh Python with production's
environment, since settings are read once at start-up."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def production_env(tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XERO_", "DJANGO_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="bankfeeds.example",
        SITE_URL="https://bankfeeds.example",
        TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        XERO_CLIENT_ID="real-client-id",
        XERO_CLIENT_SECRET=secrets.token_urlsafe(24),
        DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('prod') / 'x.sqlite3'}",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    env.pop("REDIS_URL", None)
    return env


def run(env, *args):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_check_deploy_is_clean_with_production_settings(production_env):
    result = run(production_env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_the_sandbox_does_not_exist_in_production(production_env):
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.urls import Resolver404, resolve\n"
        "assert 'apps.xero_sandbox' not in settings.INSTALLED_APPS, settings.INSTALLED_APPS\n"
        "assert not settings.XERO_SANDBOX\n"
        "assert settings.XERO_IDENTITY_URL == 'https://identity.xero.com', settings.XERO_IDENTITY_URL\n"
        "for path in ('/xero-sandbox/connect/token', '/xero-sandbox/identity/connect/authorize',\n"
        "             '/xero-sandbox/organisations/'):\n"
        "    try:\n"
        "        resolve(path)\n"
        "    except Resolver404:\n"
        "        continue\n"
        "    raise AssertionError(path + ' resolves')\n"
        "print('no sandbox')\n"
    )
    result = run(production_env, "-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no sandbox" in result.stdout


def test_production_refuses_plain_http_and_sends_hsts(production_env):
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings as s\n"
        "assert s.SECURE_SSL_REDIRECT and s.SESSION_COOKIE_SECURE and s.CSRF_COOKIE_SECURE\n"
        "assert s.SECURE_HSTS_SECONDS >= 31536000\n"
        "print('ok')\n"
    )
    result = run(production_env, "-c", script)
    assert result.returncode == 0 and "ok" in result.stdout, result.stdout + result.stderr


def demo_key():
    from django.conf import settings

    return settings.DEMO_TOKEN_ENCRYPTION_KEY


@pytest.mark.parametrize(("change", "check_id", "says"), [
    ({"TOKEN_ENCRYPTION_KEY": None}, "bankfeeds.E001", "TOKEN_ENCRYPTION_KEY is unset or holds the demo key"),
    ({"TOKEN_ENCRYPTION_KEY": demo_key}, "bankfeeds.E001", "TOKEN_ENCRYPTION_KEY is unset or holds the demo key"),
    ({"TOKEN_ENCRYPTION_KEY": lambda: f"{Fernet.generate_key().decode()},{demo_key()}"}, "bankfeeds.E001",
     "anyone with a copy of the database"),
    ({"XERO_SANDBOX": lambda: "1"}, "bankfeeds.E002", "the embedded Xero sandbox"),
], ids=["key-unset", "demo-key", "demo-key-kept-for-rotation", "sandbox-on"])
def test_check_deploy_fails_on_the_demos_defaults(production_env, change, check_id, says):
    env = dict(production_env)
    for name, value in change.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value()
    result = run(env, "manage.py", "check", "--deploy")
    assert result.returncode != 0, result.stdout + result.stderr
    assert check_id in result.stderr and says in result.stderr, result.stderr


def test_the_demo_defaults_are_fine_while_debug_is_on(production_env):
    env = {**production_env, "DEBUG": "1", "XERO_SANDBOX": "1"}
    env.pop("TOKEN_ENCRYPTION_KEY")
    result = run(env, "manage.py", "check", "--deploy")
    assert "bankfeeds.E00" not in result.stdout + result.stderr
