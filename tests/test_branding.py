"""Branding: who may change it, logos, the settings pages, and the respondent pages wearing it."""

from __future__ import annotations

import random
import re
import struct
import zlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sounding.accounts.models import User, Workspace
from sounding.branding.images import LIGHT_BYTES, ImageError, read_image
from sounding.branding.models import Logo, SurveyBrand, WorkspaceBrand
from sounding.branding.resolve import brand_for
from sounding.surveys.models import Status, Survey
from tests.conftest import EVERY_TYPE, logged_in
from tests.respondent import answer

SETTINGS = "/settings/branding"


def png(width: int = 120, height: int = 40, colour: bytes = b"\x3d\x3a\xb8") -> bytes:
    """A real PNG: one colour, RGB, `width` × `height`."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + colour * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def noisy_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: about width × height × 3 bytes, like a detailed logo."""
    noise = random.Random(7).randbytes(width * height * 3)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = b"".join(b"\x00" + noise[y * width * 3 : (y + 1) * width * 3] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(rows, 9))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b"\x00" * 24 + b";"


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\x00" * 20 + b"\xff\xd9"


def webp_lossless(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    body = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + bits.to_bytes(4, "little") + b"\x00" * 12
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def upload(data: bytes, name: str = "logo.png", kind: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=kind)


def brand_post(client: Client, url: str = SETTINGS, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "accent": "#3D3AB8",
        "button_shape": "rounded",
        "button_fill": "filled",
        "font": "system",
        "logo_alt": "",
    }
    data.update(fields)
    return client.post(url, data)


def respondent_page(survey: Survey) -> str:
    response = Client().get(survey.public_path())
    assert response.status_code == 200
    return response.content.decode()


# --- Logo files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind", "size"),
    [
        (png(120, 40), "image/png", (120, 40)),
        (gif(64, 32), "image/gif", (64, 32)),
        (jpeg(300, 100), "image/jpeg", (300, 100)),
        (webp_lossless(200, 50), "image/webp", (200, 50)),
    ],
)
def test_logo_formats_are_recognised_by_their_bytes_with_their_size(
    data: bytes, kind: str, size: tuple[int, int]
) -> None:
    image = read_image(data)
    assert image.content_type == kind
    assert (image.width, image.height) == size


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG"),
        (b'<?xml version="1.0"?>\n<svg onload="alert(1)"></svg>' + b" " * 40, "SVG"),
        (b"GIF89a" + b"\x00" * 10, "cut short"),
        (b"%PDF-1.7 pretending to be a logo" + b"\x00" * 40, "PNG, JPEG, WebP or GIF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dXXXX" + b"\x00" * 30, "damaged"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (51 * 1024), "at most 50 KB"),
        (png(5000, 1), "between 1 and 4096"),
    ],
)
def test_anything_but_a_small_raster_image_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        read_image(data)


@pytest.mark.django_db
def test_an_uploaded_logo_is_served_by_its_hash_cached_for_a_year(
    workspace: Workspace, owner: User
) -> None:
    data = png()
    response = brand_post(logged_in(owner), logo=upload(data), logo_alt="Acme, home")
    assert response.status_code == 302
    logo = Logo.objects.get()
    assert bytes(logo.data) == data and (logo.width, logo.height) == (120, 40)
    served = Client().get(f"/brand/{logo.sha256}.png")
    assert served.status_code == 200
    assert served.content == data
    assert served["Content-Type"] == "image/png"
    assert served["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_a_logo_url_with_another_extension_or_an_unknown_hash_is_not_found(
    workspace: Workspace, owner: User
) -> None:
    brand_post(logged_in(owner), logo=upload(png()))
    sha = Logo.objects.get().sha256
    assert Client().get(f"/brand/{sha}.gif").status_code == 404
    assert Client().get(f"/brand/{'0' * 64}.png").status_code == 404
    assert Client().get(f"/brand/{sha[:20]}.png").status_code == 404
    assert Client().post(f"/brand/{sha}.png").status_code == 405


@pytest.mark.django_db
def test_an_svg_logo_is_refused_on_the_page_and_nothing_is_saved(
    workspace: Workspace, owner: User
) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>' + b" " * 30
    response = brand_post(logged_in(owner), logo=upload(svg, "logo.png", "image/png"))
    assert response.status_code == 400
    assert "SVG logos are not accepted" in response.content.decode()
    assert not Logo.objects.exists() and not WorkspaceBrand.objects.exists()


