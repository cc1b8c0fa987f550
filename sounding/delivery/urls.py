from django.urls import path, register_converter

from sounding.delivery import views
from sounding.destinations.urls import KindConverter

register_converter(KindConverter, "destination")

urlpatterns = [
    path("surveys/<int:pk>/deliveries", views.survey_deliveries, name="survey-deliveries"),
    path("surveys/<int:pk>/deliveries/retry", views.retry_failed, name="survey-deliveries-retry"),
    path("surveys/<int:pk>/deliveries/resend", views.resend_all, name="survey-deliveries-resend"),
    path(
        "surveys/<int:pk>/deliveries/<destination:kind>",
        views.survey_deliveries,
        name="survey-deliveries-to",
    ),
    path(
        "surveys/<int:pk>/deliveries/<destination:kind>/retry",
        views.retry_failed,
        name="survey-deliveries-retry-to",
    ),
    path(
        "surveys/<int:pk>/deliveries/<destination:kind>/resend",
        views.resend_all,
        name="survey-deliveries-resend-to",
    ),
    path("metrics", views.metrics_page, name="metrics"),
]
