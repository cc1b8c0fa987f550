from django.urls import path

from sounding.responses import views

urlpatterns = [
    path("surveys/<int:pk>/responses", views.survey_responses, name="survey-responses"),
    path("surveys/<int:pk>/responses/<slug:token>", views.response_detail, name="response-detail"),
    path(
        "surveys/<int:pk>/responses/<slug:token>/delete",
        views.response_delete,
        name="response-delete",
    ),
    path("surveys/<int:pk>/export/responses.csv", views.export_csv, name="survey-export-csv"),
    path("surveys/<int:pk>/export/responses.json", views.export_json, name="survey-export-json"),
    path("responses/erase", views.erase_person, name="erase-person"),
]
