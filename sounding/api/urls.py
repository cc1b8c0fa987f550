from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path

from sounding.api.api import api


def unknown_endpoint(request: HttpRequest, rest: str = "") -> JsonResponse:
    # Clients get JSON for every answer under /api/v1/, not Django's HTML 404 page.
    return JsonResponse(
        {"detail": "There is no such API endpoint: see /api/v1/docs for the list."}, status=404
    )


urlpatterns = [
    path("", unknown_endpoint),
    path("", api.urls),
    re_path(r"^(?P<rest>.*)$", unknown_endpoint),
]
