"""Settings come from the environment; bad values stop the start with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.env import ConfigError, env_bool, env_int, env_list, parse_database_url, parse_email_url
from tests.deploy import PROD, ROOT, manage


def test_no_variables_gives_the_embedded_default(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'],"
        " s.CELERY_BROKER_URL, s.EMAIL_BACKEND, s.EMAIL_FILE_PATH)"
    )
    result = manage("shell", "-v", "0", "-c", code, env={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    debug, engine, name, broker, backend, mail_path = result.stdout.split()
    assert debug == "True"
    assert engine == "django.db.backends.sqlite3"
    assert name == str(tmp_path / "var" / "db.sqlite3")
    assert broker == "filesystem://"
    assert backend.endswith("filebased.EmailBackend")
    assert mail_path == str(tmp_path / "var" / "mail")
    # The generated dev key is kept so sessions survive a restart.
    assert (tmp_path / "var" / "dev-secret-key").stat().st_size > 40


def test_production_settings_pass_check_deploy_without_warnings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PROD, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # The two silenced ones are Django's "includeSubDomains is off" and "preload is off": off by decision.
    assert "System check identified no issues (2 silenced)." in result.stdout


def test_hsts_covers_this_host_only_unless_the_domain_owner_opts_in(tmp_path):
    """includeSubDomains and preload commit the whole domain for a year or more: off unless set."""
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD,"
        " sorted(s.SILENCED_SYSTEM_CHECKS))"
    )
    default = manage("shell", "-v", "0", "-c", code, env=PROD, tmp_path=tmp_path)
    assert default.returncode == 0, default.stderr
    assert default.stdout.strip() == "31536000 False False ['security.W005', 'security.W021']"

    opted_in = {**PROD, "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1", "SECURE_HSTS_PRELOAD": "1"}
    result = manage("shell", "-v", "0", "-c", code, env=opted_in, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "31536000 True True []"
    checked = manage("check", "--deploy", "--fail-level", "WARNING", env=opted_in, tmp_path=tmp_path)
    assert "System check identified no issues (0 silenced)." in checked.stdout, checked.stdout + checked.stderr


def test_production_reads_postgres_redis_and_smtp_from_urls(tmp_path):
    env = {
        **PROD,
        "DATABASE_URL": "postgres://copsite:s%40cret@db.internal:5433/forum",
        "REDIS_URL": "redis://cache.internal:6380/2",
        "EMAIL_URL": "smtp://mailer:pw@smtp.example.org:587",
    }
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default'];"
        "print(d['ENGINE'], d['HOST'], d['PORT'], d['NAME'], d['PASSWORD'], s.CELERY_BROKER_URL,"
        " s.CACHES['default']['BACKEND'], s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.SESSION_COOKIE_SECURE)"
    )
    result = manage("shell", "-v", "0", "-c", code, env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "db.internal",
        "5433",
        "forum",
        "s@cret",
        "redis://cache.internal:6380/2",
        "core.cache.ResilientRedisCache",
        "smtp.example.org",
        "587",
        "True",
        "True",
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0", "ALLOWED_HOSTS": "x.org"}, "SECRET_KEY must be set when DEBUG=0"),
        ({**PROD, "SECRET_KEY": "short"}, "SECRET_KEY must be at least 50 characters"),
        ({**PROD, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set when DEBUG=0"),
        ({**PROD, "DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL must start with postgres://"),
        ({**PROD, "DATABASE_URL": "postgres://user@/forum"}, "DATABASE_URL has no host"),
        ({**PROD, "DATABASE_URL": "postgres://user@db:port/forum"}, "DATABASE_URL has an invalid port"),
        ({**PROD, "DATABASE_URL": "not a url"}, "DATABASE_URL must start with postgres://"),
        ({**PROD, "REDIS_URL": "localhost:6379"}, "REDIS_URL must look like redis://"),
        ({**PROD, "EMAIL_URL": "smtp://"}, "EMAIL_URL has no host"),
        ({"DEBUG": "maybe"}, "DEBUG must be one of 1/0"),
        ({"SITE_URL": "forum.example.org"}, "SITE_URL must look like https://"),
        ({"EMAIL_HOST": "smtp.example.org", "EMAIL_PORT": "25x"}, "EMAIL_PORT must be a whole number"),
    ],
)
def test_bad_configuration_fails_at_start_with_one_clear_line(tmp_path, env, message):
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("copsite: configuration error: ")
    assert message in lines[0]


def test_env_helpers_read_good_values_and_name_the_bad_variable():
    env = {"A": "yes", "B": "off", "N": "42", "L": "a, b,,c"}
    assert env_bool("A", False, env) is True
    assert env_bool("B", True, env) is False
    assert env_bool("MISSING", True, env) is True
    assert env_int("N", 1, env) == 42
    assert env_list("L", [], env) == ["a", "b", "c"]
    with pytest.raises(ConfigError, match="N must be at least 100"):
        env_int("N", 1, env, minimum=100)
    with pytest.raises(ConfigError, match=r"^A must be"):
        env_bool("A", False, {"A": "sometimes"})


def test_database_and_email_urls_parse():
    db = parse_database_url("postgresql://u:p@h:6543/name")
    assert (db["HOST"], db["PORT"], db["NAME"], db["CONN_HEALTH_CHECKS"]) == ("h", 6543, "name", True)
    smtps = parse_email_url("smtps://user%40x.org:p%2Fw@mail.x.org")
    assert smtps["EMAIL_PORT"] == 465 and smtps["EMAIL_USE_SSL"] is True and smtps["EMAIL_USE_TLS"] is False
    assert smtps["EMAIL_HOST_USER"] == "user@x.org" and smtps["EMAIL_HOST_PASSWORD"] == "p/w"
    with pytest.raises(ConfigError, match=r"EMAIL_URL must start with smtp"):
        parse_email_url("http://mail.x.org")


def test_celery_worker_with_bad_configuration_says_so_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({"DEBUG": "0", "COPSITE_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "copsite.settings"})
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "copsite", "worker", "--pool", "solo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "copsite: configuration error: SECRET_KEY must be set when DEBUG=0 "
        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
