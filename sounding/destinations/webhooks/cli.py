"""The `webhook-receiver` command: a local endpoint for trying webhooks without one of your own."""

from __future__ import annotations

import argparse

from sounding.cli import DEFAULT_HOST, CliError, add_command


def cmd_webhook_receiver(args: argparse.Namespace) -> int:
    # No Django here: the receiver knows nothing but the secrets it is given.
    from sounding.destinations.webhooks import receiver

    try:
        receiver.serve(args.host, args.port, args.secret)
    except ValueError as error:
        raise CliError(f"--secret: {error}", 2) from None
    except OSError as error:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hooks = add_command(
        commands,
        "webhook-receiver",
        cmd_webhook_receiver,
        "run a local webhook endpoint that checks Standard Webhooks signatures and prints "
        "each message, for trying the webhooks destination",
    )
    hooks.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    hooks.add_argument("--port", type=int, default=9912, help="default 9912")
    hooks.add_argument(
        "--secret",
        action="append",
        required=True,
        metavar="whsec_...",
        help="the endpoint's signing secret; repeat it to accept a previous one during rotation",
    )
