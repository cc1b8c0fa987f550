"""A destination's settings come from its own package (`<package>/conf.py`), read from the
environment when Django's settings load, and a mistake stops the start with what to write."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.any_db

READ = (
    "import django.conf; s = django.conf.settings; "
    "print(s.BRAZE_ALLOWED_ENDPOINTS, s.WEBHOOK_ALLOWED_URLS)"
)


def settings_with(tmp_path: os.PathLike[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_ALLOWED_ENDPOINTS")}
    clean = {k: v for k, v in clean.items() if not k.endswith("_ALLOWED_URLS")}
    return subprocess.run(
        [sys.executable, "-c", READ],
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "sounding.settings",
            "SOUNDING_DATA_DIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_each_destination_reads_its_own_variables(tmp_path: os.PathLike[str]) -> None:
    done = settings_with(
        tmp_path,
        SOUNDING_BRAZE_ALLOWED_ENDPOINTS=" http://braze-proxy:8080/ ,http://127.0.0.1:9911",
        SOUNDING_WEBHOOK_ALLOWED_URLS="http://10.0.0.5:8080/hooks/",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "['http://braze-proxy:8080', 'http://127.0.0.1:9911'] ['http://10.0.0.5:8080/hooks/']"
    )


def test_none_set_allows_nothing_more(tmp_path: os.PathLike[str]) -> None:
    done = settings_with(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] []"


def test_a_prefix_that_is_no_url_stops_the_start_saying_what_to_write(
    tmp_path: os.PathLike[str],
) -> None:
    done = settings_with(tmp_path, SOUNDING_WEBHOOK_ALLOWED_URLS="ftp://x")
    assert done.returncode != 0
    assert "SOUNDING_WEBHOOK_ALLOWED_URLS must list URL prefixes" in done.stderr
    assert "'ftp://x' is not one" in done.stderr
