from django.contrib.auth.views import LogoutView
from django.urls import path

from sounding.accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login", views.SignInView.as_view(), name="login"),
    path("logout", LogoutView.as_view(), name="logout"),
    path("setup", views.setup, name="setup"),
    path("workspace", views.switch_workspace, name="workspace-switch"),
]
