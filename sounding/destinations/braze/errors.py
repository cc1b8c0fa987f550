"""Braze's answers in words a marketer understands, and what each one means for delivery."""

from __future__ import annotations

from http import HTTPStatus

WRONG_KEY = (
    "Braze refused the API key (401). Check that you pasted the whole key, and that the REST "
    "endpoint is your Braze cluster: a key from one cluster does not work on another."
)
NO_PERMISSION = (
    "Braze accepted the key but it may not update users (403). In Braze, edit the API key "
    "and tick the users.track permission."
)
WRONG_URL = (
    "Braze answered 404 Not Found: the REST endpoint looks wrong. Choose your cluster from "
    "the list."
)
RATE_LIMITED = "Braze asked us to slow down (429); sending resumes when its limit resets."


def unreachable(detail: str) -> str:
    return (
        f"Braze could not be reached ({detail}). Check the REST endpoint; if it is right, "
        "Braze or the network may be down, and sending resumes on its own."
    )


def server_error(status: int) -> str:
    return f"Braze had a temporary problem ({status}); the answers will be sent again."


def not_set_up() -> str:
    return (
        "Braze is not connected for this workspace: add its REST endpoint and API key in "
        "Settings → Braze. Answers wait until then."
    )


NO_IDENTIFIER = (
    "The survey link carried no Braze identifier (user_braze_id, user_external_id or "
    "user_email), so there is no profile to update."
)


def fatal(status: int, message: str) -> str:
    return f"Braze answered {status} but reported a fatal error: {message}"


def refused(status: int, message: str) -> str:
    return f"Braze refused the request ({status}): {message or 'no reason given'}"


def unexpected(status: int, said: str) -> str:
    return (
        f"Braze answered {_named(status)}: {said or 'no reason given'}. Nothing was applied; "
        "the answers will be sent again after a pause."
    )


def too_large(said: str) -> str:
    return (
        f"Braze refused the request as too large (413): {said or 'no reason given'}. It is "
        "sent again in smaller requests; one person's answers alone, after a pause."
    )


def _named(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def silent(status: int, body: object) -> str:
    said = "an empty body" if body in ("", None) else f"a body that says nothing: {body!r:.200}"
    return (
        f"Braze answered {status} with {said}, so whether it took the answers is unknown; "
        "they will be sent again."
    )


def short(array: str, processed: int, expected: int) -> str:
    again = "sent again and may arrive twice" if array == "events" else "sent again"
    return f"Braze processed {processed} of {expected} {array} sent; those unconfirmed are {again}."
