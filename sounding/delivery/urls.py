from django.urls import path

from sounding.delivery import views

urlpatterns = [
    path("surveys/<int:pk>/deliveries", views.survey_deliveries, name="survey-deliveries"),
    path("surveys/<int:pk>/deliveries/retry", views.retry_failed, name="survey-deliveries-retry"),
    path("surveys/<int:pk>/deliveries/resend", views.resend_all, name="survey-deliveries-resend"),
    path("metrics", views.metrics_page, name="metrics"),
]
