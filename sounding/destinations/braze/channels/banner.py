"""The survey's first question in a Braze Custom Code banner.

The banner frames the survey's respondent page in its banner mode (`?embed=banner`): the first
question, compact. A tap on an answer posts the page's form, so the answer is stored by
Sounding as any other (a tap is the person's own act; a link's GET never answers), and the
same frame goes on to question 2 of that same response.

Why in place rather than in a new page: the frame already holds the response's token in its
form, so going on needs neither a cookie (blocked in a third-party frame) nor the token in an
address handed to the site; and a page opened from a frame in another site's page meets popup
blockers, sandboxed frames and mobile web views that handle links their own way, where the
frame itself always works.

Banners accept only `brazeBridge.logClick()` without an id: the banner logs that one click on
the person's first answer.
"""

from __future__ import annotations

from sounding.destinations.braze.channels import framed
from sounding.surveys.models import Survey

MODE = "banner"
BRAZE_SETTINGS = (
    "Banner: Custom Code block",
    "Web SDK: initialize Braze with allowUserSuppliedJavascript: true",
    "Placement: at least 20rem (320 px) high for the first question",
)
HEIGHT = "20rem"


def banner_html(survey: Survey, base_url: str, secret: str | None) -> str:
    """The HTML to paste into a Braze banner's Custom Code block (arguments as for
    `inapp.in_app_html`)."""
    return framed.render("banner.html", survey, base_url, secret, MODE, height=HEIGHT)
