from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from sounding.api.api import api


@csrf_exempt  # stores nothing: a POST to a wrong address is a 404, not a CSRF refusal
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