@pytest.mark.django_db
def test_replacing_or_removing_the_logo_forgets_the_old_file(
    workspace: Workspace, owner: User
) -> None:
    client = logged_in(owner)
    brand_post(client, logo=upload(png(colour=b"\x00\x00\x00")))
    first = Logo.objects.get().sha256
    brand_post(client, logo=upload(png(colour=b"\xff\x00\x00")))
    assert list(Logo.objects.values_list("sha256", flat=True)) != [first]
    assert Logo.objects.count() == 1
    brand_post(client, remove_logo="on")
    assert not Logo.objects.exists()
    assert WorkspaceBrand.objects.get().logo is None


# --- Who may change it ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["owner", "editor"])
def test_owners_and_editors_change_the_workspace_brand(
    request: pytest.FixtureRequest, workspace: Workspace, persona: str
) -> None:
    client = logged_in(request.getfixturevalue(persona))
    response = brand_post(client, accent="#2e7d32", button_shape="pill", font="serif")
    assert response.status_code == 302 and response["Location"] == SETTINGS
    brand = WorkspaceBrand.objects.get(workspace=workspace)
    assert (brand.accent, brand.button_shape, brand.font) == ("#2E7D32", "pill", "serif")
    page = client.get(SETTINGS).content.decode()
    assert "Branding saved." in page and 'value="#2E7D32"' in page


@pytest.mark.django_db
def test_a_viewer_sees_the_brand_read_only_and_cannot_post(
    workspace: Workspace, viewer: User
) -> None:
    client = logged_in(viewer)
    page = client.get(SETTINGS)
    html = page.content.decode()
    assert page.status_code == 200
    assert "you can see its branding but not change it" in html
    assert 'name="accent"' in html and "disabled" in html
    assert ">Save</button>" not in html
    assert brand_post(client, accent="#FF0000").status_code == 403
    assert not WorkspaceBrand.objects.exists()


@pytest.mark.django_db
def test_signed_out_people_are_sent_to_sign_in(workspace: Workspace) -> None:
    assert Client().get(SETTINGS)["Location"].startswith("/login")
    assert brand_post(Client())["Location"].startswith("/login")


@pytest.mark.django_db
def test_a_brand_saved_from_another_workspace_stays_there(
    workspace: Workspace, outsider: User, live_survey: Survey
) -> None:
    brand_post(logged_in(outsider), accent="#FF0000")
    assert WorkspaceBrand.objects.get().workspace.name == "Globex"
    page = respondent_page(live_survey)
    assert page.count("<style ") == 1 and "#EE0000" not in page


@pytest.mark.django_db
def test_the_survey_page_is_for_editors_and_another_workspace_gets_a_404(
    live_survey: Survey, owner: User, editor: User, viewer: User, outsider: User
) -> None:
    url = f"/surveys/{live_survey.pk}/branding"
    assert logged_in(owner).get(url).status_code == 200
    assert logged_in(editor).get(url).status_code == 200
    assert logged_in(viewer).get(url).status_code == 403
    assert brand_post(logged_in(viewer), url, accent="#FF0000").status_code == 403
    assert logged_in(outsider).get(url).status_code == 404
    assert brand_post(logged_in(outsider), url, accent="#FF0000").status_code == 404
    assert logged_in(owner).get("/surveys/99999/branding").status_code == 404
    assert not SurveyBrand.objects.exists()


# --- The forms ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"accent": "banana"}, "is not a colour"),
        ({"accent": ""}, "Pick an accent colour."),
        ({"button_shape": "blob"}, "Select a valid choice"),
        ({"font": "comic"}, "Select a valid choice"),
        ({"logo_alt": "x" * 151}, "at most 150 characters"),
    ],
)
def test_bad_input_is_a_400_with_a_message_and_nothing_saved(
    workspace: Workspace, owner: User, fields: dict[str, str], message: str
) -> None:
    response = brand_post(logged_in(owner), **fields)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved." in html and message in html
    assert not WorkspaceBrand.objects.exists()


