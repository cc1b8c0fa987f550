"""Webhook endpoints reach the public internet only, over a connection to the address checked.

Real sockets throughout: local HTTP and HTTPS servers in threads (reached through
SOUNDING_WEBHOOK_ALLOWED_URLS, as an operator would allow a receiver on their network), a
port that listens and never answers, a port that refuses. Public addresses are only checked,
never connected to: there is no internet here.
"""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sounding import outbound
from sounding.destinations.webhooks import egress
from sounding.outbound import OutboundError

# Its receivers are servers in this process: no database, the same on any.
pytestmark = pytest.mark.any_db

SIGNED = {"Content-Type": "application/json", "X-Sounding-Signature": "t=1,v1=abc"}
BODY = b'{"event":"answer","score":9}'
# Long enough for any machine to connect to itself, short enough not to wait long.
SHORT = 1.0
# A test that fails only if the call never ends: far above every timeout used here.
GENEROUS = 30.0


# The servers.


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int


@dataclass
class Receiver:
    """An HTTP server on one address of this machine, recording what reaches it."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # SNI, when serving TLS

    @property
    def host(self) -> str:
        return str(self.server.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def paths(self) -> list[str]:
        return [r.path for r in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(receiver_of: Callable[[], Receiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do
        timeout = GENEROUS  # no handler thread outlives the tests for long

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver_of().received.append(
                Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    self.client_address[1],
                )
            )
            route = getattr(self, "_" + self.path.strip("/").replace("-", "_"), self._ok)
            route()

        def _ok(self) -> None:
            self._answer(200, json.dumps({"received": True}).encode(), "application/json")

        def _redirect(self) -> None:
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _drop(self) -> None:
            self.close_connection = True  # the request was read; no answer ever comes

        def _endless(self) -> None:
            # Exactly MAX_REPLY_BYTES of JSON, then junk without end: parsed JSON in the
            # reply shows that the first MAX_REPLY_BYTES were read, and nothing after them.
            pad = "a" * (egress.MAX_REPLY_BYTES - len('{"pad":""}'))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()  # no length: the body lasts until the connection closes
            self.close_connection = True
            self._keep_writing(
                json.dumps({"pad": pad}, separators=(",", ":")).encode(), b"x" * 65536
            )

        def _trickle_headers(self) -> None:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            self.close_connection = True
            self._keep_writing(b"", b"a", pause=0.05)

        def _trickle_body(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.close_connection = True
            self._keep_writing(b"", b"a", pause=0.05)

        def _keep_writing(self, first: bytes, then: bytes, pause: float = 0.0) -> None:
            # Until the client hangs up (or long after any test would have failed).
            deadline = time.monotonic() + GENEROUS
            try:
                self.wfile.write(first)
                while time.monotonic() < deadline:
                    self.wfile.write(then)
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:
                pass

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def serve(host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None) -> Receiver:
    holder: list[Receiver] = []
    server = ThreadingHTTPServer((host, port), _handler(lambda: holder[0]))
    receiver = Receiver(server)
    holder.append(receiver)
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: receiver.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    return receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = serve()
    yield running
    running.stop()


@pytest.fixture
def allowed(settings: Any, receiver: Receiver) -> str:
    """The receiver's base URL, allowed as an operator would allow a local receiver."""
    base = f"http://127.0.0.1:{receiver.port}/"
    settings.WEBHOOK_ALLOWED_URLS = [base]
    return base


# Refused and accepted addresses.

