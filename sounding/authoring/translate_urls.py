from django.urls import path

from sounding.authoring import translate

urlpatterns = [
    path(
        "surveys/<int:pk>/translations",
        translate.survey_translations,
        name="survey-translations",
    ),
    path(
        "surveys/<int:pk>/translations/<str:lang>",
        translate.survey_translation,
        name="survey-translation",
    ),
]
