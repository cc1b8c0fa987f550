from django.urls import path, re_path

from sounding.branding import views

urlpatterns = [
    path("settings/branding", views.branding_settings, name="branding-settings"),
    path("surveys/<int:pk>/branding", views.survey_branding, name="survey-branding"),
    re_path(
        r"^brand/(?P<sha256>[0-9a-f]{64})\.(?P<ext>png|jpg|webp|gif)$",
        views.brand_logo,
        name="brand-logo",
    ),
]
