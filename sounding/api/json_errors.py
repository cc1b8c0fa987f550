"""Every answer under /api/v1/ is JSON, including the ones Django gives before a view runs.

A refused CSRF check (a POST with a session cookie and no token, or to an address with no
endpoint), a method the endpoint does not take, or a request Django itself turned down would
otherwise answer an HTML page that an API client cannot read.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse

PREFIX = "/api/v1/"
DETAILS = {
    403: "Refused: send the token as 'Authorization: Bearer <token>' (a browser session also "
    "needs its CSRF token).",
    405: "This endpoint does not take {method}.",
}


class JsonErrors:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith(PREFIX)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _as_json(request, response)
        return response


def _as_json(request: HttpRequest, response: HttpResponse) -> JsonResponse:
    status = response.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    detail = DETAILS.get(status, phrase)
    replaced = JsonResponse({"detail": detail.format(method=request.method)}, status=status)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            replaced[header] = response[header]
    return replaced
