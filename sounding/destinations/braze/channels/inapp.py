"""The survey in a Braze Custom Code in-app message.

The message is small: a card with a close button around an `<iframe>` of the survey's own
respondent page in its in-app mode (`?embed=inapp`). Every screen, rule, language and brand is
the page's; each answer is stored by Sounding and delivered like any other, so nothing reaches
Braze by a second path. The message's script only tells Braze what happened, through
`brazeBridge`: a click per question answered (Braze counts a message's clicks by id) and the
close, a moment after the thank-you shows, or on a close button.
"""

from __future__ import annotations

import re

from sounding.branding.resolve import load as load_brand
from sounding.destinations.braze.channels import framed
from sounding.surveys.models import Survey
from sounding.surveys.spec import SurveySpec

MODE = "inapp"
# What to set in Braze for the message to work, as the survey's page and the docs show them.
BRAZE_SETTINGS = (
    "Message type: in-app message, Custom Code",
    "On click behavior: Wait for the user to dismiss",
    "Web SDK: initialize Braze with allowUserSuppliedJavascript: true",
    "Mobile SDKs: nothing to set; the message runs in the SDK's web view",
)
# Braze counts at most 100 distinct click ids per campaign; later questions share the last.
MAX_CLICK_IDS = 100
SHARED_CLICK_ID = "sounding_more_questions"
NOT_IN_ID = re.compile(r"[^A-Za-z0-9 _-]")
# How long the thank-you stays before the message closes by itself.
READ_MS = 2500


def click_ids(spec: SurveySpec) -> dict[str, str]:
    """Question key -> the id its answer is logged under: the key itself, which Braze accepts
    (letters, digits and `_`), cleaned anyway so that no id can ever be refused."""
    crowded = len(spec.questions) > MAX_CLICK_IDS
    return {
        q.key: SHARED_CLICK_ID
        if crowded and i >= MAX_CLICK_IDS - 1
        else NOT_IN_ID.sub("_", q.key)[:255]
        for i, q in enumerate(spec.questions)
    }


def in_app_html(survey: Survey, base_url: str, secret: str | None) -> str:
    """The HTML to paste into a Braze Custom Code in-app message.

    `base_url` is the site's address (`https://surveys.example.com`); `secret` the survey's
    signing secret, or None to show `SIGNING_SECRET` in its place. Either is used only when
    the survey signs its links. Raises `framed.ChannelError` for a base URL that is not
    http(s)."""
    plan = load_brand(survey.pk).plan
    return framed.render(
        "inapp.html",
        survey,
        base_url,
        secret,
        MODE,
        close=framed.text(framed.close_label(survey)),
        ids=framed.script_json(click_ids(survey.spec)),
        read_ms=READ_MS,
        # Checked hex colours (sounding.branding): safe in a style block.
        accent_light=plan.light.colour,
        accent_dark=plan.dark.colour,
    )
