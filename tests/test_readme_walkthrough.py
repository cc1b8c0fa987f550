"""The README's five-minute walkthrough, run as written against a real `sounding serve`.

Its shell blocks are read from README.md and run by bash, changed only where a test must: the
server's address (a free port instead of 8000), the password `createadmin` would prompt for,
and `.venv/bin/sounding` (the console script of the interpreter running the tests). A second
workspace, with a survey of its own, exists first: ids count across workspaces, so a
walkthrough that assumed survey 1 would publish someone else's survey, or none.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.procs import SOUNDING, Server, cli_env, run_ok, serving
from tests.test_serve_process import post_form

pytestmark = [pytest.mark.process, pytest.mark.any_db]

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"


def walkthrough_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Five-minute walkthrough", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def as_run_here(block: str, server: Server) -> str:
    block = block.replace("http://127.0.0.1:8000", server.url)
    block = block.replace(".venv/bin/sounding", SOUNDING)
    return re.sub(
        r'(createadmin --email \S+ --workspace "[^"]+")', rf"\1 --password '{PASSWORD}'", block
    )


def bash(script: str, data_dir: Path, cwd: Path) -> str:
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        env=cli_env(data_dir),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{script}\n--- failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_the_readme_walkthrough_works_as_written_beside_another_workspace(
    tmp_path: Path,
) -> None:
    blocks = walkthrough_blocks()
    assert len(blocks) == 3, "the walkthrough's blocks changed: update this test"
    data_dir = tmp_path / "sounding-data"
    run_ok(
        data_dir,
        "createadmin",
        "--email",
        "first@example.test",
        "--password",
        PASSWORD,
        "--workspace",
        "Other team",
    )
    other_token = run_ok(data_dir, "token", "create", "--email", "first@example.test").strip()
    state = tmp_path / "walkthrough.env"

    with serving(data_dir, tmp_path / "serve.log") as server:
        theirs = httpx.post(
            f"{server.url}/api/v1/surveys",
            json={
                "title": "Theirs",
                "questions": [{"key": "ok", "type": "yes_no", "prompt": "OK?"}],
            },
            headers={"Authorization": f"Bearer {other_token}"},
            timeout=10,
        )
        assert theirs.status_code == 201, theirs.text
        assert theirs.json()["id"] == 1

        # Steps 1 to 4, in one terminal session as the README runs them.
        setup = "\n".join(as_run_here(b, server) for b in blocks[:2])
        out = bash(setup + f'\ndeclare -p TOKEN SURVEY > "{state}"\n', data_dir, tmp_path)
        created, published = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert created["id"] != 1 and created["status"] == "draft"
        assert published["id"] == created["id"] and published["status"] == "live"
        # Nobody else's survey was touched.
        theirs_now = httpx.get(
            f"{server.url}/api/v1/surveys/1",
            headers={"Authorization": f"Bearer {other_token}"},
            timeout=10,
        )
        assert theirs_now.json()["status"] == "draft"

        # Step 5: answer as the respondent `abc`.
        page = httpx.get(f"{created['url']}?user_braze_id=abc", timeout=10)
        form = post_form(page.text)
        answer = {"r": form.fields.get("r", ""), "q": "nps", "a": "9", "nav": "next"}
        posted = httpx.post(page.url.join(form.action or ""), data=answer, timeout=10)
        assert posted.status_code == 303, posted.text

        # Step 6, in the same terminal session (its variables).
        listed = bash(f'source "{state}"\n' + as_run_here(blocks[2], server), data_dir, tmp_path)
    responses = json.loads(listed)
    assert [r["identity"]["braze_id"] for r in responses["items"]] == ["abc"]
    assert responses["items"][0]["answers"] == {"nps": 9}
