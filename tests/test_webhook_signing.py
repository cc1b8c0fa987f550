"""Standard Webhooks signing agrees with the specification's reference implementation both
ways, and the local receiver checks, records and misbehaves over real HTTP."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from sounding.destinations.webhooks import signing
from sounding.destinations.webhooks.receiver import Receiver
from sounding.destinations.webhooks.signing import SignatureError
from tests.procs import free_port, kill_session

# Signatures and the local receiver: no database, the same on any.
pytestmark = pytest.mark.any_db

ROOT = Path(__file__).resolve().parent.parent
SECRET = signing.new_secret()
PREVIOUS = signing.new_secret()
OTHER = signing.new_secret()
BODIES = [
    b"{}",
    json.dumps({"type": "response.completed", "data": {"score": 9}}).encode(),
    # Non-ASCII, sent as UTF-8 the way a JSON encoder with ensure_ascii=False writes it.
    json.dumps(
        {"type": "response.completed", "data": {"comment": "Très bien — ありがとう 🎉"}},
        ensure_ascii=False,
    ).encode(),
    json.dumps({"data": {"comment": 'line\nbreak "quoted" \\ back'}}).encode(),
]


def now() -> int:
    return int(time.time())


def payload(msg_id: str = "msg_1", **data: Any) -> bytes:
    return json.dumps({"type": "response.completed", "data": {"id": msg_id, **data}}).encode()


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


# --- secrets -----------------------------------------------------------------------------


def test_a_new_secret_is_whsec_and_base64_of_32_random_bytes() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert secret != signing.new_secret()


def test_a_secret_reads_the_same_with_or_without_its_prefix() -> None:
    encoded = SECRET.removeprefix("whsec_")
    assert signing.secret_bytes(SECRET) == signing.secret_bytes(encoded)
    assert signing.secret_bytes(SECRET) == base64.b64decode(encoded)


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("", "empty"),
        ("whsec_", "empty"),
        ("whsec_not base64!", "base64"),
        ("whsec_" + base64.b64encode(b"x" * 16).decode(), "16 bytes"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "65 bytes"),
    ],
)
def test_a_bad_secret_is_refused_saying_why(secret: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        signing.secret_bytes(secret)


# --- agreement with the reference implementation ------------------------------------------


def test_the_specification_example_signs_as_published() -> None:
    # The example of the specification's own test suites.
    assert (
        signing.signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


@pytest.mark.parametrize("body", BODIES)
def test_the_reference_verifies_our_signatures(body: bytes) -> None:
    headers = signing.headers([SECRET], "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now(), body)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert Webhook(SECRET).verify(body, headers) == json.loads(body)


@pytest.mark.parametrize("body", BODIES)
def test_we_verify_the_references_signatures(body: bytes) -> None:
    timestamp = now()
    reference = Webhook(SECRET).sign(
        "msg_ref", datetime.fromtimestamp(timestamp, UTC), body.decode()
    )
    headers = {"webhook-id": "msg_ref", "webhook-timestamp": str(timestamp)}
    signing.verify([SECRET], {**headers, "webhook-signature": reference}, body)
    # Header names are case-insensitive.
    signing.verify(
        [SECRET],
        {
            "Webhook-Id": "msg_ref",
            "WEBHOOK-TIMESTAMP": str(timestamp),
            "Webhook-Signature": reference,
        },
        body,
    )


def test_during_rotation_either_secret_alone_verifies() -> None:
    body, timestamp = BODIES[2], now()
    headers = signing.headers([SECRET, PREVIOUS], "msg_rotating", timestamp, body)
    first, second = headers["webhook-signature"].split(" ")
    assert first == signing.signature(SECRET, "msg_rotating", timestamp, body)
    assert second == signing.signature(PREVIOUS, "msg_rotating", timestamp, body)
    for secret in (SECRET, PREVIOUS):
        Webhook(secret).verify(body, headers)
        signing.verify([secret], headers, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER).verify(body, headers)
    with pytest.raises(SignatureError) as refused:
        signing.verify([OTHER], headers, body)
    assert refused.value.reason == SignatureError.NO_MATCH
    # A receiver that already has both secrets accepts a message signed with either one.
    signing.verify([OTHER, PREVIOUS], signing.headers([PREVIOUS], "m", timestamp, body), body)


def test_signatures_of_another_version_are_ignored_not_fatal() -> None:
    body, timestamp = BODIES[1], now()
    ours = signing.signature(SECRET, "msg_v", timestamp, body)
    headers = signing.headers([SECRET], "msg_v", timestamp, body)
    headers["webhook-signature"] = f"v1a,c29tZXRoaW5n v1,@@@ {ours}"
    signing.verify([SECRET], headers, body)
    Webhook(SECRET).verify(body, {**headers, "webhook-signature": f"v1a,c29tZXRoaW5n {ours}"})


# --- refusals ------------------------------------------------------------------------------


def refusal(secrets: list[str], headers: dict[str, str], body: bytes, **kw: Any) -> SignatureError:
    with pytest.raises(SignatureError) as refused:
        signing.verify(secrets, headers, body, **kw)
    assert isinstance(refused.value, ValueError)
    return refused.value


def test_a_tampered_body_fails_in_both_implementations() -> None:
    body = BODIES[1]
    headers = signing.headers([SECRET], "msg_t", now(), body)
    tampered = body.replace(b"9", b"0")
    error = refusal([SECRET], headers, tampered)
    assert error.reason == SignatureError.NO_MATCH
    assert "no v1 signature" in str(error)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(SECRET).verify(tampered, headers)


def test_a_changed_id_or_timestamp_fails() -> None:
    body, timestamp = BODIES[1], now()
    headers = signing.headers([SECRET], "msg_a", timestamp, body)
    for changed in ({"webhook-id": "msg_b"}, {"webhook-timestamp": str(timestamp - 1)}):
        assert refusal([SECRET], {**headers, **changed}, body).reason == SignatureError.NO_MATCH


def test_a_wrong_secret_fails() -> None:
    headers = signing.headers([OTHER], "msg_w", now(), BODIES[0])
    assert refusal([SECRET], headers, BODIES[0]).reason == SignatureError.NO_MATCH


def test_timestamps_more_than_five_minutes_away_fail_either_way() -> None:
    body, sent = BODIES[0], 1_700_000_000
    headers = signing.headers([SECRET], "msg_old", sent, body)
    signing.verify([SECRET], headers, body, now=sent + 300)
    signing.verify([SECRET], headers, body, now=sent - 300)
    old = refusal([SECRET], headers, body, now=sent + 301)
    assert old.reason == SignatureError.TOO_OLD and "301 s old" in str(old)
    new = refusal([SECRET], headers, body, now=sent - 301)
    assert new.reason == SignatureError.TOO_NEW and "future" in str(new)
    # The real clock by default, like the reference's.
    assert refusal([SECRET], headers, body).reason == SignatureError.TOO_OLD
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(SECRET).verify(body, headers)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_named(missing: str) -> None:
    headers = signing.headers([SECRET], "msg_m", now(), BODIES[0])
    del headers[missing]
    error = refusal([SECRET], headers, BODIES[0])
    assert error.reason == SignatureError.MISSING_HEADER and missing in str(error)


def test_a_timestamp_that_is_not_whole_seconds_is_refused() -> None:
    headers = signing.headers([SECRET], "msg_f", now(), BODIES[0])
    headers["webhook-timestamp"] += ".5"
    assert refusal([SECRET], headers, BODIES[0]).reason == SignatureError.BAD_TIMESTAMP


# --- the receiver over HTTP ----------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver([SECRET]) as running:
        yield running


def send(
    receiver: Receiver,
    msg_id: str,
    *,
    secrets: tuple[str, ...] = (SECRET,),
    path: str = "/hooks/sounding",
    body: bytes | None = None,
    timeout: float = 10.0,
) -> httpx.Response:
    body = payload(msg_id) if body is None else body
    headers = {"content-type": "application/json", **signing.headers(secrets, msg_id, now(), body)}
    return httpx.post(receiver.url + path, content=body, headers=headers, timeout=timeout)


def control(receiver: Receiver, name: str, body: Any = None) -> httpx.Response:
    url = f"{receiver.url}/_receiver/{name}"
    if body is None and name == "messages":
        return httpx.get(url, timeout=10)
    return httpx.post(url, json=body if body is not None else {}, timeout=10)


def test_a_signed_message_is_recorded_verified(receiver: Receiver) -> None:
    answer = send(receiver, "msg_ok", path="/any/path?x=1")
    assert answer.status_code == 200
    listed = control(receiver, "messages").json()
    assert listed == receiver.messages()
    [message] = listed
    assert message["id"] == "msg_ok" and message["verified"] is True
    assert message["error"] is None and message["duplicate"] is False
    assert message["type"] == "response.completed"
    assert message["body"] == json.loads(payload("msg_ok"))
    assert message["path"] == "/any/path"
    assert message["status"] == 200 and message["attempt"] == 1
    assert message["signature"] == message["headers"]["webhook-signature"]
    assert message["signature"].startswith("v1,")
    assert abs(message["timestamp"] - now()) < 60
    assert message["received_at"].endswith("Z")


def test_a_badly_signed_message_gets_401_and_is_recorded_unverified(receiver: Receiver) -> None:
    answer = send(receiver, "msg_forged", secrets=(OTHER,))
    assert answer.status_code == 401
    assert "no v1 signature" in answer.json()["message"]
    unsigned = httpx.post(receiver.url + "/hook", content=b"{}", timeout=10)
    assert unsigned.status_code == 401
    forged, bare = receiver.messages()
    assert forged["verified"] is False and forged["reason"] == "no_match"
    assert forged["status"] == 401 and forged["id"] == "msg_forged"
    assert bare["verified"] is False and bare["reason"] == "missing_header"
    assert bare["id"] is None and "webhook-id" in bare["error"]


def test_rotation_accepts_both_secrets_and_the_secrets_can_be_replaced(
    receiver: Receiver,
) -> None:
    assert send(receiver, "msg_both", secrets=(OTHER, SECRET)).status_code == 200
    replaced = control(receiver, "secrets", {"secrets": [OTHER]})
    assert replaced.json() == {"secrets": 1}
    assert send(receiver, "msg_old_secret").status_code == 401
    assert send(receiver, "msg_new_secret", secrets=(OTHER,)).status_code == 200
    refused = control(receiver, "secrets", {"secrets": ["whsec_tooshort"]})
    assert refused.status_code == 400 and "bytes" in refused.json()["message"]


def test_an_outage_for_a_while_then_back_to_200(receiver: Receiver) -> None:
    # Open-ended first, so that the 500 is seen however slowly this machine runs.
    control(receiver, "behaviour", {"status": 500})
    assert send(receiver, "msg_outage").status_code == 500
    set_to = control(receiver, "behaviour", {"status": 500, "for_seconds": 1}).json()
    assert set_to == {"status": 500, "delay": 0.0, "remaining_seconds": 1.0}
    # The sender retries the same message until the window is over.
    wait_until(lambda: send(receiver, "msg_outage").status_code == 200, what="the outage to end")
    assert httpx.get(receiver.url + "/_receiver/behaviour").json() == {
        "status": 200,
        "delay": 0.0,
        "remaining_seconds": None,
    }
    messages = receiver.messages()
    statuses = [m["status"] for m in messages]
    assert statuses[0] == 500 and statuses[-1] == 200 and set(statuses[:-1]) == {500}
    assert [m["attempt"] for m in messages] == list(range(1, len(messages) + 1))
    # Retries of a message that was never accepted are not duplicates; once accepted, it is.
    assert not any(m["duplicate"] for m in messages)
    assert send(receiver, "msg_outage").status_code == 200
    assert receiver.messages()[-1]["duplicate"] is True


def test_gone_until_told_otherwise(receiver: Receiver) -> None:
    control(receiver, "behaviour", {"status": 410})
    assert send(receiver, "msg_1").status_code == 410
    assert send(receiver, "msg_2").status_code == 410
    assert httpx.get(receiver.url + "/_receiver/behaviour").json() == {
        "status": 410,
        "delay": 0.0,
        "remaining_seconds": None,
    }
    control(receiver, "behaviour", {"status": 200})
    assert send(receiver, "msg_3").status_code == 200


@pytest.mark.parametrize(
    "behaviour",
    [{"status": 99}, {"status": "500"}, {"for_seconds": 0}, {"delay": -1}, {"colour": "red"}],
)
def test_a_bad_behaviour_is_refused(receiver: Receiver, behaviour: dict[str, Any]) -> None:
    assert control(receiver, "behaviour", behaviour).status_code == 400


def test_a_slow_answer_keeps_the_message(receiver: Receiver) -> None:
    receiver.behave(delay=30.0)
    with pytest.raises(httpx.ReadTimeout):
        send(receiver, "msg_slow", timeout=0.5)
    [message] = wait_until(receiver.messages, what="the slow message to be recorded")
    assert message["id"] == "msg_slow" and message["delay"] == 30.0


def test_duplicates_are_flagged_and_still_accepted(receiver: Receiver) -> None:
    for _ in range(3):
        assert send(receiver, "msg_dup").status_code == 200
    assert send(receiver, "msg_other").status_code == 200
    flags = [(m["id"], m["duplicate"]) for m in receiver.messages()]
    assert flags == [
        ("msg_dup", False),
        ("msg_dup", True),
        ("msg_dup", True),
        ("msg_other", False),
    ]
    assert sum(m["duplicate"] for m in receiver.messages()) == 2


def test_reset_forgets_messages_and_behaviour(receiver: Receiver) -> None:
    send(receiver, "msg_r")
    receiver.behave(status=503)
    assert control(receiver, "reset").status_code == 200
    assert receiver.messages() == []
    assert send(receiver, "msg_r").status_code == 200
    assert receiver.messages()[0]["duplicate"] is False


def test_messages_since_a_sequence_number(receiver: Receiver) -> None:
    for msg_id in ("a", "b", "c"):
        send(receiver, msg_id)
    first = receiver.messages()[0]["seq"]
    later = httpx.get(f"{receiver.url}/_receiver/messages?since={first}").json()
    assert [m["id"] for m in later] == ["b", "c"]


def test_unknown_control_paths_and_non_posts_are_refused(receiver: Receiver) -> None:
    assert httpx.get(receiver.url + "/_receiver/nothing").status_code == 404
    assert httpx.post(receiver.url + "/_receiver/messages").status_code == 405
    assert httpx.get(receiver.url + "/hooks").status_code == 405
    assert receiver.messages() == []


# --- the command -----------------------------------------------------------------------------


def test_the_command_serves_verifies_and_prints(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "receiver.out"
    with out.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sounding",
                "webhook-receiver",
                "--port",
                str(port),
                "--secret",
                SECRET,
                "--secret",
                PREVIOUS,
            ],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, out.read_text()
        try:
            return httpx.get(base + "/_receiver/messages", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, timeout=30, what="the receiver to answer")
        body = payload("msg_cli", comment="ça marche")
        for msg_id, secrets, expected in (
            ("msg_cli", (PREVIOUS,), 200),
            ("msg_forged", (OTHER,), 401),
        ):
            headers = signing.headers(secrets, msg_id, now(), body)
            assert httpx.post(base + "/hook", content=body, headers=headers).status_code == expected
        listed = httpx.get(base + "/_receiver/messages").json()
        assert [(m["id"], m["verified"]) for m in listed] == [
            ("msg_cli", True),
            ("msg_forged", False),
        ]

        def message_lines() -> list[str]:
            return [line for line in out.read_text().splitlines() if "  msg_" in line]

        wait_until(lambda: len(message_lines()) == 2, what="a line per message")
        verified, forged = message_lines()
        assert "  200  msg_cli  response.completed  verified" in verified
        assert "  401  msg_forged  response.completed  NOT verified: no v1 signature" in forged
        assert f"listening on {base}" in out.read_text()
        # SIGTERM, as a process manager stops it, ends it cleanly.
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        kill_session(process.pid)
        process.wait(timeout=10)


def test_the_command_refuses_a_bad_secret_before_listening() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sounding",
            "webhook-receiver",
            "--port",
            str(free_port()),
            "--secret",
            SECRET,
            "--secret",
            "whsec_tooshort",
        ],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--secret: the webhook secret holds" in result.stderr
