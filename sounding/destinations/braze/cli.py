"""The `fake-braze` command: a local stand-in for Braze, for trying Sounding without it."""

from __future__ import annotations

import argparse

from sounding.cli import DEFAULT_HOST, CliError, add_command
from sounding.destinations.braze.standin_rules import BATCH_LIMITS, DEFAULT_BATCH_LIMIT


def cmd_fake_braze(args: argparse.Namespace) -> int:
    # No Django here: the stand-in is a plain HTTP server that knows nothing of Sounding's data.
    from sounding.destinations.braze import standin

    args.api_key = args.api_key or ["standin-key"]
    limit, _, window = args.rate_limit.partition("/")
    try:
        rate_limit, seconds = int(limit), float(window or 1)
    except ValueError:
        raise CliError("--rate-limit takes REQUESTS/SECONDS, for example 3000/3", 2) from None
    try:
        standin.serve(
            args.host,
            args.port,
            api_keys=args.api_key,
            rate_limit=rate_limit,
            window=seconds,
            dialect=args.dialect,
            verbose=args.verbose,
            batch_limit=args.batch_limit,
        )
    except ValueError as error:
        raise CliError(str(error), 2) from None
    except OSError as error:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fake = add_command(
        commands,
        "fake-braze",
        cmd_fake_braze,
        "run a local stand-in for Braze's /users/track, for trying Sounding without Braze",
    )
    fake.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    fake.add_argument("--port", type=int, default=9911, help="default 9911")
    fake.add_argument(
        "--api-key",
        action="append",
        default=None,
        help="an API key it accepts (repeatable; default standin-key)",
    )
    fake.add_argument(
        "--rate-limit", default="3000/3", help="REQUESTS/SECONDS per key (default 3000/3)"
    )
    fake.add_argument(
        "--dialect",
        choices=["epoch", "seconds"],
        default="epoch",
        help="X-RateLimit-Reset as a UTC epoch (default) or as seconds remaining",
    )
    fake.add_argument(
        "--batch-limit",
        choices=list(BATCH_LIMITS),
        default=DEFAULT_BATCH_LIMIT,
        help="objects per request, by Braze contract (default 75_combined)",
    )
    fake.add_argument("--verbose", action="store_true", help="log every request")