REFUSED = [
    ("https://127.0.0.1/", "127.0.0.1 is a loopback address"),
    ("https://10.0.0.1/", "a private address"),
    ("https://172.16.0.1", "a private address"),
    ("https://192.168.1.1", "a private address"),
    ("https://169.254.169.254/latest/meta-data", "a cloud metadata address"),
    ("https://[::1]/", "a loopback address"),
    ("https://[::ffff:127.0.0.1]/", "an IPv6 form of 127.0.0.1, a loopback address"),
    ("https://[::ffff:7f00:1]/", "an IPv6 form of 127.0.0.1, a loopback address"),
    ("https://[::7f00:1]/", "an IPv6 form of 127.0.0.1"),  # IPv4-compatible
    ("https://[::ffff:5db8:d70e]/", "an IPv4-mapped address"),  # even of a public one
    ("https://[fe80::1]/", "a link-local address"),
    ("https://[fd00:ec2::254]/", "a cloud metadata address"),
    ("https://[fd12:3456::1]/", "a private address"),
    ("https://[64:ff9b::a9fe:a9fe]/", "an IPv6 form of 169.254.169.254, a cloud metadata"),
    ("https://[2002:7f00:1::]/", "an IPv6 form of 127.0.0.1"),  # 6to4
    ("https://[2002:5db8:d70e::1]/", "a 6to4 address"),
    ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "an IPv6 form of 192.0.2.45"),  # Teredo
    ("https://[ff02::1]/", "a multicast address"),
    ("https://[2001:db8::1]/", "a documentation address"),
    ("https://0.0.0.0/", "an unspecified address"),
    ("https://[::]/", "an unspecified address"),
    ("https://224.0.0.1/", "a multicast address"),
    ("https://100.64.0.1/", "a shared address"),
    ("https://100.100.100.200/", "a cloud metadata address"),
    ("https://168.63.129.16/", "a cloud metadata address"),  # Azure's, in public space
    ("https://192.0.2.10/", "a documentation address"),
    ("https://198.18.0.1/", "a benchmarking address"),
    ("https://240.0.0.1/", "a reserved address"),
    ("https://255.255.255.255/", "a reserved address"),
    ("https://2130706433/", "2130706433 resolves to 127.0.0.1, a loopback address"),
    ("https://0x7f.1/", "0x7f.1 resolves to 127.0.0.1, a loopback address"),
    ("https://127.1/", "127.1 resolves to 127.0.0.1, a loopback address"),
    ("https://017700000001/", "resolves to 127.0.0.1"),  # octal
    ("https://localhost/", "localhost resolves to 127.0.0.1, a loopback address"),
    ("https://LocalHost:8443/hooks", "localhost resolves to 127.0.0.1"),
    ("http://example.com/", "Use an https:// address."),
    ("ftp://example.com/", "Use an https:// address."),
    ("example.com/hooks", "Use an https:// address."),
    ("https://user:pw@example.com/", "Remove the user name and password"),
    ("https://user@example.com/", "Remove the user name and password"),
    ("https:///hooks", "needs a host name"),
    ("https://example.com:99999/", "not a port number"),
    ("https://nothing.sounding.invalid/hooks", "nothing.sounding.invalid could not be found"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_an_address_that_is_not_public_https_is_refused(url: str, reason: str) -> None:
    message = egress.refusal(url)
    assert message is not None and reason in message, message


def test_a_refusal_says_where_the_name_led_and_why_it_matters() -> None:
    assert egress.refusal("https://localhost/") == (
        "localhost resolves to 127.0.0.1, a loopback address: "
        "Sounding only sends webhooks to addresses on the public internet."
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.215.14/",
        "https://93.184.215.14:8443/hooks?workspace=3",
        "https://[2606:4700::1]/",
        # What an IPv6-only network's resolver answers for an IPv4-only host (DNS64).
        "https://[64:ff9b::5db8:d70e]/",
    ],
)
def test_a_public_address_is_accepted(url: str) -> None:
    assert egress.refusal(url) is None


def test_every_address_of_a_name_is_judged() -> None:
    endpoint = egress.vet("https://93.184.215.14/hooks?x=1")
    assert endpoint.addresses == ("93.184.215.14",)
    assert (endpoint.host, endpoint.port, endpoint.target) == ("93.184.215.14", 443, b"/hooks?x=1")


# The operator's allow list.


def test_an_allowed_receiver_gets_the_body_and_headers(allowed: str, receiver: Receiver) -> None:
    reply = egress.post(allowed + "hooks", BODY, SIGNED, timeout=SHORT)

    assert reply.status == 200
    assert reply.body == {"received": True}
    assert reply.headers["content-type"] == "application/json"
    [got] = receiver.received
    assert (got.path, got.body) == ("/hooks", BODY)
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-sounding-signature"] == "t=1,v1=abc"
    assert got.headers["user-agent"] == outbound.USER_AGENT
    assert got.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert got.headers["content-length"] == str(len(BODY))


