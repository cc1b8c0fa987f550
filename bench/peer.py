"""Sounding against django-survey-and-report on the same machine and server (bench/README.md).

For each database, respond.py's clients measure Sounding along each path a respondent takes:
without JavaScript (plain form posts, each followed to the next screen), and with it (the
answers as JSON, as respond.js sends them). Then the peer, installed from PyPI in its own
virtual environment (bench/.peer-venv) and served by the same Granian command with the same
number of workers, answers the same six questions through its one-page form, as a browser
without JavaScript does. All are timed by the same clients and read from /proc the same way,
and each must have stored every response it was credited with (and, with --braze, Sounding
must have delivered each to the Braze stand-in).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import httpx
import psycopg
from django.utils.text import slugify

# Run as `python bench/peer.py`, so bench/ is on sys.path and respond.py is importable.
from respond import (
    ANSWERS,
    CHOICES,
    PG_ADMIN,
    SURVEY,
    Outcome,
    Point,
    add_arguments,
    align,
    bench_database,
    check_stored,
    count_stored,
    cpu_ms,
    databases,
    free_port,
    kill_session,
    machine,
    measure,
    peak_rss_mb,
    per_second,
    percentile_ms,
    report,
    reset_postgres,
    rss_line,
    start_session,
    submit_forms,
    submit_js,
    table,
    wait_ready,
)

from sounding.cli import default_workers
from sounding.processes import WEB_APP, web_command

PEER = "django-survey-and-report"
PEER_VERSION = "1.5.0"
BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".peer-venv"
PEER_PYTHON = VENV / "bin" / "python"
INSTALLED = VENV / "bench-requirements.txt"  # what was installed, to reinstall on a change
PG_DB = "bench_peer"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
MAX_SECONDS = 60.0


@dataclass(frozen=True)
class RespondentPath:
    """One way a respondent answers Sounding, and how much better than the peer it must do."""

    name: str
    submit: Callable[[httpx.Client, str, str], None]
    requests: str  # what one submission sends
    cpu: float  # the peer's CPU per submission over Sounding's, at every concurrency
    throughput: float | None = None  # Sounding's submissions/s over the peer's ...
    at: int = 32  # ... at this concurrency


PATHS = {
    "forms": RespondentPath(
        "without JavaScript",
        submit_forms,
        "its GET, then six form POSTs each followed by the GET its 303 leads to",
        cpu=2.5,
    ),
    "js": RespondentPath(
        "with JavaScript",
        submit_js,
        "its GET and six JSON POSTs (the first reply bringing the screens, the last the "
        "thank-you page)",
        cpu=3.0,
        throughput=2.0,
    ),
}
# respond.py's six questions in the peer's own types: (key, peer type, choices, shown as).
QUESTIONS: list[tuple[str, str, list[str], str]] = [
    ("nps", "radio", [str(n) for n in range(11)], "radio 0-10"),
    ("rating", "radio", [str(n) for n in range(1, 6)], "radio 1-5"),
    ("channel", "radio", CHOICES, "radio of 3"),
    ("channels", "select-multiple", CHOICES, "select-multiple (checkboxes) of 3"),
    ("renew", "radio", ["Yes", "No"], "radio Yes/No"),
    ("comment", "text", [], "text (textarea)"),
]
# The peer's choice fields post slugify(choice); respond.py's answers, in that form.
PEER_ANSWERS = {
    key: [slugify(a) for a in ANSWERS[key]] if choices else ANSWERS[key]
    for key, _, choices, _ in QUESTIONS
}
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')
FORM_ACTION = re.compile(r'<form action="([^"]*)"')
QUESTION_FIELD = re.compile(r'name="(question_\d+)"')
SAVED = "Thanks! Your answers have been saved"  # the peer's confirmation page
# A stored response with one answer per question.
STORED_SQL = (
    "SELECT count(*) FROM survey_response r WHERE "
    f"(SELECT count(*) FROM survey_answer a WHERE a.response_id = r.id) = {len(QUESTIONS)}"
)


@dataclass(frozen=True)
class PeerForm:
    """Where the peer's survey is, and what to post in each of its fields."""

    path: str
    answers: dict[str, list[str]]  # form field name -> values


def submit_peer(client: httpx.Client, form: PeerForm, respondent: str) -> None:
    """One complete response: the survey page, its form posted whole, the confirmation.
    Every submission is a new person, so no cookie (session, CSRF) is carried over."""
    client.cookies.clear()
    page = client.get(form.path).raise_for_status()
    token, action = CSRF.search(page.text), FORM_ACTION.search(page.text)
    if token is None or action is None:
        raise AssertionError(f"no survey form with a CSRF token on {page.url}")
    if set(QUESTION_FIELD.findall(page.text)) != set(form.answers):
        raise AssertionError(f"{page.url} does not ask the six questions it was given")
    data = {"csrfmiddlewaretoken": unescape(token.group(1)), **form.answers}
    done = client.post(unescape(action.group(1)), data=data, follow_redirects=True)
    if SAVED not in done.raise_for_status().text:
        raise AssertionError(f"the form did not lead to the confirmation page ({done.url})")


