"""The Jinja2 environment of the respondent pages.

Respondent pages are the hot path: Jinja2 compiles templates to Python and renders them
several times faster than Django's engine, which the signed-in app keeps using.
"""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import linebreaks
from django.utils.translation import gettext, ngettext
from jinja2 import Environment
from markupsafe import Markup, escape

from sounding.branding.resolve import brand_for
from sounding.collect.embed import mode as embed_mode


def linebreaksbr(value: str) -> Markup:
    return Markup("<br>".join(escape(line) for line in str(value).splitlines()))


def environment(**options: Any) -> Environment:
    options.setdefault("extensions", []).append("jinja2.ext.i18n")
    env = Environment(**options)
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        {"static": static, "url": reverse, "brand": brand_for, "embed_mode": embed_mode}
    )
    env.filters.update({"linebreaksbr": linebreaksbr, "linebreaks": linebreaks})
    return env
