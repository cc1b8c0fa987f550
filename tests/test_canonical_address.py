"""Links in emails are on the installation's own address, never on a request's Host header.

Attacked over real HTTP against `sounding serve` as the README leaves it: `POST /password/reset`
with `Host: evil.example` must not mail the victim a link to evil.example.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from sounding.addresses import allowed_hosts, is_public, served_url
from tests.procs import Processes, free_port, wait_for

VICTIM = "victim@acme.test"


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/login", timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def reset_links(mail: Path) -> list[str]:
    text = "".join(p.read_text() for p in sorted(mail.glob("*"))) if mail.exists() else ""
    return re.findall(r"(https?://\S+/password/reset/\S+)", text)


def ask_reset(base: str, host: str) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=10) as client:
        form = client.get("/password/reset")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, form.text
        return client.post(
            "/password/reset",
            data={"email": VICTIM, "csrfmiddlewaretoken": token[1]},
            headers={"Host": host, "Referer": base + "/password/reset"},
        )


@pytest.mark.any_db  # its processes use a SQLite database of their own
@pytest.mark.process
@pytest.mark.parametrize("allowed", ["", "*"])
def test_a_forged_host_header_never_reaches_a_reset_link(
    processes: Processes, tmp_path: Path, allowed: str
) -> None:
    mail = tmp_path / "mail"
    processes.env["SOUNDING_EMAIL_URL"] = f"file://{mail}"
    if allowed:
        processes.env["SOUNDING_ALLOWED_HOSTS"] = allowed
    processes.run("migrate")
    processes.run("createadmin", "--email", VICTIM, "--password", "a long enough password 1")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes.start("serve", "--port", str(port))
    wait_for(lambda: _up(base), 30, "sounding serve")

    forged = ask_reset(base, "evil.example")
    # By default only the served address is answered; with every host allowed, the link
    # still starts with the served address.
    assert forged.status_code == (400 if not allowed else 302)
    links = reset_links(mail)
    assert all("evil.example" not in link for link in links)
    if allowed:
        assert links and all(link.startswith(base + "/") for link in links)

    ask_reset(base, f"127.0.0.1:{port}")
    links = reset_links(mail)
    assert links and all(link.startswith(base + "/") for link in links)


def test_the_address_rules() -> None:
    assert served_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert served_url("::1", 80) == "http://[::1]:80"
    assert not is_public("127.0.0.1") and not is_public("localhost") and not is_public("::1")
    assert is_public("0.0.0.0") and is_public("192.0.2.7") and is_public("surveys.example.com")
    assert allowed_hosts("a.test, b.test", "", "") == ["a.test", "b.test"]
    assert allowed_hosts("", "https://s.example.com", "http://127.0.0.1:8000")[0] == "s.example.com"
    assert allowed_hosts("", "", "http://127.0.0.1:8000") == ["127.0.0.1", "localhost", "[::1]"]
    assert allowed_hosts("", "", "") == ["*"]
    assert allowed_hosts("", "", served_url("0.0.0.0", 8000)) == ["*"]


@pytest.mark.django_db
def test_deploy_checks_name_what_makes_a_public_install_unsafe(settings: object) -> None:
    from django.core.checks import run_checks

    settings.SITE_URL = ""  # type: ignore[attr-defined]
    settings.ALLOWED_HOSTS = ["*"]  # type: ignore[attr-defined]
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert {"sounding.E001", "sounding.E003"} <= ids
    settings.SITE_URL = "http://surveys.example.com"  # type: ignore[attr-defined]
    settings.ALLOWED_HOSTS = ["surveys.example.com"]  # type: ignore[attr-defined]
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert "sounding.E002" in ids and "sounding.E001" not in ids and "sounding.E003" not in ids
    settings.SERVED_AT = "http://192.0.2.7:8000"  # type: ignore[attr-defined]
    settings.SITE_URL = ""  # type: ignore[attr-defined]
    ids = {m.id for m in run_checks()}
    assert {"sounding.W001", "sounding.W002"} <= ids
