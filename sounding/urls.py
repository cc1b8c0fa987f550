from django.urls import include, path

urlpatterns = [
    path("", include("sounding.accounts.urls")),
    path("", include("sounding.surveys.urls")),
    path("", include("sounding.surveys.translate_urls")),
    path("", include("sounding.destinations.braze.urls")),
    path("", include("sounding.destinations.webhooks.urls")),
    path("", include("sounding.delivery.urls")),
    path("", include("sounding.branding.urls")),
    path("", include("sounding.reports.urls")),
    path("", include("sounding.responses.urls")),
    path("s/", include("sounding.collect.urls")),
    path("api/v1/", include("sounding.api.urls")),
]

# A request refused before a view could read it (a body too large): see sounding/bad_requests.py.
handler400 = "sounding.bad_requests.bad_request"
