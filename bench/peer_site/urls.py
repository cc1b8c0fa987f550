"""The peer's README: `path("survey/", include("survey.urls"))`."""

from django.urls import include, path

urlpatterns = [path("survey/", include("survey.urls"))]
