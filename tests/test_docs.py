"""The documentation keeps up with the code: every setting and every API path is described."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
SETTING = re.compile(r'(?:environ\.get|_flag|read_secret)\(\s*"([A-Z][A-Z0-9_]+)"')


def settings_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "sounding").rglob("*.py"):
        names.update(SETTING.findall(path.read_text()))
    return names


def test_the_code_reads_settings_at_all() -> None:
    assert {"SOUNDING_DATA_DIR", "DATABASE_URL", "SOUNDING_SECRET_KEY"} <= (
        settings_read_by_the_code()
    )


@pytest.mark.parametrize("name", sorted(settings_read_by_the_code()))
def test_every_environment_variable_is_documented(name: str) -> None:
    assert f"`{name}`" in (ROOT / "docs" / "configuration.md").read_text()


@pytest.mark.django_db
def test_every_api_path_is_documented() -> None:
    document = Client().get("/api/v1/openapi.json").json()
    api_doc = (ROOT / "docs" / "api.md").read_text()
    for path, operations in document["paths"].items():
        short = re.sub(r"\{[^}]+\}", "{id}", path.removeprefix("/api/v1"))
        for method in operations:
            assert f"{method.upper()} /api/v1{short}" in api_doc or (
                f"{method.upper()} {short}" in api_doc
            ), f"{method.upper()} {path} is not in docs/api.md"


def files_the_settings_keep_in_the_data_directory() -> set[str]:
    settings_py = (ROOT / "sounding" / "settings.py").read_text()
    return set(re.findall(r'persistent_secret\(DATA_DIR, "([^"]+)"\)', settings_py)) | set(
        re.findall(r'DATA_DIR / "([^"]+)"', settings_py)
    )


def test_every_file_in_the_data_directory_is_listed() -> None:
    files = files_the_settings_keep_in_the_data_directory()
    assert {"secret_key", "encryption_key", "sounding.sqlite3"} <= files
    configuration = (ROOT / "docs" / "configuration.md").read_text()
    section = configuration.split("## `SOUNDING_DATA_DIR`", 1)[1].split("\n## ", 1)[0]
    for name in files:
        assert f"- `{name}`" in section, f"{name} is not listed under SOUNDING_DATA_DIR"
