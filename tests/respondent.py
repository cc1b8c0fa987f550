"""Helpers to answer a survey the way a browser without JavaScript does."""

from __future__ import annotations

import re
from html import unescape

from django.test import Client
from django.test.client import Client as _Client

FIELD = re.compile(r'<input type="hidden" name="(r|q)" value="([^"]*)"')
ACTION = re.compile(r'<form method="post" action="([^"]*)"')


def form_state(html: str) -> dict[str, str]:
    fields = {name: unescape(value) for name, value in FIELD.findall(html)}
    match = ACTION.search(html)
    if match:
        fields["action"] = unescape(match.group(1))
    return fields


def screen_of(html: str) -> str:
    match = re.search(r'data-screen="(\w+)"', html)
    return match.group(1) if match else ""


def question_of(html: str) -> str:
    match = re.search(r'data-question="(\w+)"', html)
    return match.group(1) if match else ""


def answer(
    client: _Client | Client, html: str, values: list[str] | str, js: bool = False, **extra: str
):
    """Submit `values` for the question shown in `html`; return the next screen: the page a
    stored answer redirects to, or with `js` the screen itself, as respond.js gets it."""
    state = form_state(html)
    data: dict[str, object] = {"r": state["r"], "q": state["q"], "nav": "next"}
    data["a"] = values if isinstance(values, list) else [values]
    data.update(extra)
    if js:
        return client.post(state["action"], data, headers={"X-Requested-With": "fetch"})
    return client.post(state["action"], data, follow=True)


def follow(client: _Client | Client, url: str, data: dict[str, object] | None = None):
    """GET `url` (POST `data` to it), following the redirect to the screen as a browser does:
    a plain form post that stores an answer, and a link carrying one, lead to the GET URL of
    the screen they show."""
    if data is None:
        return client.get(url, follow=True)
    return client.post(url, data, follow=True)


def offered(html: str) -> bool:
    """Whether the screen shows an answer the link carried, not yet confirmed."""
    return 'name="from_link" value="1"' in html


def confirm(
    client: _Client | Client, html: str, values: list[str] | str, js: bool = False, **extra: str
):
    """Confirm the answer a link carried, as a person tapping Next without JavaScript (or, with
    `js`, as respond.js posts it)."""
    assert offered(html), "the screen offers no answer from the link"
    return answer(client, html, values, js=js, from_link="1", **extra)


def one_click(client: _Client | Client, url: str, values: list[str] | str, **extra: str):
    """Open a link that carries an answer and confirm it; return the next screen."""
    page = client.get(url)
    assert page.status_code == 200, page.content
    return confirm(client, page.content.decode(), values, **extra)
