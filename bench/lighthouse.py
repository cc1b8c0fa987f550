"""Lighthouse on the respondent pages, as a phone sees them (bench/README.md).

Starts `sounding serve` on a scratch SQLite database, makes a live survey in a workspace with a
logo, answers it once to reach its thank-you page, and runs Lighthouse (installed with
`npm ci --prefix bench/lighthouse`, never by the test suite) on the first question page and
the thank-you page with the mobile form factor. Prints the performance, accessibility and
best-practices scores of each; exits 1 when any is under --floor (100 unless told).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import struct
import subprocess
import sys
import tempfile
import zlib
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from respond import (  # noqa: E402  (a sibling script, not a package)
    SOUNDING,
    free_port,
    kill_session,
    run_cli,
    server_env,
    start_session,
    wait_ready,
)

HERE = Path(__file__).resolve().parent / "lighthouse"
LIGHTHOUSE = HERE / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-background-networking --disable-component-update "
    "--disable-sync --no-first-run"
)
CATEGORIES = ("performance", "accessibility", "best-practices")
EMAIL = "lighthouse@example.com"
SURVEY = {
    "title": "Lighthouse pulse",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {
            "key": "plan",
            "type": "single_choice",
            "prompt": "Which plan are you on?",
            "choices": ["Free", "Pro", "Enterprise"],
        },
    ],
    "thank_you": "Thank you: we read every answer.",
}
ANSWERS = {"nps": "9", "plan": "Pro"}
HIDDEN = re.compile(r'<input type="hidden" name="(csrfmiddlewaretoken|r|q)" value="([^"]*)"')


def logo_png(width: int = 320, height: int = 96) -> bytes:
    """A two-colour PNG at twice the 48 pixels high it is shown at, as phones want."""
    row = b"\x00" + b"".join(
        b"\x3d\x3a\xb8" if x < width // 3 else b"\xff\xff\xff" for x in range(width)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def fields(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in HIDDEN.findall(html)}


def set_up(url: str, env: dict[str, str]) -> tuple[str, str]:
    """The live survey with a logo: its first page's URL and its thank-you page's URL."""
    password = secrets.token_urlsafe(16)
    run_cli(env, "createadmin", "--email", EMAIL, f"--password={password}", "--workspace", "LH")
    token = run_cli(env, "token", "create", "--email", EMAIL)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=30) as api:
        created = api.post("/surveys", json=SURVEY).raise_for_status().json()
        api.post(f"/surveys/{created['id']}/publish").raise_for_status()
    with httpx.Client(base_url=url, timeout=30, headers={"Referer": url + "/"}) as web:
        login = web.get("/login").raise_for_status().text
        signed_in = web.post(
            "/login", data={**fields(login), "username": EMAIL, "password": password}
        )
        if signed_in.status_code != 302:
            raise SystemExit(f"signing in failed with {signed_in.status_code}")
        page = web.get("/settings/branding").raise_for_status().text
        branding = {
            **fields(page),
            "accent": "#3D3AB8",
            "button_shape": "rounded",
            "button_fill": "filled",
            "font": "system",
            "logo_alt": "Lighthouse Inc.",
        }
        saved = web.post(
            "/settings/branding",
            data=branding,
            files={"logo": ("logo.png", logo_png(), "image/png")},
        )
        if saved.status_code != 302:
            raise SystemExit(f"saving the logo failed with {saved.status_code}")
    first = f"{url}/s/{created['slug']}"
    with httpx.Client(timeout=30) as respondent:
        page = respondent.get(first).raise_for_status()
        for key in ("nps", "plan"):
            form = fields(page.text)
            action = re.search(r'<form method="post" action="([^"]*)"', page.text)
            target = urljoin(str(page.url), unescape(action[1])) if action else str(page.url)
            page = respondent.post(target, data={**form, "a": ANSWERS[key]}, follow_redirects=True)
            page.raise_for_status()
        if SURVEY["thank_you"] not in page.text:
            raise SystemExit("answering the survey did not reach its thank-you page")
        done = str(page.url)
        token = fields(page.text).get("r") or respondent.cookies.get(f"sr_{created['id']}", "")
    # A new browser holds no cookie: the token in the link vouches for it, as the server's
    # own links do.
    if "r=" not in done and token:
        done += ("&" if "?" in done else "?") + f"r={token}"
    return first, done


def lighthouse(url: str, out: Path) -> dict[str, int]:
    env = {**os.environ, "CHROME_PATH": CHROME}
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--form-factor=mobile",
            "--screenEmulation.mobile",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={CHROME_FLAGS}",
            "--output=json",
            f"--output-path={out}",
        ],
        env=env,
        check=True,
    )
    report = json.loads(out.read_text())
    failing = [
        f"    {audit['id']}: {audit['title']}"
        for audit in report["audits"].values()
        if audit.get("score") is not None
        and audit["score"] < 1
        and audit["scoreDisplayMode"] in ("binary", "numeric", "metricSavings")
    ]
    scores = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    if failing:
        print("  below full marks:\n" + "\n".join(failing[:20]))
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", type=int, default=100, help="the lowest score accepted")
    parser.add_argument("--keep", help="a folder to keep the Lighthouse JSON reports in")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"no Lighthouse: run `npm ci --prefix {HERE}` first")
    with tempfile.TemporaryDirectory(prefix="sounding-lighthouse-") as scratch:
        data = Path(scratch)
        env = server_env(str(data), "sqlite")
        run_cli(env, "migrate")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = data / "serve.log"
        command = [SOUNDING, "serve", "--host", "127.0.0.1", "--port", str(port)]
        proc = start_session(command, env, log)
        try:
            wait_ready(proc, url, log)
            first, done = set_up(url, env)
            reports = Path(args.keep) if args.keep else data
            reports.mkdir(parents=True, exist_ok=True)
            worst = 100
            for name, page in (("first question", first), ("thank-you page", done)):
                print(f"{name}: {page}")
                scores = lighthouse(page, reports / f"{name.split()[0]}.json")
                worst = min(worst, *scores.values())
                print("  " + "  ".join(f"{k} {v}" for k, v in scores.items()))
        finally:
            kill_session(proc)
    return 0 if worst >= args.floor else 1


if __name__ == "__main__":
    sys.exit(main())
