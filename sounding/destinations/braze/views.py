"""The Braze setup pages: the workspace's connection (owners only) and each survey's
integration (editors change it, viewers read it).

The API key is write-only here: it is never put back into a page, not even masked beyond the
last four characters Braze itself shows. A key just tested waits for the Save that follows in
the session, encrypted (`tested_key`).
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from sounding.delivery import backfill
from sounding.destinations.braze import client, clusters, mapping, signing, tested_key
from sounding.destinations.braze.destination import KIND, survey_link
from sounding.destinations.braze.forms import (
    ConnectionForm,
    SurveyBrazeForm,
    masked,
)
from sounding.destinations.braze.models import BrazeSettings, Identifier, RenameMode, SurveyBraze
from sounding.destinations.braze.setup import (
    current_names,
    holders,
    lane_of,
    save_connection,
    save_survey_config,
    site_base,
    stored_settings,
    survey_config,
)
from sounding.surveys.models import Survey
from sounding.surveys.permissions import (
    SignedInRequest,
    View,
    member_required,
    membership,
    workspace_survey,
)
from sounding.vault import VaultError


def admin_required(view: View) -> View:
    """A member whose role may administer the workspace; anyone else in it gets a 403."""

    @wraps(view)
    def check_role(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not membership(request).can_administer:
            return render(request, "braze/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return member_required(check_role)


# --- Workspace settings ---------------------------------------------------------------------


def _settings_page(
    request: HttpRequest,
    form: ConnectionForm,
    stored: BrazeSettings | None,
    result: client.Check | None = None,
) -> HttpResponse:
    workspace_id = membership(request).workspace_id
    context = {
        "form": form,
        "stored": stored,
        "cluster": clusters.name_of(stored.rest_endpoint) if stored else "",
        "masked_key": masked(stored),
        "lane": lane_of(workspace_id),
        "result": result,
        "tested_key": form.tested_key[-4:],
    }
    return render(request, "braze/settings.html", context)


@sensitive_post_parameters("api_key")
@require_http_methods(["GET", "POST"])
@admin_required
def braze_settings(request: SignedInRequest) -> HttpResponse:
    workspace = membership(request).workspace
    stored = stored_settings(workspace.pk)
    if request.method == "GET":
        tested_key.forget(request)
        form = ConnectionForm(initial=ConnectionForm.initial_for(stored), stored=stored)
        return _settings_page(request, form, stored)
    tested = tested_key.kept(request, workspace.pk)
    form = ConnectionForm(request.POST, stored=stored, tested_key=tested)
    if not form.is_valid():
        return _settings_page(request, form, stored)
    tested_key.forget(request)
    lane = lane_of(workspace.pk)
    data = form.cleaned_data
    save_connection(
        workspace,
        request.user,
        data["rest_endpoint"],
        data["api_key"],
        data["requests_per_second"],
        data["batch_limit"],
    )
    resumed = " Sending has started again." if lane and lane.paused_at else ""
    messages.success(request, f"Braze settings saved.{resumed}")
    return redirect("braze-settings")


def _check(form: ConnectionForm, stored: BrazeSettings | None) -> client.Check:
    """Try the values on the form, with the saved key when none was typed (or kept)."""
    typed = form.cleaned_data["api_key"]
    try:
        key = typed or (stored.api_key() if stored else "")
    except VaultError as error:
        return client.Check(False, f"{error} Paste the API key again.")
    return client.check(client.Target(form.cleaned_data["rest_endpoint"], key))


@sensitive_post_parameters("api_key")
@require_POST
@admin_required
def braze_test(request: HttpRequest) -> HttpResponse:
    workspace_id = membership(request).workspace_id
    stored = stored_settings(workspace_id)
    kept = tested_key.kept(request, workspace_id)
    form = ConnectionForm(request.POST, stored=stored, tested_key=kept)
    result = _check(form, stored) if form.is_valid() else None
    # The key tried: typed, or the one kept from an earlier test (not the saved one).
    typed = form.cleaned_data.get("api_key", "") if form.is_valid() else ""
    if typed:
        # Kept for the Save that follows, whatever the answer: a key Braze refused today
        # (a permission still being granted) may be the one the owner means to save.
        tested_key.keep(request, workspace_id, typed)
        form = ConnectionForm(request.POST, stored=stored, tested_key=typed)
    return _settings_page(request, form, stored, result)


# --- A survey's integration -----------------------------------------------------------------


def links(request: HttpRequest, survey: Survey, secret: str | None = None) -> dict[str, str]:
    base = site_base(request)
    return {value: survey_link(survey, value, base, secret) for value in Identifier.values}


def shown_secret(config: SurveyBraze, can_edit: bool) -> tuple[str | None, str]:
    """The secret the page may put in the links (None: unsigned links), and why it is hidden.

    Braze needs the secret in the message, so the people who set the survey up see it inside
    the link; a viewer sees a placeholder, like the API.
    """
    if not config.signed_links:
        return None, ""
    if not can_edit:
        return signing.PLACEHOLDER, "hidden"
    try:
        return config.signing_secret(), ""
    except VaultError:
        return signing.PLACEHOLDER, "unreadable"


def _warnings(survey: Survey, config: SurveyBraze) -> dict[str, str]:
    # A saved setup can go wrong later: a prompt edited into "email", a question renamed into
    # a twin of another. The worker leaves such an attribute out of every request; say so
    # before the author types anything.
    if not config.enabled:
        return {}
    names = current_names(survey.spec, config.attribute_names)
    found = mapping.name_problems(survey.spec, names, config.pinned_names)
    return {key: f"Not sent to Braze: {problem}" for key, problem in found.items()}


def _survey_page(
    request: HttpRequest,
    survey: Survey,
    config: SurveyBraze,
    form: SurveyBrazeForm,
    owed: int,
    renamed: dict[str, tuple[str, str]] | None = None,
) -> HttpResponse:
    member = membership(request)
    secret, hidden = shown_secret(config, member.can_edit)
    all_links = links(request, survey, secret)
    context = {
        "survey": survey,
        "config": config,
        "secret_hidden": hidden,
        "previous_valid": _previous_valid(config),
        "grace_days": settings.SIGNING_GRACE_DAYS,
        "form": form,
        "rows": form.rows(),
        "owed": owed,
        "links": all_links,
        # What the form holds, so a refused save shows the link for the identifier picked.
        "link": all_links.get(form["identifier"].value(), all_links[config.identifier]),
        "can_edit": member.can_edit,
        "can_administer": member.can_administer,
        "connected": BrazeSettings.objects.filter(workspace_id=member.workspace_id).exists(),
        "renamed": [
            {
                "question": survey.spec.get(key),
                "old": old,
                "new": new,
                "holders": holders(survey, old),
            }
            for key, (old, new) in (renamed or {}).items()
        ],
        "rename_modes": RenameMode.choices,
    }
    return render(request, "braze/survey.html", context)


def _previous_valid(config: SurveyBraze) -> bool:
    expires = config.previous_secret_expires_at
    return bool(config.previous_secret_encrypted and expires and expires > timezone.now())


SIGNED_NOW = (
    " Links are signed now: paste the new link into your Braze messages, as links without a "
    "signature are refused."
)


def _saved_message(was_on: bool, config: SurveyBraze, sent: int | None, signed: bool) -> str:
    if config.enabled and not was_on:
        text = "Braze is on for this survey: new answers are sent as they come in."
    elif was_on and not config.enabled:
        text = "Braze is off for this survey: new answers are no longer sent."
    else:
        text = "Braze settings of this survey saved."
    if sent:
        some = "response is on its" if sent == 1 else "responses are on their"
        text += f" The {sent} existing {some} way too."
    if config.signed_links and not signed:
        text += SIGNED_NOW
    return text


def _save_survey(request: HttpRequest, survey: Survey) -> HttpResponse:
    config = survey_config(survey)
    owed = backfill.owed_count(survey, KIND)
    form = SurveyBrazeForm(request.POST, spec=survey.spec, config=config, owed=owed)
    valid = form.is_valid()
    if not (form.validate_names() and valid):
        return _survey_page(request, survey, config, form, owed)
    renamed = form.renames()
    mode = form.cleaned_data["rename_profiles"]
    if renamed and not mode:
        # Braze holds answers under the old names: ask what becomes of them first.
        return _survey_page(request, survey, config, form, owed, renamed)
    was_on = config.enabled and config.pk is not None
    was_signed = config.signed_links
    form.apply(config)
    due = save_survey_config(survey, config, renamed, mode)
    sent = backfill.resend_all(survey, KIND) if form.cleaned_data.get("backfill") else None
    text = _saved_message(was_on, config, sent, was_signed)
    messages.success(request, text + _renamed_message(renamed, mode, due))
    return redirect("survey-braze", pk=survey.pk)


def _renamed_message(renamed: dict[str, tuple[str, str]], mode: str, due: int) -> str:
    if not renamed:
        return ""
    names = ", ".join(f"“{old}” → “{new}”" for old, new in renamed.values())
    if mode == RenameMode.KEEP:
        return f" Renamed {names}: answers use the new name when they are next sent."
    also = " and removed from the profiles that had the old one" if mode == RenameMode.MOVE else ""
    some = "response is" if due == 1 else "responses are"
    return f" Renamed {names}: {due} {some} sent again under the new name{also}."


@require_http_methods(["GET", "POST"])
@member_required
def survey_braze(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    if request.method == "POST":
        if not membership(request).can_edit:
            return render(request, "surveys/forbidden.html", status=403)
        return _save_survey(request, survey)
    config = survey_config(survey)
    owed = backfill.owed_count(survey, KIND)
    form = SurveyBrazeForm(
        spec=survey.spec,
        config=config,
        owed=owed,
        warnings=_warnings(survey, config),
        read_only=not membership(request).can_edit,
    )
    return _survey_page(request, survey, config, form, owed)


@require_POST
@member_required
def survey_braze_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """A new signing secret; links signed with the current one work for the grace period."""
    survey = workspace_survey(request, pk)
    if not membership(request).can_edit:
        return render(request, "surveys/forbidden.html", status=403)
    config = survey_config(survey)
    if not config.signed_links:
        messages.error(request, "Turn on “Sign the links” first: there is no secret to replace.")
        return redirect("survey-braze", pk=survey.pk)
    signing.rotate(config)
    save_survey_config(survey, config)
    until = date_format(timezone.localtime(config.previous_secret_expires_at), "DATETIME_FORMAT")
    messages.success(
        request,
        "New secret made: paste the new link into your Braze messages. Links signed with the "
        f"previous secret keep working until {until} (UTC).",
    )
    return redirect("survey-braze", pk=survey.pk)
