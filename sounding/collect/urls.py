from django.urls import path

from sounding.collect import answers, views

urlpatterns = [
    path("<slug:slug>", views.respond, name="respond"),
    path("<slug:slug>/answers", answers.answer, name="respond-answers"),
    path("<slug:slug>/screens/<int:version>", views.question_screens, name="respond-screens"),
]
