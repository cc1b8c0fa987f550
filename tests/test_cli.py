"""The `sounding` console script, run for real against a throwaway data directory."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sounding import __version__
from tests.procs import query, run_cli, run_ok

# Its processes use a SQLite database of their own whatever DATABASE_URL says.
pytestmark = [pytest.mark.process, pytest.mark.any_db]

EMAIL = "owner@example.test"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def admin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory where `createadmin` already made EMAIL the owner of "Acme"."""
    data_dir = tmp_path_factory.mktemp("cli")
    run_ok(data_dir, "createadmin", "--email", EMAIL, "--password", PASSWORD, "--workspace", "Acme")
    return data_dir


def test_version() -> None:
    result = run_cli(Path("/nonexistent"), "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"sounding {__version__}"


def test_createadmin_makes_a_user_who_owns_a_new_workspace(admin_dir: Path) -> None:
    rows = query(
        admin_dir,
        "SELECT u.email, w.name, m.role FROM accounts_user u"
        " JOIN accounts_membership m ON m.user_id = u.id"
        " JOIN accounts_workspace w ON w.id = m.workspace_id",
    )
    assert rows == [(EMAIL, "Acme", "owner")]


def test_createadmin_names_the_workspace_by_default(tmp_path: Path) -> None:
    out = run_ok(tmp_path, "createadmin", "--email", "Ada@Example.test", "--password", PASSWORD)
    assert "ada@example.test" in out
    assert query(tmp_path, "SELECT name FROM accounts_workspace") == [("My workspace",)]


def test_createadmin_after_a_setup_asks_which_workspace_and_changes_nothing(
    tmp_path: Path,
) -> None:
    run_ok(
        tmp_path,
        "createadmin",
        "--email",
        "first@example.test",
        "--password",
        PASSWORD,
        "--workspace",
        "Acme Inc",
    )
    result = run_cli(tmp_path, "createadmin", "--email", "b@example.test", "--password", PASSWORD)
    assert result.returncode == 2
    assert 'already has the workspace "Acme Inc"' in result.stderr
    assert "--workspace NAME" in result.stderr
    assert query(tmp_path, "SELECT count(*) FROM accounts_user") == [(1,)]
    assert query(tmp_path, "SELECT count(*) FROM accounts_workspace") == [(1,)]


def test_createadmin_naming_an_existing_workspace_adds_an_owner_to_it(tmp_path: Path) -> None:
    run_ok(
        tmp_path,
        "createadmin",
        "--email",
        "first@example.test",
        "--password",
        PASSWORD,
        "--workspace",
        "Acme",
    )
    out = run_ok(
        tmp_path,
        "createadmin",
        "--email",
        "b@example.test",
        "--password",
        PASSWORD,
        "--workspace",
        "Acme",
    )
    assert 'an owner of the existing workspace "Acme"' in out
    rows = query(
        tmp_path,
        "SELECT u.email, w.name, m.role FROM accounts_user u"
        " JOIN accounts_membership m ON m.user_id = u.id"
        " JOIN accounts_workspace w ON w.id = m.workspace_id ORDER BY u.email",
    )
    assert rows == [("b@example.test", "Acme", "owner"), ("first@example.test", "Acme", "owner")]


def test_createadmin_with_a_new_name_says_the_workspace_is_separate(tmp_path: Path) -> None:
    run_ok(
        tmp_path,
        "createadmin",
        "--email",
        "first@example.test",
        "--password",
        PASSWORD,
        "--workspace",
        "Acme Inc",
    )
    out = run_ok(
        tmp_path,
        "createadmin",
        "--email",
        "b@example.test",
        "--password",
        PASSWORD,
        "--workspace",
        "Acme",
    )
    assert 'owner of the new workspace "Acme"' in out
    assert 'It is separate from the workspace "Acme Inc" already here' in out
    assert query(tmp_path, "SELECT name FROM accounts_workspace ORDER BY id") == [
        ("Acme Inc",),
        ("Acme",),
    ]


def test_createadmin_refuses_an_existing_email(admin_dir: Path) -> None:
    result = run_cli(admin_dir, "createadmin", "--email", EMAIL.upper(), "--password", PASSWORD)
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert query(admin_dir, "SELECT count(*) FROM accounts_user") == [(1,)]
    assert query(admin_dir, "SELECT count(*) FROM accounts_workspace") == [(1,)]


def test_createadmin_without_a_terminal_needs_its_flags(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "createadmin", "--email", "x@example.test")
    assert result.returncode == 2
    assert "--password" in result.stderr
    assert "Traceback" not in result.stderr


def test_createadmin_rejects_a_weak_password(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "createadmin", "--email", "x@example.test", "--password", "abc")
    assert result.returncode == 1
    assert "too short" in result.stderr
    assert query(tmp_path, "SELECT count(*) FROM accounts_user") == [(0,)]


def test_token_create_prints_only_a_token_stored_as_its_hash(admin_dir: Path) -> None:
    result = run_cli(admin_dir, "token", "create", "--email", EMAIL, "--name", "ci")
    assert result.returncode == 0, result.stderr
    raw = result.stdout.strip()
    assert raw.startswith("snd_") and "\n" not in raw
    rows = query(
        admin_dir,
        "SELECT t.name, w.name, u.email FROM accounts_apitoken t"
        " JOIN accounts_workspace w ON w.id = t.workspace_id"
        " JOIN accounts_user u ON u.id = t.user_id WHERE t.token_hash = ?",
        hashlib.sha256(raw.encode()).hexdigest(),
    )
    assert rows == [("ci", "Acme", EMAIL)]


def test_token_create_for_an_unknown_email_fails(admin_dir: Path) -> None:
    result = run_cli(admin_dir, "token", "create", "--email", "nobody@example.test")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "nobody@example.test" in result.stderr


def test_token_create_for_an_unknown_workspace_fails(admin_dir: Path) -> None:
    result = run_cli(admin_dir, "token", "create", "--email", EMAIL, "--workspace", "Globex")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Globex" in result.stderr


def token_row(data_dir: Path, raw: str) -> tuple[int, str | None, str | None]:
    [row] = query(
        data_dir,
        "SELECT id, expires_at, revoked_at FROM accounts_apitoken WHERE token_hash = ?",
        hashlib.sha256(raw.encode()).hexdigest(),
    )
    return row


def test_token_create_may_set_an_expiry(admin_dir: Path) -> None:
    result = run_cli(
        admin_dir, "token", "create", "--email", EMAIL, "--name", "month", "--expires-in-days", "30"
    )
    assert result.returncode == 0, result.stderr
    _, expires_at, _ = token_row(admin_dir, result.stdout.strip())
    assert expires_at is not None
    expected = datetime.now(UTC) + timedelta(days=30)
    assert abs(datetime.fromisoformat(expires_at).replace(tzinfo=UTC) - expected) < timedelta(
        minutes=5
    )
    assert f"It expires {expected:%Y-%m-%d}" in result.stderr
    plain = run_ok(admin_dir, "token", "create", "--email", EMAIL).strip()
    assert token_row(admin_dir, plain)[1] is None


@pytest.mark.parametrize(
    "args, problem",
    [
        (("--expires-in-days", "0"), "from 1 to 3650 days"),
        (("--expires-in-days", "99999999999999999999"), "from 1 to 3650 days"),
        (("--expires-in-days", "-3"), "whole number of days"),
        (("--expires-in-days", "ten"), "whole number of days"),
        (("--name", "x" * 101), "at most 100 characters"),
    ],
)
def test_token_create_refuses_bad_options(
    admin_dir: Path, args: tuple[str, ...], problem: str
) -> None:
    before = query(admin_dir, "SELECT count(*) FROM accounts_apitoken")
    result = run_cli(admin_dir, "token", "create", "--email", EMAIL, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert problem in result.stderr
    assert "Traceback" not in result.stderr
    assert query(admin_dir, "SELECT count(*) FROM accounts_apitoken") == before


def test_token_list_and_revoke(admin_dir: Path) -> None:
    raw = run_ok(admin_dir, "token", "create", "--email", EMAIL, "--name", "to-revoke").strip()
    token_id = token_row(admin_dir, raw)[0]

    listing = run_cli(admin_dir, "token", "list", "--email", EMAIL.upper(), "--workspace", "Acme")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == [
        "ID",
        "NAME",
        "WORKSPACE",
        "CREATED",
        "LAST",
        "USED",
        "EXPIRES",
        "STATE",
    ]
    mine = [line for line in lines if " to-revoke " in line]
    assert len(mine) == 1
    assert mine[0].split()[0] == str(token_id)
    assert mine[0].split()[2] == "Acme"
    assert mine[0].split()[-3:] == ["never", "never", "active"]  # last used, expires, state
    assert raw not in listing.stdout
    assert "UTC" in listing.stderr

    revoked = run_ok(admin_dir, "token", "revoke", str(token_id))
    assert f"Revoked API token {token_id}" in revoked
    assert token_row(admin_dir, raw)[2] is not None
    after = run_ok(admin_dir, "token", "list", "--email", EMAIL)
    assert [line for line in after.splitlines() if " to-revoke " in line][0].endswith("revoked")

    again = run_cli(admin_dir, "token", "revoke", str(token_id))
    assert again.returncode == 0
    assert "already revoked" in again.stdout


@pytest.mark.parametrize(
    "args, code, problem",
    [
        (("revoke", "999999"), 1, "No API token with the id 999999"),
        (("revoke", "abc"), 2, "a token id is a whole number"),
        (("revoke", "0"), 2, "a token id is a whole number"),
        (("revoke", "9" * 30), 2, "a token id is a whole number"),
        (("list", "--email", "nobody@example.test"), 1, "nobody@example.test"),
        (("list", "--email", EMAIL, "--workspace", "Globex"), 1, "Globex"),
    ],
)
def test_token_list_and_revoke_refuse_what_does_not_exist(
    admin_dir: Path, args: tuple[str, ...], code: int, problem: str
) -> None:
    result = run_cli(admin_dir, "token", *args)
    assert result.returncode == code
    assert result.stdout == ""
    assert problem in result.stderr
    assert "Traceback" not in result.stderr


def test_manage_passes_through_to_django(admin_dir: Path) -> None:
    out = run_ok(
        admin_dir,
        "manage",
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default']['NAME'])",
    )
    assert out.strip() == str(admin_dir / "sounding.sqlite3")


def test_migrate_creates_the_database(tmp_path: Path) -> None:
    run_ok(tmp_path, "migrate")
    assert query(tmp_path, "SELECT count(*) FROM django_migrations")[0][0] > 0
