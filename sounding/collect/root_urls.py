"""The respondent handler's whole URL space: everything under /s/, and nothing else.

`sounding.collect.handler` resolves requests against this instead of `sounding.urls`, whose
every other page it would try first. Every route of `sounding.collect.urls` is here, under the
same prefix and names, so a route added there is served by the respondent handler unchanged.
Error pages and `reverse()` still come from `sounding.urls` (ROOT_URLCONF).
"""

from django.urls import include, path

urlpatterns = [
    path("s/", include("sounding.collect.urls")),
]