def test_the_callers_host_header_never_replaces_the_urls(allowed: str, receiver: Receiver) -> None:
    egress.post(allowed, BODY, {**SIGNED, "Host": "admin.internal"}, timeout=SHORT)
    assert receiver.received[0].headers["host"] == f"127.0.0.1:{receiver.port}"


def test_look_alikes_of_an_allowed_prefix_are_refused(allowed: str, receiver: Receiver) -> None:
    port = receiver.port
    look_alikes = [
        f"http://127.0.0.1:{port}0/",  # another port (or none at all)
        f"http://127.0.0.1:{port}@evil.example/",  # 127.0.0.1:port is a user name here
        f"http://127.0.0.1:{port}.evil.example/",
        f"http://localhost:{port}/",  # the same machine, but not what was allowed
        f"https://127.0.0.1:{port}/",  # another scheme
        f"http://127.0.0.2:{port}/",
    ]
    for url in look_alikes:
        assert egress.refusal(url) is not None, url
        with pytest.raises(OutboundError) as refused:
            egress.post(url, BODY, SIGNED, timeout=SHORT)
        assert refused.value.maybe_applied is False
    assert receiver.received == []


def test_an_allowed_path_is_a_prefix_by_whole_segments(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_URLS = ["http://127.0.0.1:9912/hooks"]
    for url in [
        "http://127.0.0.1:9912/hooks",
        "http://127.0.0.1:9912/hooks/",
        "http://127.0.0.1:9912/hooks/a?b=c",
        "HTTP://127.0.0.1:9912/hooks/a",
    ]:
        assert egress.refusal(url) is None, url
    for url in [
        "http://127.0.0.1:9912/hooks-admin",
        "http://127.0.0.1:9912/hooks/../admin",  # is /admin, here as on the wire
        "http://127.0.0.1:9912/HOOKS",
        "http://127.0.0.1:9912/",
        "http://127.0.0.1:99120/hooks",
    ]:
        assert egress.refusal(url) is not None, url


def test_the_default_port_counts_as_written(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_URLS = ["http://127.0.0.1/"]
    assert egress.refusal("http://127.0.0.1:80/hooks") is None
    assert egress.refusal("http://127.0.0.1:8080/hooks") is not None


def test_an_allowed_url_still_may_not_carry_a_password(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_URLS = ["http://127.0.0.1:9912/"]
    assert "user name" in (egress.refusal("http://me:pw@127.0.0.1:9912/") or "")


# The reply.


def test_a_redirect_is_a_reply_never_followed(allowed: str, receiver: Receiver) -> None:
    reply = egress.post(allowed + "redirect", BODY, SIGNED, timeout=SHORT)

    assert reply.status == 302
    assert reply.headers["location"] == "/elsewhere"
    assert receiver.paths() == ["/redirect"]


def test_a_reply_body_is_read_up_to_the_cap_only(allowed: str, receiver: Receiver) -> None:
    # The body never ends; the reply is the first MAX_REPLY_BYTES, which are whole JSON.
    reply = egress.post(allowed + "endless", BODY, SIGNED, timeout=GENEROUS)

    assert reply.status == 200
    assert isinstance(reply.body, dict)
    assert len(reply.body["pad"]) == egress.MAX_REPLY_BYTES - len('{"pad":""}')


def test_a_body_still_coming_at_the_deadline_is_kept_as_far_as_it_came(
    allowed: str, receiver: Receiver
) -> None:
    started = time.monotonic()
    reply = egress.post(allowed + "trickle-body", BODY, SIGNED, timeout=SHORT)

    assert reply.status == 200
    assert reply.body.startswith("a")
    assert time.monotonic() - started < GENEROUS


def test_connections_are_reused_for_the_same_name_only(settings: Any, receiver: Receiver) -> None:
    settings.WEBHOOK_ALLOWED_URLS = [
        f"http://127.0.0.1:{receiver.port}/",
        f"http://localhost:{receiver.port}/",
    ]
    for url in ["http://127.0.0.1:{}/a", "http://127.0.0.1:{}/b", "http://localhost:{}/c"]:
        egress.post(url.format(receiver.port), BODY, SIGNED, timeout=SHORT)

    first, second, other_name = (r.client_port for r in receiver.received)
    assert first == second
    assert other_name != first


# Failures, and whether the far end may have acted.


def test_a_refused_url_never_leaves() -> None:
    with pytest.raises(egress.RefusedEndpoint) as refused:
        egress.post("https://169.254.169.254/latest/meta-data", BODY, SIGNED)
    assert isinstance(refused.value, OutboundError)
    assert refused.value.maybe_applied is False
    assert refused.value.timed_out is False
    assert "cloud metadata" in str(refused.value)


def test_a_closed_port_was_certainly_not_reached(settings: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.WEBHOOK_ALLOWED_URLS = [f"http://127.0.0.1:{port}/"]

    with pytest.raises(OutboundError) as failed:
        egress.post(f"http://127.0.0.1:{port}/", BODY, SIGNED, timeout=SHORT)
    assert (failed.value.maybe_applied, failed.value.timed_out) == (False, False)
    assert "could not connect" in str(failed.value)


def test_a_server_that_never_answers_times_out_maybe_applied(settings: Any) -> None:
    # Listening, never accepting: the connection and the request go through, no reply comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        settings.WEBHOOK_ALLOWED_URLS = [f"http://127.0.0.1:{port}/"]

        with pytest.raises(OutboundError) as failed:
            egress.post(f"http://127.0.0.1:{port}/", BODY, SIGNED, timeout=0.5)
    assert (failed.value.maybe_applied, failed.value.timed_out) == (True, True)


def test_the_timeout_bounds_the_whole_request_not_each_read(
    allowed: str, receiver: Receiver
) -> None:
    # A header byte every 50 ms: no single read ever waits a second, the request never ends.
    started = time.monotonic()
    with pytest.raises(OutboundError) as failed:
        egress.post(allowed + "trickle-headers", BODY, SIGNED, timeout=SHORT)

    assert (failed.value.maybe_applied, failed.value.timed_out) == (True, True)
    assert time.monotonic() - started < GENEROUS


def test_a_connection_dropped_after_sending_may_have_been_applied(
    allowed: str, receiver: Receiver
) -> None:
    with pytest.raises(OutboundError) as failed:
        egress.post(allowed + "drop", BODY, SIGNED, timeout=SHORT)

    assert (failed.value.maybe_applied, failed.value.timed_out) == (True, False)
    assert receiver.received[0].body == BODY


# Pinning: the request goes to the address that was checked, under the name in the URL.


@pytest.fixture
def two_addresses() -> Iterator[tuple[Receiver, Receiver]]:
    """Receivers on one port of 127.0.0.1 (where `localhost` resolves) and of 127.0.0.2
    (which no name here resolves to)."""
    for _ in range(20):
        elsewhere = serve("127.0.0.2")
        try:
            localhost = serve("127.0.0.1", elsewhere.port)
        except OSError:  # that port is taken on 127.0.0.1: another one
            elsewhere.stop()
            continue
        yield localhost, elsewhere
        localhost.stop()
        elsewhere.stop()
        return
    pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")


def test_a_request_goes_to_the_address_checked_and_names_the_host(
    settings: Any, two_addresses: tuple[Receiver, Receiver]
) -> None:
    localhost, elsewhere = two_addresses
    port = localhost.port
    settings.WEBHOOK_ALLOWED_URLS = [f"http://localhost:{port}/"]

    egress.post(f"http://localhost:{port}/hooks", BODY, SIGNED, timeout=SHORT)

    assert [(r.path, r.headers["host"]) for r in localhost.received] == [
        ("/hooks", f"localhost:{port}")
    ]
    assert elsewhere.received == []


def test_sending_never_looks_the_name_up_again(
    settings: Any, two_addresses: tuple[Receiver, Receiver]
) -> None:
    localhost, elsewhere = two_addresses
    port = localhost.port
    settings.WEBHOOK_ALLOWED_URLS = [f"http://localhost:{port}/"]
    endpoint = egress.vet(f"http://localhost:{port}/hooks")
    assert "127.0.0.1" in endpoint.addresses

    # As if localhost had resolved to 127.0.0.2 when it was checked, and resolves to
    # 127.0.0.1 now (DNS rebinding): the request goes to 127.0.0.2, still named localhost.
    reply = egress.send(replace(endpoint, addresses=("127.0.0.2",)), BODY, SIGNED, SHORT)

    assert reply.status == 200
    assert [r.headers["host"] for r in elsewhere.received] == [f"localhost:{port}"]
    assert localhost.received == []


def test_sending_to_a_name_that_resolves_nowhere_reaches_its_checked_address(
    settings: Any, receiver: Receiver
) -> None:
    name = "hooks.sounding.invalid"
    settings.WEBHOOK_ALLOWED_URLS = [f"http://127.0.0.1:{receiver.port}/"]
    checked = egress.vet(f"http://127.0.0.1:{receiver.port}/hooks")
    endpoint = replace(checked, host=name, netloc=f"{name}:{receiver.port}")

    egress.send(endpoint, BODY, SIGNED, SHORT)

    assert receiver.received[0].headers["host"] == f"{name}:{receiver.port}"


# TLS: connected to the address checked, verified for the name.


@dataclass
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    directory: Path

    def trusted(self) -> ssl.SSLContext:
        return ssl.create_default_context(
            cadata=self.cert.public_bytes(serialization.Encoding.PEM).decode()
        )

    def serving(self, *names: x509.GeneralName) -> ssl.SSLContext:
        """A server context with a certificate from this authority for `names`."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "receiver")]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_file, key_file = self.directory / "cert.pem", self.directory / "key.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sounding test authority")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, cert, tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_receiver(authority: Authority) -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(*names: x509.GeneralName) -> Receiver:
        started.append(serve("127.0.0.1", tls=authority.serving(*names)))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def test_https_goes_to_the_checked_address_with_the_name_as_sni(
    settings: Any, authority: Authority, tls_receiver: Callable[..., Receiver]
) -> None:
    receiver = tls_receiver(x509.DNSName("localhost"))  # for the name only, not 127.0.0.1
    settings.WEBHOOK_ALLOWED_URLS = [f"https://localhost:{receiver.port}/"]

    reply = egress.post(
        f"https://localhost:{receiver.port}/hooks",
        BODY,
        SIGNED,
        timeout=SHORT,
        verify=authority.trusted(),
    )

    assert reply.status == 200
    assert receiver.server_names == ["localhost"]
    assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"


def test_the_certificate_is_checked_for_the_name_not_the_address(
    settings: Any, authority: Authority, tls_receiver: Callable[..., Receiver]
) -> None:
    # Valid for 127.0.0.1, the address connected to, but not for localhost, the name.
    receiver = tls_receiver(x509.IPAddress(ip_address("127.0.0.1")))
    settings.WEBHOOK_ALLOWED_URLS = [f"https://localhost:{receiver.port}/"]

    with pytest.raises(OutboundError) as failed:
        egress.post(
            f"https://localhost:{receiver.port}/hooks",
            BODY,
            SIGNED,
            timeout=SHORT,
            verify=authority.trusted(),
        )
    assert failed.value.maybe_applied is False
    assert "certificate" in str(failed.value).lower()
    assert receiver.received == []


def test_certificates_are_verified_by_default(
    settings: Any, tls_receiver: Callable[..., Receiver]
) -> None:
    receiver = tls_receiver(x509.DNSName("localhost"))  # from an authority nobody trusts
    settings.WEBHOOK_ALLOWED_URLS = [f"https://localhost:{receiver.port}/"]

    with pytest.raises(OutboundError) as failed:
        egress.post(f"https://localhost:{receiver.port}/", BODY, SIGNED, timeout=SHORT)
    assert failed.value.maybe_applied is False
    assert "certificate" in str(failed.value).lower()
    assert receiver.received == []
