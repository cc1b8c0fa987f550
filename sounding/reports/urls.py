from django.urls import path

from sounding.reports import views

urlpatterns = [
    path("surveys/<int:pk>/report", views.survey_report, name="survey-report"),
    path(
        "surveys/<int:pk>/report/answers/<slug:key>",
        views.report_answers,
        name="survey-report-answers",
    ),
]
