"""Branding pages (the workspace's brand and a survey's overrides) and the logo files.

Both pages show a preview rendered here; `?swatch=1` with the form's fields returns just that
preview, so the page's script can refresh it as the author types without saving anything.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from sounding.branding import saving
from sounding.branding.contrast import ratio_text
from sounding.branding.forms import SurveyBrandForm, WorkspaceBrandForm, logo_ref
from sounding.branding.images import EXTENSIONS, LIGHT_BYTES
from sounding.branding.models import FONT_STACKS, Fill, Font, Logo, Shape, WorkspaceBrand
from sounding.branding.resolve import FIELDS, RADII, Choices, LogoRef, resolve
from sounding.surveys.permissions import (
    SignedInRequest,
    editor_required,
    member_required,
    membership,
    workspace_survey,
)

SAVED = "Branding saved. People answering see it from their next page on."


def preview_context(choices: Choices) -> dict[str, Any]:
    plan = choices.plan
    modes: list[dict[str, Any]] = [
        {"name": "light", "label": "Light mode", "shade": plan.light, "on": "white"},
        {"name": "dark", "label": "Dark mode", "shade": plan.dark, "on": "the dark background"},
    ]
    for mode in modes:
        mode["ratio"] = ratio_text(mode["shade"].ratio)
        mode["text_name"] = "white" if mode["shade"].text == "#FFFFFF" else "near-black"
    return {
        "choices": choices,
        "plan": plan,
        "modes": modes,
        "preview_css": _preview_css(choices),
        "outline": choices.button_fill == Fill.OUTLINE,
    }


def _preview_css(choices: Choices) -> SafeString:
    """The preview's colours, shape and font as custom properties, for the page's style
    block (the policy refuses style attributes) and the preview's `data-css`, which the
    page's script moves there. Built only from checked hex colours and fixed choices, like
    the respondent pages' brand CSS."""
    plan = choices.plan
    field_radius = "0" if choices.button_shape == Shape.SQUARE else ".625rem"
    css = [
        f".swatches{{--sw-radius:{RADII[Shape(choices.button_shape)]};"
        f"--sw-field-radius:{field_radius};--sw-font:{FONT_STACKS[Font(choices.font)]}}}"
    ]
    for name, shade in (("light", plan.light), ("dark", plan.dark)):
        css.append(f".swatch-{name}{{--sw-accent:{shade.colour};--sw-accent-text:{shade.text}}}")
    return mark_safe("".join(css))  # noqa: S308 - fixed choices and checked colours only


def _ref(logo: Logo) -> LogoRef:
    return LogoRef(logo.sha256, logo.content_type, logo.width, logo.height)


def _layer(brand: Any, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    layer = {name: getattr(brand, name) for name in (*FIELDS, *extra)}
    layer["logo"] = logo_ref(brand)
    return layer


def _swatch(request: HttpRequest, choices: Choices) -> HttpResponse:
    response = render(request, "branding/_preview.html", preview_context(choices))
    response["Cache-Control"] = "no-store"
    return response


# --- The workspace's brand ------------------------------------------------------------------


def _workspace_page(
    request: HttpRequest, form: WorkspaceBrandForm, brand: WorkspaceBrand, status: int = 200
) -> HttpResponse:
    member = membership(request)
    stored = resolve(_layer(brand), None, member.workspace.name)
    shown = resolve(form.layer(_layer(brand)), None, member.workspace.name)
    context = {
        **preview_context(shown if form.is_bound else stored),
        "form": form,
        "brand": brand,
        "logo": stored.logo,
        "logo_size": brand.logo.size if brand.logo else 0,
        "logo_dark": brand.logo_dark,
        "logo_dark_url": _ref(brand.logo_dark).url if brand.logo_dark else "",
        "light_bytes": LIGHT_BYTES,
        "can_edit": member.can_edit,
        "workspace": member.workspace,
    }
    return render(request, "branding/settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_required
def branding_settings(request: SignedInRequest) -> HttpResponse:
    member = membership(request)
    brand = saving.workspace_brand(member.workspace)
    if request.method == "POST":
        if not member.can_edit:
            return render(request, "surveys/forbidden.html", status=403)
        form = WorkspaceBrandForm(request.POST, request.FILES, default_alt=member.workspace.name)
        if not form.is_valid():
            return _workspace_page(request, form, brand, status=400)
        image = form.apply(brand)
        if image is not None:
            brand.logo = saving.store_logo(member.workspace, image)
        dark = form.cleaned_data.get("logo_dark")
        if dark is not None:
            brand.logo_dark = saving.store_logo(member.workspace, dark)
        saving.save_workspace_brand(brand, request.user)
        messages.success(request, SAVED)
        return redirect("branding-settings")
    if request.GET.get("swatch"):
        form = WorkspaceBrandForm(request.GET)
        form.is_valid()
        layer = form.layer(_layer(brand))
        if form.cleaned_data.get("remove_logo"):
            layer["logo"] = None
        return _swatch(request, resolve(layer, None, member.workspace.name))
    initial = WorkspaceBrandForm.initial_for(brand)
    form = WorkspaceBrandForm(
        initial=initial, read_only=not member.can_edit, default_alt=member.workspace.name
    )
    return _workspace_page(request, form, brand)


# --- A survey's overrides -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@editor_required
def survey_branding(request: SignedInRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    workspace = membership(request).workspace
    workspace_layer = _layer(saving.workspace_brand(workspace))
    inherited = resolve(workspace_layer, None, workspace.name)
    brand = saving.survey_brand(survey)
    stored = _layer(brand, ("logo_choice",))
    has_own = brand.logo_id is not None

    def page(form: SurveyBrandForm, status: int = 200) -> HttpResponse:
        layer = form.layer(stored) if form.is_bound else stored
        context = {
            **preview_context(resolve(workspace_layer, layer, workspace.name)),
            "form": form,
            "survey": survey,
            "own_logo": stored["logo"],
            "logo_size": brand.logo.size if brand.logo else 0,
            "light_bytes": LIGHT_BYTES,
            "inherited": inherited,
        }
        return render(request, "branding/survey.html", context, status=status)

    if request.method == "POST":
        form = SurveyBrandForm(
            request.POST, request.FILES, workspace=inherited, has_own_logo=has_own
        )
        if not form.is_valid():
            return page(form, status=400)
        image = form.apply(brand)
        if image is not None:
            brand.logo = saving.store_logo(workspace, image)
        saving.save_survey_brand(brand, request.user)
        messages.success(request, SAVED)
        return redirect("survey-branding", pk=survey.pk)
    if request.GET.get("swatch"):
        form = SurveyBrandForm(request.GET, workspace=inherited, has_own_logo=has_own)
        form.is_valid()
        return _swatch(request, resolve(workspace_layer, form.layer(stored), workspace.name))
    initial = SurveyBrandForm.initial_for(brand)
    return page(SurveyBrandForm(initial=initial, workspace=inherited, has_own_logo=has_own))


# --- Logo files -----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def brand_logo(request: HttpRequest, sha256: str, ext: str) -> HttpResponse:
    """A logo by its content hash: the same URL always means the same bytes."""
    found = Logo.objects.filter(sha256=sha256).values_list("content_type", "data").first()
    if found is None or EXTENSIONS.get(found[0]) != ext:
        raise Http404("No such logo.")
    content_type, data = found
    response = HttpResponse(bytes(data), content_type=content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