def requirements(version: str) -> list[str]:
    """The peer, and the Django, Granian and psycopg that Sounding runs here (the peer's
    metadata allows Django >=2.2,<7)."""
    from importlib.metadata import version as installed

    return [
        f"{PEER}=={version}",
        f"django=={installed('django')}",
        f"granian=={installed('granian')}",
        f"a2wsgi=={installed('a2wsgi')}",
        f"psycopg[binary]=={installed('psycopg')}",
    ]


def ensure_venv(version: str) -> None:
    wanted = "\n".join(requirements(version)) + "\n"
    if PEER_PYTHON.exists() and INSTALLED.exists() and INSTALLED.read_text() == wanted:
        return
    print(f"installing {PEER} {version} in {VENV.relative_to(BENCH.parent)}", flush=True)
    if not PEER_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(PEER_PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, *wanted.split()], check=True)
    INSTALLED.write_text(wanted)


def peer_env(data_dir: str, db: str, stock: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOUNDING_", "PEER_"))}
    env.pop("DATABASE_URL", None)
    # peer_site, and Sounding's front, which the peer is served behind too.
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH), str(BENCH.parent)])
    env["DJANGO_SETTINGS_MODULE"] = "peer_site.settings"
    env["PEER_DATA_DIR"] = data_dir
    env["PEER_SECRET_KEY"] = secrets.token_urlsafe(50)  # one for every worker: sessions
    if db == "postgres":
        env["PEER_DATABASE"] = PG_DB
    if stock:
        env["PEER_STOCK_DATABASE"] = "1"
    return env


def run_peer(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(PEER_PYTHON), *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"peer: {' '.join(args[:3])} failed:\n{done.stderr}")
    return done.stdout.strip()


def peer_command(port: int, workers: int) -> list[str]:
    """Sounding's own Granian command (sounding/processes.py), pointed at the peer."""
    command = web_command("127.0.0.1", port, workers)
    if command[0] != sys.executable or command[-1] != WEB_APP:
        raise SystemExit("sounding.processes.web_command changed shape: update peer_command")
    return [str(PEER_PYTHON), *command[1:-1], "peer_site.asgi:application"]


def peer_role(sid: int, pid: int, fields: list[str]) -> str:
    return "web main" if pid == sid else "web workers"


def seed(env: dict[str, str]) -> PeerForm:
    """Migrate, create the survey, and learn which form field carries which question."""
    run_peer(env, "-m", "django", "migrate", "--noinput")
    prompts = {q["key"]: q["prompt"] for q in SURVEY["questions"]}
    specs = [
        {"key": key, "type": kind, "choices": choices, "text": prompts[key]}
        for key, kind, choices, _ in QUESTIONS
    ]
    made = json.loads(run_peer(env, "-m", "peer_site.seed", json.dumps(specs)))
    answers = {made["fields"][key]: PEER_ANSWERS[key] for key, *_ in QUESTIONS}
    return PeerForm(f"/survey/{made['survey']}/", answers)


def bench_peer(db: str, args: argparse.Namespace) -> Outcome:
    """The peer on `db`: migrated, seeded, served, measured, stopped, its responses counted."""
    with tempfile.TemporaryDirectory(prefix="peer-bench-") as data_dir:
        env = peer_env(data_dir, db, args.peer_stock_database)
        form = seed(env)
        port, log = free_port(), Path(data_dir) / "granian.log"
        url = f"http://127.0.0.1:{port}"
        proc = start_session(peer_command(port, args.workers), env, log)
        try:
            wait_ready(proc, url, log)
            points, warmed = measure(proc.pid, url, form, args, submit_peer)
            credited = warmed + sum(len(p.latencies) for p in points)
            outcome = Outcome(db, points, peak_rss_mb(proc.pid, peer_role), credited=credited)
        finally:
            kill_session(proc)
        where = PG_URL if db == "postgres" else str(Path(data_dir) / "peer.sqlite3")
        outcome.stored = count_stored(db, where, STORED_SQL)
    return outcome


def reset_databases() -> None:
    reset_postgres()
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


def latencies(point: Point) -> str:
    return "/".join(f"{percentile_ms(point.latencies, pct):.0f}" for pct in (50, 95, 99))


def ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else float("inf")


def comparison(ours: Outcome, theirs: Outcome) -> str:
    """One row per concurrency: both servers side by side, and Sounding's advantage."""
    rows = [["concurrency", "Sounding sub/s", "peer sub/s", "x", "Sounding p50/p95/p99 ms"]]
    rows[0] += ["peer p50/p95/p99 ms", "Sounding CPU ms/sub", "peer CPU ms/sub", "x"]
    for s, p in zip(ours.points, theirs.points, strict=True):
        rows.append(
            [str(s.concurrency), f"{per_second(s):.1f}", f"{per_second(p):.1f}"]
            + [f"{ratio(per_second(s), per_second(p)):.2f}", latencies(s), latencies(p)]
            + [f"{cpu_ms(s):.1f}", f"{cpu_ms(p):.1f}", f"{ratio(cpu_ms(p), cpu_ms(s)):.2f}"]
        )
    return align(rows)


