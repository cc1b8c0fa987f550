"""What the in-app message and the banner share: the survey's respondent page in a frame.

The snippet Braze shows holds an `<iframe>` of the survey's own page in an embed mode
(`sounding.collect.embed`), with the person's identity as Liquid, signed when the survey signs
its links. The page stores each answer as any respondent page does and tells the snippet
with `postMessage`; the snippet only reports to Braze through `brazeBridge`.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlsplit

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe

from sounding.destinations.braze.destination import survey_link
from sounding.destinations.braze.models import Identifier, SurveyBraze
from sounding.destinations.braze.signing import PLACEHOLDER
from sounding.surveys.models import Survey

DEFAULT_PORTS = {"http": 80, "https": 443}
# Braze renders a message's Liquid before showing it: an author's `{{` must reach the page as
# text, never as a tag.
LIQUID_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})
# The profile's language, so the page speaks it before the device's; empty when Braze has none.
LANGUAGE_TAG = "{{${language}}}"
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
UNSAFE = re.compile(r"[<>&{}]")


class ChannelError(ValueError):
    """A base URL the snippet cannot be made for."""


def origin(base_url: str) -> str:
    """The origin the framed page's messages come from, as a browser writes it."""
    parts = urlsplit(base_url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ChannelError(f"not an http(s) address: {base_url!r}")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != DEFAULT_PORTS[parts.scheme]:
        host += f":{port}"
    return f"{parts.scheme}://{host}"


def page_link(survey: Survey, base_url: str, secret: str | None, mode: str) -> str:
    """The survey's page for one Braze user, as Liquid: the survey's identifier, its signature
    when the survey signs links (`secret`, or the placeholder where the reader may not see it),
    the profile's language and the embed mode."""
    config = SurveyBraze.objects.filter(survey=survey).first()
    identifier = (config.identifier if config is not None else "") or Identifier.BRAZE_ID
    signs = config is not None and config.signed_links
    link = survey_link(
        survey, identifier, base_url.rstrip("/"), (secret or PLACEHOLDER) if signs else None
    )
    return f"{link}&lang={LANGUAGE_TAG}&embed={mode}"


def attribute(link: str) -> str:
    """A link as an HTML attribute value. Only `&` and `"` are escaped: the quotes inside the
    Liquid tags must stay as they are for Braze to read them."""
    return link.replace("&", "&amp;").replace('"', "&quot;")


def text(value: str) -> str:
    """An author's text in the snippet: escaped for HTML and for Liquid."""
    return html.escape(value).translate(LIQUID_BRACES)


def script_json(value: Any) -> str:
    """A value for an inline script: no `</script>`, no Liquid braces side by side."""
    raw = json.dumps(value, ensure_ascii=True)
    # Only inside strings: the braces of an object are the script's own.
    return STRING.sub(lambda m: UNSAFE.sub(lambda c: f"\\u{ord(c[0]):04x}", m[0]), raw)


def close_label(survey: Survey) -> str:
    with translation.override(survey.spec.language):
        return translation.gettext("Close")


def render(
    template: str, survey: Survey, base_url: str, secret: str | None, mode: str, **context: Any
) -> str:
    """A snippet from its template, with what every snippet shows. Values arrive escaped here
    (for HTML, for Liquid, for a script), so the template engine must not escape them again:
    the quotes of the Liquid tags in the link must reach Braze as they are."""
    spec = survey.spec
    values = {
        "lang": text(spec.language),
        "title": text(spec.title),
        "src": attribute(page_link(survey, base_url, secret, mode)),
        "origin": script_json(origin(base_url)),
        **context,
    }
    safe = {name: mark_safe(str(value)) for name, value in values.items()}
    return render_to_string(f"braze/channels/{template}", safe, using="django")
