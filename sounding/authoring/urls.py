from django.urls import path

from sounding.authoring import question_views, views

urlpatterns = [
    path("surveys/", views.survey_list, name="survey-list"),
    path("surveys/new", views.survey_new, name="survey-new"),
    path("surveys/new/template", views.survey_from_template, name="survey-from-template"),
    path("surveys/import", views.survey_import, name="survey-import"),
    path("surveys/<int:pk>/", views.survey_detail, name="survey-detail"),
    path("surveys/<int:pk>/edit", views.survey_edit, name="survey-edit"),
    path("surveys/<int:pk>/hidden-fields", views.survey_hidden_fields, name="survey-hidden-fields"),
    path("surveys/<int:pk>/publish", views.survey_publish, name="survey-publish"),
    path("surveys/<int:pk>/pause", views.survey_pause, name="survey-pause"),
    path("surveys/<int:pk>/export", views.survey_export, name="survey-export"),
    path("surveys/<int:pk>/delete", views.survey_delete, name="survey-delete"),
    path("surveys/<int:pk>/questions", question_views.question_add, name="question-add"),
    path("surveys/<int:pk>/questions/undo", question_views.question_undo, name="question-undo"),
    path(
        "surveys/<int:pk>/questions/<slug:key>/edit",
        question_views.question_edit,
        name="question-edit",
    ),
    path(
        "surveys/<int:pk>/questions/<slug:key>/duplicate",
        question_views.question_duplicate,
        name="question-duplicate",
    ),
    path(
        "surveys/<int:pk>/questions/<slug:key>/delete",
        question_views.question_delete,
        name="question-delete",
    ),
    path(
        "surveys/<int:pk>/questions/<slug:key>/move",
        question_views.question_move,
        name="question-move",
    ),
]
