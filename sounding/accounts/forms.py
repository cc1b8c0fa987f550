"""Sign-in, first-run, password reset, invitation and role forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm

from sounding.accounts.models import Role, User
from sounding.accounts.signin_limits import SignIn
from sounding.accounts.throttle import Refusal
from sounding.accounts.tokens import DEFAULT_EXPIRY, EXPIRY_CHOICES

PASSWORD_HELP = "At least 8 characters; not a common password, nor close to your email."


def new_password_field(label: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=help_text,
    )


def check_new_password(form: forms.Form, cleaned: dict[str, Any], user: User) -> None:
    """The two copies match and the password passes the validators; errors go on the form."""
    first, second = cleaned.get("password1"), cleaned.get("password2")
    if first and second and first != second:
        form.add_error("password2", "The two passwords differ.")
    elif first:
        try:
            password_validation.validate_password(first, user)
        except forms.ValidationError as error:
            form.add_error("password1", error)


class LoginForm(AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels sit above their fields: no colon
        super().__init__(*args, **kwargs)

    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account. Check both and "
        "try again.",
    }

    # Why the last attempt was not even tried (too many failures), for the view's 429.
    refusal: Refusal | None = None

    def clean_username(self) -> str:
        # Accounts are stored with lower-case emails; people type them however they like.
        return self.cleaned_data["username"].strip().lower()

    def clean(self) -> dict[str, Any]:
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not email or not password:
            return super().clean()  # field errors say what is missing; nothing is checked
        # Before authenticate(): a refused attempt must not cost a password hash.
        attempt = SignIn(self.request, email)
        self.refusal = attempt.refusal()
        if self.refusal is not None:
            raise forms.ValidationError(self.refusal.message, code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if error.code == "invalid_login":
                attempt.failed()
            raise
        attempt.succeeded()
        return cleaned


class SetupForm(forms.Form):
    """The first account: its owner, their password, and the workspace they own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    email = forms.EmailField(
        label="Your email", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = new_password_field("Password", PASSWORD_HELP)
    password2 = new_password_field("Password again")
    workspace = forms.CharField(
        label="Workspace name",
        max_length=120,
        help_text="Usually your company or team.",
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        check_new_password(self, cleaned, User(email=cleaned.get("email", "")))
        return cleaned


class ResetRequestForm(PasswordResetForm):
    """Asks for the address only; whether it has an account is never shown."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class NewPasswordForm(SetPasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "New password"
        self.fields["new_password1"].help_text = PASSWORD_HELP
        self.fields["new_password2"].label = "New password again"
        self.error_messages = {
            **self.error_messages,
            "password_mismatch": "The two passwords differ.",
        }


ROLE_HELP = {
    Role.OWNER: "everything, including members and the integrations' connections",
    Role.EDITOR: "creates, edits and publishes surveys",
    Role.VIEWER: "sees surveys and their responses, changes nothing",
}


class InviteForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        label="Role",
        choices=[(role.value, f"{role.label}: {ROLE_HELP[role]}") for role in Role],
        initial=Role.EDITOR,
        widget=forms.RadioSelect,
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class TokenForm(forms.Form):
    """A new API token for oneself: a name to recognise it by, and how long it works."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What uses it, to recognise it later: “CI”, “nightly export”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": "Enter a name."},
    )
    expires = forms.ChoiceField(
        label="Expires after",
        choices=EXPIRY_CHOICES,
        initial=DEFAULT_EXPIRY,
        widget=forms.RadioSelect,
    )

    def expiry_days(self) -> int | None:
        choice = self.cleaned_data["expires"]
        return None if choice == "never" else int(choice)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class JoinForm(forms.Form):
    """A new account made from an invitation: the address is the invitation's."""

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.email = email

    name = forms.CharField(
        label="Your name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password1 = new_password_field("Password", PASSWORD_HELP)
    password2 = new_password_field("Password again")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Enter your name.")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        check_new_password(self, cleaned, User(email=self.email, name=cleaned.get("name", "")))
        return cleaned
