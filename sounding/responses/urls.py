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
    path(
        "surveys/<int:pk>/export/responses-excel.csv",
        views.export_excel_csv,
        name="survey-export-excel-csv",
    ),
    path("surveys/<int:pk>/export/responses.xlsx", views.export_xlsx, name="survey-export-xlsx"),
    path("responses/erase", views.erase_person, name="erase-person"),
]
