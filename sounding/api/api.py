"""The API instance: its routers, its authentication and its error format."""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.operation import Operation

from sounding import destinations
from sounding.api import erase, errors, responses, survey_templates, surveys, tokens
from sounding.api.auth import BearerToken


class SoundingAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # ninja prefixes the module path; the function name alone reads better in clients.
        return operation.view_func.__name__


api = SoundingAPI(
    title="Sounding API",
    version="1",
    description="Create and run surveys, and read their responses. "
    "Authenticate with `Authorization: Bearer <token>`.",
    urls_namespace="api",
    auth=BearerToken(),
)
errors.install(api)
# Before `surveys`: its `/surveys/{survey_id}` would take `/surveys/from-template` otherwise.
api.add_router("", survey_templates.router)
api.add_router("", surveys.router)
api.add_router("", responses.router)
for plugin in destinations.plugins():
    if plugin.api_router:
        api.add_router("", destinations.resolve(plugin.api_router))
api.add_router("", erase.router)
api.add_router("", tokens.router)
