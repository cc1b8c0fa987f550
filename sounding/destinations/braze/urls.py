from django.urls import path

from sounding.destinations.braze import views
from sounding.destinations.braze.channels import views as channels

urlpatterns = [
    path("settings/braze", views.braze_settings, name="braze-settings"),
    path("settings/braze/test", views.braze_test, name="braze-test"),
    path("surveys/<int:pk>/integrations/braze", views.survey_braze, name="survey-braze"),
    path(
        "surveys/<int:pk>/integrations/braze/rotate",
        views.survey_braze_rotate,
        name="survey-braze-rotate",
    ),
    path(
        "surveys/<int:pk>/share/in-app",
        channels.share_framed,
        {"channel": "in-app"},
        name="survey-share-in-app",
    ),
    path(
        "surveys/<int:pk>/share/banner",
        channels.share_framed,
        {"channel": "banner"},
        name="survey-share-banner",
    ),
    path("surveys/<int:pk>/share/email", channels.share_email, name="survey-share-email"),
    path(
        "surveys/<int:pk>/share/email/preview",
        channels.share_email_preview,
        name="survey-share-email-preview",
    ),
]
