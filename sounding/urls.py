from django.urls import include, path

from sounding import destinations

urlpatterns = [
    path("", include("sounding.accounts.urls")),
    path("", include("sounding.authoring.urls")),
    path("", include("sounding.authoring.translate_urls")),
    *(path("", include(p.urls)) for p in destinations.plugins() if p.urls),
    path("", include("sounding.delivery.urls")),
    path("", include("sounding.branding.urls")),
    path("", include("sounding.reports.urls")),
    path("", include("sounding.responses.urls")),
    path("s/", include("sounding.collect.urls")),
    path("api/v1/", include("sounding.api.urls")),
]

# A request refused before a view could read it (a body too large): see sounding/bad_requests.py.
handler400 = "sounding.bad_requests.bad_request"
# The app's own pages for the other errors: see sounding/error_pages.py.
handler403 = "sounding.error_pages.permission_denied"
handler404 = "sounding.error_pages.page_not_found"
handler500 = "sounding.error_pages.server_error"
