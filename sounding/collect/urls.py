from django.urls import path

from sounding.collect import views

urlpatterns = [
    path("<slug:slug>", views.respond, name="respond"),
]
