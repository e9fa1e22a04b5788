"""Secrets at rest and at the door: var/ modes, placeholder keys, login lockout."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = "change-me-to-a-long-random-string-of-50-characters"


def manage(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    environ |= {
        "DJANGO_SETTINGS_MODULE": "eventviz.settings",
        "EVENTVIZ_VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        umask=0o022,  # the usual umask, under which files used to come out 0644
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_var_files_are_private_to_the_user(tmp_path: Path) -> None:
    result = manage(tmp_path, "migrate", "--verbosity", "0")
    assert result.returncode == 0, result.stderr
    var = tmp_path / "var"
    assert mode(var) == 0o700
    assert mode(var / "secret_key") == 0o600
    assert mode(var / "db.sqlite3") == 0o600
    for extra in ("db.sqlite3-wal", "db.sqlite3-shm"):
        if (var / extra).exists():
            assert mode(var / extra) == 0o600, extra


def test_var_files_of_an_older_version_are_tightened(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    (var / "db.sqlite3").touch(mode=0o644)
    (var / "secret_key").write_text("k" * 50)
    (var / "secret_key").chmod(0o644)
    result = manage(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert (mode(var), mode(var / "db.sqlite3"), mode(var / "secret_key")) == (0o700, 0o600, 0o600)


@pytest.mark.parametrize("key", [PLACEHOLDER, "django-insecure-" + "x" * 50])
def test_a_placeholder_secret_key_is_refused_with_a_clear_message(tmp_path: Path, key: str) -> None:
    result = manage(tmp_path, "check", "--deploy", SECRET_KEY=key)
    assert result.returncode != 0
    assert "SECRET_KEY is a published placeholder" in result.stderr


def test_env_example_offers_no_usable_secret_key() -> None:
    example = (ROOT / ".env.example").read_text()
    assert PLACEHOLDER not in example


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=3)
def test_admin_login_locks_after_the_failure_limit_and_axes_reset_lifts_it() -> None:
    get_user_model().objects.create_superuser("boss", "boss@localhost", "right-password-1")
    client = Client()

    def login(password: str) -> int:
        response = client.post(
            "/admin/login/?next=/admin/", {"username": "boss", "password": password}
        )
        return response.status_code

    assert [login("wrong") for _ in range(3)] == [200, 200, 429]
    assert login("right-password-1") == 429  # locked: even the right password is refused
    call_command("axes_reset", verbosity=0)
    assert login("right-password-1") == 302


@pytest.mark.django_db
def test_the_test_clients_login_still_works_with_lockouts_on() -> None:
    get_user_model().objects.create_user("visitor", password="pw-123456789")
    assert Client().login(username="visitor", password="pw-123456789")
