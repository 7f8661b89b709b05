"""Production settings pass Django's deployment checks and the project's own; every
process refuses development settings when DJANGO_ENV=production."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def production_env(**changes) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ecomsite.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PSEUDONYM_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "sqlite:///:memory:",
        "CACHE_URL": "redis://127.0.0.1:6379/1",
    }
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def last_line(result: subprocess.CompletedProcess) -> list[str]:
    return result.stdout.strip().splitlines()[-1].split()


def run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


CHECK_DEPLOY = ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]


def test_production_settings_pass_check_deploy():
    result = run(CHECK_DEPLOY, production_env())

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "changes, complaint",
    [
        ({"CACHE_URL": None}, "ecomsite.W001"),
        ({"CACHE_URL": "locmemcache://"}, "ecomsite.W001"),
        ({"AXES_ENABLED": "false"}, "ecomsite.W003"),
    ],
    ids=["no-cache", "local-cache", "no-lockout"],
)
def test_check_deploy_fails_without_what_production_needs(changes, complaint):
    result = run(CHECK_DEPLOY, production_env(**changes))

    assert result.returncode != 0
    assert complaint in result.stderr + result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PSEUDONYM_KEY"])
def test_production_settings_refuse_to_start_without_their_keys(missing):
    result = run(["manage.py", "check"], production_env(**{missing: None}))

    assert result.returncode != 0
    assert missing in result.stderr


def test_the_pseudonym_key_must_differ_from_the_secret_key():
    env = production_env()
    env["PSEUDONYM_KEY"] = env["SECRET_KEY"]

    result = run(CHECK_DEPLOY, env)

    assert result.returncode != 0
    assert "ecomsite.E002" in result.stderr + result.stdout


def test_hsts_preload_and_subdomains_only_when_asked():
    show = [
        "manage.py",
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.SECURE_HSTS_PRELOAD, s.SECURE_HSTS_INCLUDE_SUBDOMAINS)",
    ]

    assert last_line(run(show, production_env())) == ["False", "False"]
    asked = production_env(
        SECURE_HSTS_PRELOAD="true", SECURE_HSTS_INCLUDE_SUBDOMAINS="true"
    )
    assert last_line(run(show, asked)) == ["True", "True"]
    assert run(CHECK_DEPLOY, asked).returncode == 0


@pytest.mark.parametrize(
    "settings_module", ["ecomsite.settings.local", "ecomsite.settings.test"]
)
def test_development_settings_refuse_to_load_in_production(settings_module):
    env = production_env(
        DJANGO_ENV="production", DJANGO_SETTINGS_MODULE=settings_module
    )

    command = run(["manage.py", "check"], env)
    worker = run(
        ["-c", "from ecomsite.celery import app; print(app.conf.broker_url)"], env
    )

    for result in (command, worker):
        assert result.returncode != 0
        assert "DJANGO_ENV is production" in result.stderr


def test_production_is_the_default_when_django_env_says_so():
    env = production_env(DJANGO_ENV="production", DJANGO_SETTINGS_MODULE=None)
    show = ["-c", "from ecomsite.celery import app; print(app.conf.broker_url)"]

    command = run(
        [
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; "
            "print(settings.SETTINGS_MODULE, settings.DEBUG)",
        ],
        env,
    )
    worker = run(show, env)

    assert last_line(command) == ["ecomsite.settings.production", "False"]
    assert worker.returncode == 0, worker.stderr
    unset = run(
        ["manage.py", "check"],
        production_env(
            DJANGO_ENV="production", DJANGO_SETTINGS_MODULE=None, SECRET_KEY=None
        ),
    )
    assert "SECRET_KEY" in unset.stderr  # production's requirements apply
