"""Password reset, by email, with Django's views and token generator.

The answer to a reset request is the same whether or not the address has an account, so the
form cannot be used to find out who has one. A link works once, and for
PASSWORD_RESET_TIMEOUT (Django's default: three days). How many links are sent is limited
(sounding.accounts.email_limits).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse_lazy

from sounding.accounts import email_limits
from sounding.accounts.forms import NewPasswordForm, ResetRequestForm
from sounding.accounts.invites import site_url


class ResetRequestView(auth_views.PasswordResetView):
    form_class = ResetRequestForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("password-reset-sent")

    def form_valid(self, form: Any) -> HttpResponse:
        verdict = email_limits.password_reset(self.request, form.cleaned_data["email"])
        if verdict.refusal is not None:
            form.add_error(None, verdict.refusal.message)
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(verdict.refusal.retry_after)
            response._has_been_logged = True  # type: ignore[attr-defined]
            return response
        if not verdict.send:
            # The same answer as a sent link: the page never says an address was limited.
            return HttpResponseRedirect(self.get_success_url())
        # The link in the email starts with the public address, not whatever Host was sent.
        self.extra_email_context = {"site": site_url(self.request, "")}
        return super().form_valid(form)


class ResetSentView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = NewPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")


class ResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