def verdict(ours: Outcome, theirs: Outcome, path: RespondentPath) -> str:
    """Whether Sounding meets the path's targets against the peer, and by how much it falls
    short: CPU per submission at every concurrency, throughput at one."""
    pairs = list(zip(ours.points, theirs.points, strict=True))
    checks = [(f"CPU per submission {path.cpu:g}x", path.cpu, pairs, cpu_ratio)]
    if path.throughput is not None:
        at = [(s, p) for s, p in pairs if s.concurrency == path.at]
        label = f"throughput {path.throughput:g}x at {path.at}"
        checks.append((label, path.throughput, at, throughput_ratio))
    parts = []
    for name, target, measured, of in checks:
        ratios = [(s.concurrency, of(s, p)) for s, p in measured]
        short = [(c, r) for c, r in ratios if r < target]
        if not ratios:
            parts.append(f"{name}: not measured")
        elif short:
            gaps = ", ".join(f"{r:.2f}x at {c} ({target - r:.2f} short)" for c, r in short)
            parts.append(f"{name} NOT met: {gaps}")
        else:
            parts.append(f"{name} met ({min(r for _, r in ratios):.2f}x at worst)")
    return f"target {path.name}: " + "; ".join(parts)


def cpu_ratio(ours: Point, theirs: Point) -> float:
    return ratio(cpu_ms(theirs), cpu_ms(ours))


def throughput_ratio(ours: Point, theirs: Point) -> float:
    return ratio(per_second(ours), per_second(theirs))


def describe(args: argparse.Namespace) -> None:
    versions = run_peer(
        {**os.environ, "PYTHONPATH": ""},
        "-c",
        "from importlib.metadata import version as v; "
        f"print(*(p + ' ' + v(p) for p in ['{PEER}', 'django', 'granian']), sep=', ')",
    )
    print(f"peer: {versions} ({VENV.relative_to(BENCH.parent)})")
    mapping = ", ".join(f"{key} -> {shown}" for key, _, _, shown in QUESTIONS)
    print(f"peer survey: {mapping}; all required, one page, anonymous answers")
    options = "startproject's" if args.peer_stock_database else "Sounding's"
    print(f"peer database options: {options} (bench/peer_site/settings.py)")
    print(f"both: Granian, {args.workers} web workers, one blocking thread each")
    for key in args.paths:
        path = PATHS[key]
        print(f"a submission to Sounding {path.name} ({key}): {path.requests}")
    print("a submission to the peer: its GET, one POST and the GET its redirect leads to")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser)
    add = parser.add_argument
    add("--peer-version", default=PEER_VERSION, help=f"default {PEER_VERSION}")
    add(
        "--path",
        choices=["forms", "js", "both"],
        default="both",
        help="Sounding's respondent path: plain forms (no JavaScript), JSON answers as "
        "respond.js sends them, or both (default)",
    )
    add(
        "--peer-stock-database",
        action="store_true",
        help="give the peer startproject's database options (a connection per request) "
        "instead of Sounding's (connections kept open, SQLite in WAL mode)",
    )
    args = parser.parse_args()
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be more than 0 and at most {MAX_SECONDS:g}")
    args.workers = args.workers or default_workers()  # the same number for both servers
    args.paths = ["forms", "js"] if args.path == "both" else [args.path]
    return args


def main() -> int:
    args = parse_args()
    ensure_venv(args.peer_version)
    print(machine())
    describe(args)
    for db in databases(args.db, reset_databases):
        ours_by_path = {}
        for key in args.paths:
            print(f"\n{db}: Sounding {PATHS[key].name} ({key})")
            ours_by_path[key] = bench_database(db, args, PATHS[key].submit)
            report(ours_by_path[key], args)
            if db == "postgres" and key != args.paths[-1]:
                reset_postgres()  # each path starts from an empty database, as the first did
        theirs = bench_peer(db, args)
        print(f"\n{db}: {PEER} ({theirs.workers} web workers, {args.seconds:g} s per point)")
        print(table(theirs.points))
        print(rss_line(theirs.rss))
        print(f"stored: {theirs.stored} complete responses for {theirs.credited} submissions")
        for error in sorted({e for p in theirs.points for e in p.errors})[:5]:
            print(f"  error: {error}")
        braze = ", Sounding with Braze sync on" if args.braze else ""
        for key, ours in ours_by_path.items():
            path = PATHS[key]
            print(f"\n{db}: Sounding {path.name} and {PEER} side by side{braze}")
            print(comparison(ours, theirs))
            print(verdict(ours, theirs, path))
        for key, ours in ours_by_path.items():
            check_stored(f"Sounding {PATHS[key].name}", ours)
        check_stored(PEER, theirs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
