"""Where Sounding keeps its state when no database URL is given."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def data_dir() -> Path:
    path = Path(os.environ.get("SOUNDING_DATA_DIR", "sounding-data")).resolve()
    # It holds password hashes, sessions, answers and maybe the keys: its owner's alone.
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty and readable by its owner only, unless it exists (SQLite then opens
    it, and makes its journal files with the same permissions)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def exposed(path: Path) -> bool:
    """Whether others than the owner may read or enter `path`."""
    try:
        return bool(path.stat().st_mode & 0o077)
    except OSError:
        return False


def read_secret(name: str) -> str | None:
    """Read NAME from the environment, or from the file named by NAME_FILE (Docker secrets)."""
    value = os.environ.get(name)
    if value:
        return value
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text().strip()
    return None


def persistent_secret(directory: Path, file_name: str) -> str:
    """Return a secret kept in the data directory, generating it on first start.

    Generated once and kept, so sessions and signed links survive restarts without
    the operator having to set anything.
    """
    path = directory / file_name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(50)
    # O_EXCL: two processes starting at once must agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value
