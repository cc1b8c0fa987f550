from django.urls import path

from sounding.collect import answers, views

urlpatterns = [
    path("<slug:slug>", views.respond, name="respond"),
    path("<slug:slug>/answers", answers.answer, name="respond-answers"),
]
