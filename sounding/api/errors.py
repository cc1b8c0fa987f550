"""Every error the API sends is `{"detail": "..."}`, plus `errors` when there are several.

`errors` items are `{"path": "$.field", "message": "..."}`, the shape `DefinitionError.as_list()`
already gives, so a client reads validation problems the same way wherever they come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from sounding.surveys.definition import DefinitionError

INVALID_DEFINITION = "The survey definition is not valid."
INVALID_REQUEST = "The request is not valid."


class ApiError(Exception):
    def __init__(
        self, status: int, detail: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors


def json_path(loc: Sequence[Any]) -> str:
    """`("query", "limit")` -> `$.limit`; the first item only says where the value came from."""
    path = "$"
    for part in loc[1:]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _respond(
    api: NinjaAPI, request: HttpRequest, status: int, detail: str, errors: Any = None
) -> HttpResponse:
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return api.create_response(request, body, status=status)


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return _respond(api, request, exc.status, exc.detail, exc.errors)

    @api.exception_handler(DefinitionError)
    def definition_error(request: HttpRequest, exc: DefinitionError) -> HttpResponse:
        return _respond(api, request, 400, INVALID_DEFINITION, exc.as_list())

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        # ninja answers 422 with pydantic's own shape; clients get one format and one status.
        errors = [{"path": json_path(e.get("loc", ())), "message": e["msg"]} for e in exc.errors]
        return _respond(api, request, 400, INVALID_REQUEST, errors)

    @api.exception_handler(AuthenticationError)
    def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = _respond(api, request, 401, exc.message)
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return _respond(api, request, exc.status_code, exc.message)
