from django.urls import path

from sounding.destinations.webhooks import views

urlpatterns = [
    path("settings/webhooks", views.webhooks, name="webhooks"),
    path("settings/webhooks/<int:endpoint_id>", views.webhook, name="webhook"),
    path("settings/webhooks/<int:endpoint_id>/test", views.webhook_test, name="webhook-test"),
    path("settings/webhooks/<int:endpoint_id>/rotate", views.webhook_rotate, name="webhook-rotate"),
    path("settings/webhooks/<int:endpoint_id>/toggle", views.webhook_toggle, name="webhook-toggle"),
    path("settings/webhooks/<int:endpoint_id>/delete", views.webhook_delete, name="webhook-delete"),
    path(
        "settings/webhooks/<int:endpoint_id>/resend-failed",
        views.webhook_resend_failed,
        name="webhook-resend-failed",
    ),
    path(
        "settings/webhooks/<int:endpoint_id>/deliveries/<str:msg_id>/resend",
        views.webhook_resend,
        name="webhook-resend",
    ),
]
