"""The `sounding` command: run the server, run its halves separately, and operator chores.

Django is set up only inside the commands that need it, so `sounding --version` and
`sounding --help` answer instantly and work without a data directory.
"""

from __future__ import annotations

import argparse
import getpass
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sounding import __version__, destinations
from sounding.processes import (
    SETTINGS_MODULE,
    STOP_GRACE_SECONDS,
    Children,
    bind_address,
    child_environment,
    is_listening,
    stop_on_signals,
    supervise,
    web_command,
    web_environment,
    worker_command,
)

if TYPE_CHECKING:
    from datetime import datetime

    from sounding.accounts.models import ApiToken, User, Workspace

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_WORKSPACE = "My workspace"
# Requests are short and CPU-bound: more processes than CPUs only adds memory and switching.
MAX_DEFAULT_WORKERS = 8
# How often a worker started before the database is ready looks again.
SCHEMA_POLL_SECONDS = 1.0


class CliError(Exception):
    """A problem to report on one line of stderr, exiting with `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --- Django --------------------------------------------------------------------------------


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    import django

    django.setup()


def migrations_pending() -> bool:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def migrate(verbosity: int = 1) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=verbosity, interactive=False)


def ensure_migrated() -> None:
    """Bring the database up to date, quietly; checking first keeps restarts write-free."""
    if migrations_pending():
        print("Preparing the database…", file=sys.stderr, flush=True)
        migrate(verbosity=0)


def close_database() -> None:
    # Children and the exec'd web server open their own connections; don't hand ours down.
    from django.db import connections

    connections.close_all()


def schema_not_ready() -> tuple[str, str] | None:
    """Why the database cannot be worked on yet, as (state, explanation); None when it can."""
    from django.db import DatabaseError

    from sounding.health import pending_migrations

    try:
        pending = pending_migrations()
    except DatabaseError as error:
        close_database()
        return "unreachable", f"cannot reach the database ({error})"
    if not pending:
        return None
    shown = ", ".join(pending[:3]) + (f" and {len(pending) - 3} more" if pending[3:] else "")
    return "behind", (
        f"the database is not migrated yet ({shown} not applied): run `sounding migrate`, "
        "or start `sounding web`, which migrates"
    )


def wait_for_schema(stop: threading.Event) -> bool:
    """Wait until the database answers and has every migration applied, saying once why;
    False if stopped meanwhile."""
    log = logging.getLogger("sounding.worker")
    said = ""
    while not stop.is_set():
        waiting = schema_not_ready()
        if waiting is None:
            if said:
                log.info("the database is ready; starting")
            return True
        state, reason = waiting
        if state != said:
            log.warning("%s; waiting for it before delivering", reason)
            said = state
        stop.wait(SCHEMA_POLL_SECONDS)
    return False


def any_user_exists() -> bool:
    from sounding.accounts.models import User

    return User.objects.exists()


# --- Commands ------------------------------------------------------------------------------


def default_workers() -> int:
    configured = os.environ.get("SOUNDING_WEB_WORKERS", "").strip()
    if configured:
        return parse_workers(configured, "SOUNDING_WEB_WORKERS")
    try:
        cpus = len(os.sched_getaffinity(0))  # honours container CPU limits set by cpuset
    except AttributeError:
        cpus = os.cpu_count() or 1
    return min(max(cpus, 2), MAX_DEFAULT_WORKERS)


def parse_workers(value: str, source: str) -> int:
    try:
        workers = int(value)
    except ValueError:
        workers = 0
    if workers < 1:
        raise CliError(f"{source} must be a whole number of at least 1, not {value!r}.", 2)
    return workers


def resolve_workers(args: argparse.Namespace) -> int:
    if args.workers is not None:
        return parse_workers(str(args.workers), "--workers")
    return default_workers()


def announce_address(host: str, port: int) -> None:
    """Before Django is set up: the address this server answers on becomes the canonical one
    when SOUNDING_SITE_URL is not set, for this process and its children (sounding.addresses).
    Then the checks that concern a server reachable from other machines are printed."""
    from sounding.addresses import served_url

    os.environ["SOUNDING_SERVED_AT"] = served_url(host, port)


def warn_if_unsafe() -> None:
    from django.core.checks import run_checks

    for message in run_checks(tags=None):
        if message.id and message.id.startswith("sounding."):
            print(f"Warning ({message.id}): {message.msg} {message.hint}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    workers = resolve_workers(args)
    if is_listening(args.host, args.port):
        # Otherwise the address would be announced while the web server fails to bind it.
        raise CliError(f"Something is already listening on {bind_address(args.host, args.port)}.")
    announce_address(args.host, args.port)
    setup_django()
    warn_if_unsafe()
    ensure_migrated()
    first_run = not any_user_exists()
    env = child_environment()
    close_database()
    stop = threading.Event()
    stop_on_signals(stop)  # before starting children: an early SIGTERM must not orphan them
    children = Children()
    web_env = web_environment(env, args.host, args.port)
    try:
        children.start("web", web_command(args.host, args.port, workers), web_env)
        children.start("worker", worker_command(), env)
        return supervise(children, stop, args.host, args.port, first_run)
    finally:
        children.stop(STOP_GRACE_SECONDS)


def cmd_web(args: argparse.Namespace) -> int:
    workers = resolve_workers(args)
    if is_listening(args.host, args.port):
        # Before anything else: the server there may be one of ours, with its metrics.
        raise CliError(f"Something is already listening on {bind_address(args.host, args.port)}.")
    announce_address(args.host, args.port)
    setup_django()
    warn_if_unsafe()
    ensure_migrated()
    env = web_environment(child_environment(), args.host, args.port)
    close_database()
    command = web_command(args.host, args.port, workers)
    # Become the web server: the process manager's signals then reach it directly.
    os.execve(command[0], command, env)
    return 0  # not reached


def cmd_worker(args: argparse.Namespace) -> int:
    # Handlers first: a stop requested while Django loads must still end in a clean exit.
    stop = threading.Event()
    stop_on_signals(stop)
    setup_django()
    if not wait_for_schema(stop):
        return 0
    from sounding.delivery.worker import run_forever

    run_forever(stop)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    setup_django()
    migrate(verbosity=1)
    return 0


def cmd_manage(argv: Sequence[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["sounding manage", *argv])
    return 0


def ask(prompt: str, secret: bool = False) -> str:
    if not sys.stdin.isatty():
        raise CliError("--email and --password are required when not run from a terminal.", 2)
    return getpass.getpass(prompt) if secret else input(prompt)


def ask_new_password() -> str:
    password = ask("Password: ", secret=True)
    if password != ask("Password (again): ", secret=True):
        raise CliError("The passwords do not match.")
    return password


def check_credentials(email: str, password: str) -> None:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from sounding.accounts.models import User

    try:
        validate_email(email)
    except ValidationError as error:
        raise CliError(f"{email!r} is not a valid email address.") from error
    try:
        validate_password(password, User(email=email))
    except ValidationError as error:
        raise CliError("Password rejected: " + " ".join(error.messages)) from error


def create_owner(email: str, password: str, workspace_name: str) -> tuple[User, Workspace, bool]:
    """A new user who owns the workspace named `workspace_name`: the existing one of that
    name (True), or a new one (False)."""
    from django.db import IntegrityError, transaction

    from sounding.accounts.models import Membership, Role, User, Workspace

    exists = email_taken(email)
    if User.objects.filter(email__iexact=email).exists():
        raise exists
    named = list(Workspace.objects.filter(name=workspace_name).order_by("pk"))
    if len(named) > 1:
        ids = ", ".join(str(w.pk) for w in named)
        raise CliError(
            f'Several workspaces are named "{workspace_name}" (ids {ids}); nothing was changed. '
            "Invite the person from the Members page of the one you mean instead."
        )
    try:
        with transaction.atomic():
            user = User.objects.create_user(email, password)
            workspace = named[0] if named else Workspace.objects.create(name=workspace_name)
            Membership.objects.create(user=user, workspace=workspace, role=Role.OWNER)
    except IntegrityError as error:  # created by someone else between the check and here
        raise exists from error
    return user, workspace, bool(named)


def email_taken(email: str) -> CliError:
    return CliError(f"A user with the email {email} already exists; nothing was changed.")


def existing_workspaces() -> list[Workspace]:
    from sounding.accounts.models import Workspace

    return list(Workspace.objects.order_by("pk"))


def _names(workspaces: list[Workspace]) -> str:
    return ", ".join(f'"{w.name}"' for w in workspaces)


def cmd_createadmin(args: argparse.Namespace) -> int:
    # Ask before touching the database, so a wrong invocation fails fast and changes nothing.
    email = (args.email or ask("Email: ")).strip()
    password = args.password or ask_new_password()
    workspace_name = (args.workspace if args.workspace is not None else DEFAULT_WORKSPACE).strip()
    if not workspace_name:
        raise CliError("The workspace name cannot be empty.", 2)
    setup_django()
    ensure_migrated()
    check_credentials(email, password)
    from sounding.accounts.models import User

    if User.objects.filter(email__iexact=email).exists():
        raise email_taken(email)
    before = existing_workspaces()
    if args.workspace is None and before:
        # Most likely the first visit's setup made one: a second, silent workspace would hide
        # the surveys the person expects to see.
        raise CliError(
            f"This installation already has the workspace {_names(before)}; nothing was "
            "changed. Choose with --workspace NAME: the name of an existing workspace makes "
            "the new user one of its owners, a new name creates a separate workspace.",
            2,
        )
    user, workspace, joined = create_owner(email, password, workspace_name)
    if joined:
        print(f'Created {user.email}, an owner of the existing workspace "{workspace.name}".')
    else:
        print(f'Created {user.email}, owner of the new workspace "{workspace.name}".')
        if before:
            print(
                f"It is separate from the workspace {_names(before)} already here: its "
                "members, surveys and settings are not shared."
            )
    return 0


def find_user(email: str) -> User:
    from sounding.accounts.models import User

    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise CliError(f"No user with the email {email}.")
    return user


def membership_for_token(email: str, workspace_name: str | None) -> tuple[User, Workspace]:
    from sounding.accounts.models import Membership

    user = find_user(email)
    memberships = Membership.objects.filter(user=user).select_related("workspace")
    if workspace_name is not None:
        memberships = memberships.filter(workspace__name=workspace_name)
    found = list(memberships.order_by("workspace_id"))
    if not found:
        where = f'a workspace named "{workspace_name}"' if workspace_name else "any workspace"
        raise CliError(f"{user.email} is not a member of {where}.")
    if len(found) > 1:
        names = ", ".join(f'"{m.workspace.name}" (id {m.workspace_id})' for m in found)
        raise CliError(
            f"{user.email} belongs to several workspaces ({names}); "
            "choose one with --workspace NAME."
        )
    return user, found[0].workspace


def whole_days(value: str) -> int:
    # Only the form here: the allowed range is the tokens module's, read once Django is set up.
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"takes a whole number of days, not {value!r}")
    return int(value)


def token_id(value: str) -> int:
    # A number past 64 bits would overflow the database's integer rather than match nothing.
    number = int(value) if value.isdigit() and len(value) < 19 else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"a token id is a whole number from 1, not {value!r}")
    return number


def utc(moment: datetime | None, missing: str = "never") -> str:
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else missing


def cmd_token_create(args: argparse.Namespace) -> int:
    setup_django()
    ensure_migrated()
    from sounding.accounts.models import ApiToken
    from sounding.accounts.tokens import expiry_after

    name_limit = ApiToken._meta.get_field("name").max_length or 0
    if len(args.name) > name_limit:
        raise CliError(f"--name takes at most {name_limit} characters.", 2)
    try:
        expires_at = expiry_after(args.expires_in_days)
    except ValueError as error:
        raise CliError(f"--expires-in-days: {error}.", 2) from None
    user, workspace = membership_for_token(args.email, args.workspace)
    token, raw = ApiToken.issue(workspace, user, args.name, expires_at)
    # Only the token goes to stdout, so `TOKEN=$(sounding token create ...)` just works.
    print(raw)
    lasts = f"It expires {utc(token.expires_at)} UTC." if token.expires_at else "It never expires."
    print(
        f'API token {token.pk} for {user.email} in "{workspace.name}". {lasts} '
        "It is shown only this once.",
        file=sys.stderr,
    )
    return 0


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def cmd_token_list(args: argparse.Namespace) -> int:
    setup_django()
    ensure_migrated()
    from django.utils import timezone

    from sounding.accounts.models import ApiToken

    if args.workspace is not None:
        user, workspace = membership_for_token(args.email, args.workspace)
        tokens = ApiToken.objects.filter(user=user, workspace=workspace)
    else:
        user = find_user(args.email)
        tokens = ApiToken.objects.filter(user=user)
    now = timezone.now()
    found: list[ApiToken] = list(
        tokens.listed(now).select_related("workspace").order_by("-created_at", "-pk")
    )
    if not found:
        print(f"{user.email} has no API tokens to list.", file=sys.stderr)
        return 0
    header = ("ID", "NAME", "WORKSPACE", "CREATED", "LAST USED", "EXPIRES", "STATE")
    rows = [
        (
            str(token.pk),
            token.name or "-",
            token.workspace.name,
            utc(token.created_at),
            utc(token.last_used_at),
            utc(token.expires_at),
            token.state_at(now).value,
        )
        for token in found
    ]
    print_table(header, rows)
    print("Times are UTC. Revoked and expired tokens are listed for 30 days.", file=sys.stderr)
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    setup_django()
    ensure_migrated()
    from sounding.accounts.models import ApiToken

    token = ApiToken.objects.select_related("user", "workspace").filter(pk=args.id).first()
    if token is None:
        raise CliError(f"No API token with the id {args.id}; `sounding token list` shows them.")
    owner, workspace = token.user.email, token.workspace.name
    described = f'API token {token.pk} ("{token}") of {owner} in "{workspace}"'
    if not token.revoke():
        print(f"{described} was already revoked on {utc(token.revoked_at)} UTC; nothing changed.")
        return 0
    print(f"Revoked {described}: requests with it now get 401.")
    return 0


# --- Parser --------------------------------------------------------------------------------


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}; 0.0.0.0 for all)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="web worker processes (default $SOUNDING_WEB_WORKERS, else "
        f"one per CPU, at least 2 and at most {MAX_DEFAULT_WORKERS})",
    )


def add_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Callable[[argparse.Namespace], int],
    help_text: str,
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def add_destination_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Commands a destination package contributes in its `cli` module (`add_commands`); read
    without Django, like every command's options."""
    for dotted in destinations.REGISTRY.values():
        package = dotted.rsplit(".", 2)[0]
        if importlib.util.find_spec(f"{package}.cli") is not None:
            importlib.import_module(f"{package}.cli").add_commands(subparsers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sounding",
        description="Self-hosted surveys whose every answer reaches your customers' profiles "
        "as it is given.",
    )
    parser.add_argument("--version", action="version", version=f"sounding {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    add_server_options(
        add_command(
            commands, "serve", cmd_serve, "migrate, then run the web server and the delivery worker"
        )
    )
    add_server_options(add_command(commands, "web", cmd_web, "migrate, then run the web server"))
    add_command(commands, "worker", cmd_worker, "run the delivery worker")
    add_command(commands, "migrate", cmd_migrate, "create or update the database tables")
    # Listed for --help only: main() hands `manage` to Django before argparse sees it.
    add_command(
        commands,
        "manage",
        lambda _: cmd_manage([]),
        "run a Django management command with Sounding's settings",
    )

    admin = add_command(
        commands,
        "createadmin",
        cmd_createadmin,
        "create a user who owns a workspace (prompts when run in a terminal)",
    )
    admin.add_argument("--email")
    admin.add_argument("--password", help="prompted for when omitted in a terminal")
    admin.add_argument(
        "--workspace",
        help="the workspace the user owns: an existing one by its name, or a new one "
        f'(default "{DEFAULT_WORKSPACE}" on an installation with no workspace yet)',
    )

    add_destination_commands(commands)

    token = commands.add_parser("token", help="manage API tokens", description="API tokens")
    token_commands = token.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
    create = add_command(
        token_commands,
        "create",
        cmd_token_create,
        "issue an API token acting for a user in a workspace; prints it",
    )
    create.add_argument("--email", required=True, help="the user the token acts for")
    create.add_argument("--workspace", help="workspace name, when the user has several")
    create.add_argument("--name", default="", help="a label to recognise the token by")
    create.add_argument(
        "--expires-in-days",
        type=whole_days,
        default=None,
        metavar="N",
        help="stop working after N days (default: never)",
    )
    listing = add_command(
        token_commands,
        "list",
        cmd_token_list,
        "list a user's API tokens: id, name, workspace, times (UTC) and state",
    )
    listing.add_argument("--email", required=True, help="whose tokens to list")
    listing.add_argument("--workspace", help="only the tokens for this workspace (by name)")
    revoke = add_command(
        token_commands,
        "revoke",
        cmd_token_revoke,
        "revoke an API token: requests with it get 401 from then on",
    )
    revoke.add_argument("id", type=token_id, metavar="ID", help="the token's id, from `token list`")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["manage"]:
            return cmd_manage(args[1:])
        namespace = build_parser().parse_args(args)
        return namespace.handler(namespace)
    except CliError as error:
        print(f"sounding: error: {error}", file=sys.stderr)
        return error.code
