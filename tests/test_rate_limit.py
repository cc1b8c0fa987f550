"""Rate limits on the respondent pages: a flood from one address or at one survey is cut off
with a 429 and stores nothing, while people answering at a human pace never meet a limit."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from sounding.answers.models import Answer, LinkClick, Response
from sounding.collect import ratelimit
from sounding.surveys.models import Status, Survey
from tests.delivery_fixtures import PULSE
from tests.procs import SOUNDING, cli_env

OFFICE = "203.0.113.7"
ELSEWHERE = "198.51.100.20"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    ratelimit.forget()
    fake = Clock()
    monkeypatch.setattr(ratelimit, "clock", fake)
    yield fake
    ratelimit.forget()


@pytest.fixture
def survey(workspace: Any, owner: Any) -> Survey:
    made = Survey.create(workspace, PULSE, owner)
    made.set_status(Status.LIVE)
    return made


def answer(survey: Survey, address: str, who: str, **headers: str) -> Any:
    """A new respondent's first answer: it creates a response. Sent as respond.js sends it,
    so a stored answer is a 200 with the next screen."""
    path = f"{survey.public_path()}?user_braze_id={who}"
    client = Client(REMOTE_ADDR=address, HTTP_X_REQUESTED_WITH="fetch", **headers)
    return client.post(path, {"q": "nps", "a": "9"})


def test_a_flood_from_one_address_is_cut_off_and_stores_nothing(
    survey: Survey, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.RATE_LIMIT_IP = 20  # a burst of 10, then one every 3 seconds
    statuses = [answer(survey, OFFICE, f"u{i}").status_code for i in range(25)]
    assert statuses == [200] * 10 + [429] * 15
    # One line for the flood, not one per refused request.
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"Rate limit: address {OFFICE} is over 20 a minute."
    ]
    assert Response.objects.count() == Answer.objects.count() == 10
    refused = answer(survey, OFFICE, "late")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3"
    assert refused["Cache-Control"] == "no-store"
    assert "Too many answers came from your network in a short time." in refused.content.decode()


def test_the_default_limit_cuts_a_flood_down(survey: Survey, clock: Clock) -> None:
    statuses = []
    for i in range(500):  # 100 answers a second for 5 seconds: a script, not people
        clock.now += 0.01
        statuses.append(answer(survey, OFFICE, f"u{i}").status_code)
    # The burst of 300 passes, then 10 a second: 50 more over the 5 seconds.
    assert statuses[:300] == [200] * 300
    assert 300 + 48 <= statuses.count(200) <= 300 + 51
    assert Response.objects.count() == statuses.count(200)


def test_an_office_of_32_people_answering_at_once_never_meets_the_default(
    survey: Survey, clock: Clock
) -> None:
    # Behind one NAT, 32 people open the email together and each answers a question every
    # 5 seconds: 384 answers a minute, for as long as the survey lasts.
    paths: dict[int, str] = {}
    client = Client(REMOTE_ADDR=OFFICE, HTTP_X_REQUESTED_WITH="fetch")
    for round_ in range(12):
        for person in range(32):
            clock.now += 5 / 32
            path = paths.setdefault(person, f"{survey.public_path()}?user_braze_id=p{person}")
            key = ("nps", "channels", "feedback")[round_ % 3]
            value = {"nps": str(round_ % 11), "channels": "SMS", "feedback": f"r{round_}"}[key]
            page = client.post(path, {"q": key, "a": value})
            assert page.status_code == 200, (round_, person, page.status_code)
    assert Response.objects.count() == 32


def test_a_person_answering_at_a_normal_pace_passes_a_strict_limit(
    survey: Survey, settings: Any, clock: Clock
) -> None:
    settings.RATE_LIMIT_IP = 6  # a burst of 3, then one every 10 seconds
    for i in range(20):
        clock.now += 10
        assert answer(survey, OFFICE, f"u{i}").status_code == 200
    assert Response.objects.count() == 20


def test_another_address_is_not_affected(survey: Survey, settings: Any) -> None:
    settings.RATE_LIMIT_IP = 4
    assert [answer(survey, OFFICE, f"u{i}").status_code for i in range(3)] == [200, 200, 429]
    assert answer(survey, ELSEWHERE, "other").status_code == 200


def test_opening_a_survey_is_not_counted_but_a_link_with_an_answer_is(
    survey: Survey, settings: Any
) -> None:
    settings.RATE_LIMIT_IP = 2  # a burst of 1
    client = Client(REMOTE_ADDR=OFFICE)
    opened = [client.get(survey.public_path(), {"user_braze_id": f"u{i}"}) for i in range(5)]
    assert {page.status_code for page in opened} == {200}
    one_click = [
        client.get(survey.public_path(), {"user_braze_id": f"v{i}", "nps": "9"}) for i in range(2)
    ]
    assert [page.status_code for page in one_click] == [200, 429]
    # The refused click is not even kept as an intent.
    assert list(LinkClick.objects.values_list("who", flat=True)) == ["braze_id:v0"]


def test_the_survey_limit_counts_everyone(survey: Survey, settings: Any) -> None:
    settings.RATE_LIMIT_SURVEY = 4  # a burst of 2
    addresses = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    statuses = [answer(survey, address, address).status_code for address in addresses]
    assert statuses == [200, 200, 429]
    refused = answer(survey, "192.0.2.4", "x")
    assert "This survey is receiving too many answers right now." in refused.content.decode()
    other = Survey.create(survey.workspace, PULSE)
    other.set_status(Status.LIVE)
    assert answer(other, "192.0.2.5", "y").status_code == 200


def test_zero_turns_the_limits_off(survey: Survey, settings: Any) -> None:
    settings.RATE_LIMIT_IP = 0
    settings.RATE_LIMIT_SURVEY = 0
    assert {answer(survey, OFFICE, f"u{i}").status_code for i in range(50)} == {200}


def test_the_machine_itself_has_no_address_limit(survey: Survey, settings: Any) -> None:
    settings.RATE_LIMIT_IP = 2
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert {answer(survey, address, f"{address}-{i}").status_code for i in range(5)} == {200}


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    survey: Survey, settings: Any
) -> None:
    settings.RATE_LIMIT_IP = 2
    forged = [
        answer(survey, OFFICE, f"u{i}", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").status_code
        for i in range(3)
    ]
    assert forged == [200, 429, 429]


def test_behind_a_trusted_proxy_each_client_counts_on_its_own(
    survey: Survey, settings: Any
) -> None:
    settings.RATE_LIMIT_IP = 2
    settings.TRUSTED_PROXIES = [ip_network("10.0.0.0/8")]

    def via_proxy(forwarded: str, who: str) -> int:
        return answer(survey, "10.1.2.3", who, HTTP_X_FORWARDED_FOR=forwarded).status_code

    assert [via_proxy(OFFICE, "a"), via_proxy(OFFICE, "b")] == [200, 429]
    assert via_proxy(ELSEWHERE, "c") == 200
    # What the client wrote itself is further left; the proxy appended the real peer.
    assert via_proxy(f"192.0.2.99, {OFFICE}", "d") == 429
    assert via_proxy(f"{OFFICE}, 10.9.9.9", "e") == 429  # two trusted hops


def test_an_ipv6_client_counts_by_its_64(survey: Survey, settings: Any) -> None:
    settings.RATE_LIMIT_IP = 2
    assert answer(survey, "2001:db8:1:2::1", "a").status_code == 200
    assert answer(survey, "2001:db8:1:2::ffff", "b").status_code == 429
    assert answer(survey, "2001:db8:1:3::1", "c").status_code == 200


def test_the_429_page_speaks_the_survey_language(survey: Survey, settings: Any) -> None:
    survey.replace_definition({**survey.definition, "translations": {"de": {}}})
    settings.RATE_LIMIT_IP = 2
    answer(survey, OFFICE, "a")
    path = f"{survey.public_path()}?user_braze_id=b&lang=de"
    refused = Client(REMOTE_ADDR=OFFICE).post(path, {"q": "nps", "a": "9"})
    assert refused.status_code == 429
    html = refused.content.decode()
    assert "Zu viele Antworten auf einmal" in html and '<html lang="de">' in html


def test_a_bucket_refills_at_the_rate(clock: Clock) -> None:
    buckets = ratelimit.Buckets()
    assert [buckets.take("k", 60, clock.now) for _ in range(30)] == [0.0] * 30
    assert buckets.take("k", 60, clock.now) == pytest.approx(1.0)
    assert buckets.take("k", 60, clock.now + 1) == 0.0
    assert buckets.take("k", 60, clock.now + 1) == pytest.approx(1.0)


def test_forgotten_buckets_are_the_least_recently_used(clock: Clock) -> None:
    buckets = ratelimit.Buckets("test", max_keys=2)
    buckets.take("a", 2, clock.now)
    buckets.take("b", 2, clock.now)
    assert buckets.take("a", 2, clock.now) > 0  # "a" is drained, and now the newest
    buckets.take("c", 2, clock.now)  # forgets "b"
    assert buckets.take("a", 2, clock.now) > 0
    assert buckets.take("b", 2, clock.now) == 0.0


def run_check(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SOUNDING, "manage", "check"],
        env={**cli_env(data_dir), **env},
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.any_db  # a process of its own, without DATABASE_URL
def test_a_wrong_setting_stops_the_process_with_its_name(tmp_path: Path) -> None:
    proxies = run_check(tmp_path, SOUNDING_TRUSTED_PROXIES="10.0.0.0/8,proxy.internal")
    assert proxies.returncode != 0
    assert "SOUNDING_TRUSTED_PROXIES must list IP addresses or networks" in proxies.stderr
    limit = run_check(tmp_path, SOUNDING_RATE_LIMIT_IP="lots")
    assert limit.returncode != 0
    assert "SOUNDING_RATE_LIMIT_IP must be a whole number (0 or more), not 'lots'" in limit.stderr
    assert run_check(tmp_path, SOUNDING_RATE_LIMIT_IP="0").returncode == 0