@pytest.mark.django_db
def test_an_accent_too_light_to_read_is_adjusted_and_the_page_says_so(
    workspace: Workspace, owner: User
) -> None:
    client = logged_in(owner)
    brand_post(client, accent="#ffd400")
    html = client.get(SETTINGS).content.decode()
    assert (
        "#FFD400 is too light for text on white; Sounding will use #8C7500 for links and "
        "buttons, which reads at 4.5:1."
    ) in html
    assert 'href="#id_accent">Pick another colour' in html
    # What the author picked is kept: they can go back to it, or pick another.
    assert WorkspaceBrand.objects.get().accent == "#FFD400"


@pytest.mark.django_db
def test_the_preview_follows_unsaved_values_without_saving_them(
    workspace: Workspace, editor: User
) -> None:
    client = logged_in(editor)
    response = client.get(
        SETTINGS,
        {"swatch": "1", "accent": "#FFD400", "button_shape": "pill", "button_fill": "outline"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<h1>" not in html
    assert "--sw-accent:#8C7500" in html and "--sw-radius:999px" in html
    assert "sw-outline" in html and "#FFD400 is too light" in html
    # A half-typed colour keeps the saved one in the preview.
    half = client.get(SETTINGS, {"swatch": "1", "accent": "#FF"}).content.decode()
    assert "--sw-accent:#3D3AB8" in half
    assert not WorkspaceBrand.objects.exists()


@pytest.mark.django_db
def test_a_survey_inherits_each_setting_it_leaves_empty(live_survey: Survey, owner: User) -> None:
    client = logged_in(owner)
    brand_post(client, accent="#2E7D32", font="mono", logo=upload(png()))
    url = f"/surveys/{live_survey.pk}/branding"
    page = client.get(url).content.decode()
    assert "As the workspace: Monospace" in page and "use the workspace’s, #2E7D32" in page
    response = client.post(url, {"accent": "", "button_shape": "square", "logo_alt": ""})
    assert response.status_code == 302
    css = str(brand_for(Survey.objects.get(pk=live_survey.pk)).css)
    assert "--accent:#2E7D32" in css and "--font:ui-monospace" in css
    assert "--radius:0" in css and "--field-radius:0" in css


@pytest.mark.django_db
def test_a_survey_can_have_its_own_logo_or_none(live_survey: Survey, owner: User) -> None:
    client = logged_in(owner)
    brand_post(client, logo=upload(png(colour=b"\x00\x00\x00")))
    url = f"/surveys/{live_survey.pk}/branding"
    missing = client.post(url, {"logo_choice": "own"})
    assert missing.status_code == 400
    assert "Choose the survey’s logo file" in missing.content.decode()
    own = png(80, 80, colour=b"\xff\x00\x00")
    client.post(url, {"logo_choice": "own", "logo": upload(own), "logo_alt": "Launch week"})
    page = respondent_page(Survey.objects.get(pk=live_survey.pk))
    sha = SurveyBrand.objects.get().logo.sha256
    assert f'src="/brand/{sha}.png" alt="Launch week" width="80" height="80"' in page
    client.post(url, {"logo_choice": "none"})
    assert '<header class="logo">' not in respondent_page(Survey.objects.get(pk=live_survey.pk))
    assert Logo.objects.count() == 1  # the survey's own logo is forgotten, the workspace's kept


# --- The respondent pages -------------------------------------------------------------------


@pytest.mark.django_db
def test_an_unbranded_survey_looks_as_before(live_survey: Survey) -> None:
    page = respondent_page(live_survey)
    assert page.count("<style ") == 1
    assert 'class="logo"' not in page
    assert '<p class="brand" aria-hidden="true">Customer pulse</p>' in page


@pytest.mark.django_db
def test_the_respondent_page_wears_the_workspace_brand(live_survey: Survey, owner: User) -> None:
    brand_post(
        logged_in(owner),
        accent="#FFD400",
        button_shape="pill",
        button_fill="outline",
        font="geometric",
        logo=upload(png(120, 40)),
    )
    page = respondent_page(Survey.objects.get(pk=live_survey.pk))
    sha = Logo.objects.get().sha256
    assert re.search(
        r'<style nonce="[\w-]+">:root\{--accent:#8C7500;--accent-text:#FFFFFF;--radius:999px;'
        r"--font:Avenir,",
        page,
    )
    assert "--btn-bg:transparent;--btn-text:var(--accent)" in page
    assert "@media (prefers-color-scheme:dark){:root{--accent:#FFD400;--accent-text:#141418}}" in (
        page
    )
    # The logo's alt text is the workspace's name unless another was given.
    assert f'<img src="/brand/{sha}.png" alt="Acme" width="120" height="40">' in page
    assert "&#34;" not in page.split("</style>")[1]  # font names are not escaped into CSS


@pytest.mark.django_db
def test_a_stored_value_the_forms_would_refuse_falls_back_instead_of_breaking_the_page(
    live_survey: Survey, workspace: Workspace
) -> None:
    WorkspaceBrand.objects.create(
        workspace=workspace, accent="red;}*{", font="comic", button_shape="pill"
    )
    css = str(brand_for(live_survey).css)
    assert css == ":root{--radius:999px}"


@pytest.mark.django_db
def test_the_not_found_page_has_no_brand_to_wear() -> None:
    response = Client().get("/s/no-such-survey")
    assert response.status_code == 404
    assert 'class="logo"' not in response.content.decode()


@pytest.mark.django_db
def test_a_saved_brand_shows_on_the_next_respondent_request(
    live_survey: Survey, owner: User, other_workspace: Workspace
) -> None:
    elsewhere = Survey.create(other_workspace, EVERY_TYPE)
    before = respondent_page(live_survey)
    assert "--accent:#2E7D32" not in before
    brand_post(logged_in(owner), accent="#2E7D32")
    live_survey.refresh_from_db()
    elsewhere.refresh_from_db()
    assert live_survey.version == 2 and elsewhere.version == 1
    assert "--accent:#2E7D32" in respondent_page(live_survey)


@pytest.mark.django_db
def test_a_survey_brand_bumps_only_its_own_survey(
    live_survey: Survey, owner: User, workspace: Workspace
) -> None:
    sibling = Survey.create(workspace, EVERY_TYPE)
    logged_in(owner).post(f"/surveys/{live_survey.pk}/branding", {"accent": "#B00020"})
    live_survey.refresh_from_db()
    sibling.refresh_from_db()
    assert (live_survey.version, sibling.version) == (2, 1)
    assert "--accent:#B00020" in respondent_page(live_survey)
    sibling.set_status(Status.LIVE)
    assert respondent_page(sibling).count("<style ") == 1


def _queries(client: Client, method: str, url: str, data: dict[str, Any] | None = None) -> list:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.django_db
def test_a_warm_respondent_request_costs_no_extra_query(
    live_survey: Survey, owner: User, workspace: Workspace
) -> None:
    plain = Survey.create(workspace, EVERY_TYPE)
    plain.set_status(Status.LIVE)
    logged_in(owner).post(
        f"/surveys/{live_survey.pk}/branding",
        {"accent": "#B00020", "logo_choice": "own", "logo": upload(png())},
    )
    branded = Survey.objects.get(pk=live_survey.pk)
    counts = {}
    for survey in (plain, branded):
        client = Client(HTTP_X_REQUESTED_WITH="fetch")  # answers as respond.js sends them
        client.get(survey.public_path())  # warms the spec and brand caches
        gets = _queries(client, "get", survey.public_path())
        html = client.get(survey.public_path()).content.decode()
        posts = _queries(client, "post", *_answer_args(html))
        assert not any("branding_" in sql for sql in gets + posts)
        counts[survey.slug == branded.slug] = (len(gets), len(posts))
    assert counts[True] == counts[False]


def _answer_args(html: str) -> tuple[str, dict[str, Any]]:
    from tests.respondent import form_state

    state = form_state(html)
    return state["action"], {"r": state["r"], "q": state["q"], "nav": "next", "a": ["9"]}


@pytest.mark.django_db
def test_the_branded_page_with_its_logo_stays_under_30_kb(live_survey: Survey, owner: User) -> None:
    logo = noisy_png(56, 56)
    assert LIGHT_BYTES - 1024 < len(logo) < LIGHT_BYTES  # just under the weight warned about
    client = logged_in(owner)
    brand_post(client, accent="#FFD400", font="serif", logo=upload(logo, "l.png"))
    assert "heavy-logo" not in client.get(SETTINGS).content.decode()
    survey = Survey.objects.get(pk=live_survey.pk)
    respondent = Client()
    html = respondent.get(survey.public_path()).content
    served = respondent.get(brand_for(survey).logo_url).content
    script = b"".join(respondent.get("/static/sounding/respond.js").streaming_content)
    assert served == logo
    assert len(html) + len(served) + len(script) < 30 * 1024


@pytest.mark.django_db
def test_a_logo_that_would_make_the_page_heavy_is_kept_with_a_warning(
    workspace: Workspace, owner: User
) -> None:
    client = logged_in(owner)
    assert brand_post(client, logo=upload(noisy_png(100, 100))).status_code == 302
    html = client.get(SETTINGS).content.decode()
    assert 'id="heavy-logo"' in html and "This logo weighs 29.5\xa0KB" in html


@pytest.mark.django_db
def test_the_closed_page_of_a_paused_survey_keeps_the_brand(
    live_survey: Survey, owner: User
) -> None:
    brand_post(logged_in(owner), accent="#2E7D32", logo=upload(png()))
    survey = Survey.objects.get(pk=live_survey.pk)
    survey.set_status(Status.PAUSED)
    response = Client().get(survey.public_path())
    assert response.status_code == 403
    assert "--accent:#2E7D32" in response.content.decode() and 'alt="Acme"' in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_answers_are_still_taken_on_a_branded_page(live_survey: Survey, owner: User) -> None:
    brand_post(logged_in(owner), accent="#FFD400", button_fill="outline")
    survey = Survey.objects.get(pk=live_survey.pk)
    client = Client()
    html = client.get(survey.public_path() + "?user_braze_id=abc").content.decode()
    response = answer(client, html, "9")
    assert response.status_code == 200
    assert survey.responses.get().answers.get().value == 9


@pytest.mark.django_db
def test_a_dark_mode_logo_goes_with_the_workspace_logo(live_survey: Survey, owner: User) -> None:
    client = logged_in(owner)
    light, dark = png(colour=b"\x10\x10\x10"), png(colour=b"\xf0\xf0\xf0")
    assert brand_post(client, logo=upload(light), logo_dark=upload(dark)).status_code == 302
    page = respondent_page(live_survey)
    sources = re.findall(r'<source srcset="([^"]+)" media="\(prefers-color-scheme: dark\)">', page)
    assert len(sources) == 1
    assert Client().get(sources[0]).content == dark
    img = re.search(r'<img src="([^"]+)"', page)
    assert img is not None and Client().get(img.group(1)).content == light
    assert "Dark mode:" in client.get(SETTINGS).content.decode()

    # A survey with a logo of its own has no dark twin for it.
    own = brand_post(
        client,
        url=f"/surveys/{live_survey.pk}/branding",
        logo_choice="own",
        logo=upload(png(colour=b"\x80\x10\x10")),
    )
    assert own.status_code == 302
    assert "<source" not in respondent_page(Survey.objects.get(pk=live_survey.pk))

    # Removing it leaves the logo alone, and the file is forgotten once nothing uses it.
    brand_post(client, url=f"/surveys/{live_survey.pk}/branding", logo_choice="")
    assert "<source" in respondent_page(Survey.objects.get(pk=live_survey.pk))
    assert brand_post(client, remove_logo_dark="on").status_code == 302
    page = respondent_page(Survey.objects.get(pk=live_survey.pk))
    assert "<source" not in page and "<img" in page
    assert Client().get(sources[0]).status_code == 404


@pytest.mark.django_db
def test_the_thank_you_screen_links_back_to_the_website(
    live_survey: Survey, owner: User, workspace: Any
) -> None:
    client = logged_in(owner)
    refused = brand_post(client, website="http://acme.test")
    assert refused.status_code == 400 and "https://" in refused.content.decode()
    assert brand_post(client, website="https://acme.test/home").status_code == 302
    one = Survey.create(
        workspace, {"title": "One", "questions": [{"key": "nps", "type": "nps", "prompt": "?"}]}
    )
    one.set_status(Status.LIVE)
    respondent = Client()
    page = respondent.get(one.public_path())
    from tests.respondent import form_state

    state = form_state(page.content.decode())
    done = respondent.post(
        state["action"], {"r": state["r"], "q": state["q"], "nav": "next", "a": ["9"]}, follow=True
    )
    html = done.content.decode()
    assert 'href="https://acme.test/home"' in html
    assert f"Back to {workspace.name}" in html
    # Never inside a Braze message: the site around it is the brand's own.
    embedded = Client()
    page = embedded.get(one.public_path() + "?embed=inapp")
    state = form_state(page.content.decode())
    done = embedded.post(
        state["action"], {"r": state["r"], "q": state["q"], "nav": "next", "a": ["9"]}, follow=True
    )
    assert "Thank you" in done.content.decode() and "acme.test" not in done.content.decode()
