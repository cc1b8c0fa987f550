"""The respondent pages inside another site's frame: an in-app message or a banner.

`?embed=inapp` or `?embed=banner` asks for the compact layout and lets any site frame the page.
The parameter stays in every form, redirect and link of the survey (as `lang` does), because
the forms post to the link they were shown on. Only these responses drop the framing ban:
every other page, the respondent pages without the parameter included, keeps DENY.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

PARAM = "embed"
MODES = frozenset({"inapp", "banner"})


def mode(request: HttpRequest) -> str:
    """ "inapp", "banner", or "" for a page of its own."""
    wanted = request.GET.get(PARAM, "")
    return wanted if wanted in MODES else ""


def allow_framing(response: HttpResponse) -> None:
    """Any ancestor may frame this response. No `frame-ancestors *` either (sounding.csp): a
    mobile SDK's web view shows the message from a file: or opaque origin, which `*` refuses.
    A response that already says who may frame it (the builder's preview) keeps its rule."""
    if "X-Frame-Options" not in response:
        response.xframe_options_exempt = True
