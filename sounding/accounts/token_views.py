"""Settings → API tokens: each member's own tokens in the workspace (an owner sees everyone's),
issuing one for oneself, and revoking.

Any member may issue tokens for themselves: a token acts with its user's role, so it never
lets anyone do more than they already may.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sounding.accounts import tokens
from sounding.accounts.forms import TokenForm
from sounding.accounts.models import ApiToken
from sounding.accounts.permissions import SignedInRequest, member_required, membership


def _page(
    request: HttpRequest,
    form: TokenForm | None = None,
    fresh: tuple[ApiToken, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    current = membership(request)
    context = {
        "rows": tokens.listed(current.workspace_id, current.user_id, current.role),
        "form": form or TokenForm(),
        "fresh": fresh and {"token": fresh[0], "raw": fresh[1]},
    }
    return render(request, "accounts/tokens.html", context, status=status)


def _manageable(request: HttpRequest, token_id: int) -> ApiToken:
    current = membership(request)
    token = (
        tokens.manageable(current.workspace_id, current.user_id, current.role)
        .select_related("user")
        .filter(pk=token_id)
        .first()
    )
    if token is None:
        # Another member's token is as absent as one never issued.
        raise Http404("No such API token.")
    return token


@require_GET
@member_required
def tokens_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@member_required
def token_create(request: SignedInRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    current = membership(request)
    issued = ApiToken.issue(
        current.workspace,
        request.user,
        form.cleaned_data["name"],
        tokens.expiry_after(form.expiry_days()),
    )
    # The secret is in this answer only: not kept in the session for a redirect to show, and
    # not stored by the browser, so going back or reopening the page cannot show it again.
    response = _page(request, fresh=issued)
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "POST"])
@member_required
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = _manageable(request, token_id)
    if token.revoked_at is not None:
        messages.info(request, f"The API token “{token}” was already revoked.")
        return redirect("tokens")
    if request.method == "GET":
        return render(
            request,
            "accounts/token_revoke.html",
            {"token": token, "mine": token.user_id == request.user.pk},
        )
    token.revoke()
    owner_note = "" if token.user_id == request.user.pk else f" of {token.user.email}"
    messages.success(
        request, f"The API token “{token}”{owner_note} is revoked: requests with it now get 401."
    )
    return redirect("tokens")
