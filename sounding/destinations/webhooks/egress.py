"""Sending webhooks to addresses customers type, without letting them aim Sounding inward.

A webhook endpoint is a URL typed by whoever edits a workspace, and Sounding POSTs to it from
inside the operator's network. Unchecked, that is server-side request forgery: the URL could
name the cloud's metadata service (which hands out the machine's credentials), an admin port
on localhost, or a database on the private network. So:

- `refusal` says why a URL may not be used, for the form or API call that saves it: https
  only, no user name or password in it, and every address its host resolves to must be on the
  public internet. The operator may allow more with SOUNDING_WEBHOOK_ALLOWED_URLS.
- `post` checks again when sending, since DNS may have changed since the endpoint was saved,
  then connects to exactly the addresses it checked: a name that resolves to a public address
  for the check and to 127.0.0.1 a moment later (DNS rebinding) never gets a second lookup.
  TLS still verifies the certificate for the name in the URL.

Like `sounding.outbound` (whose `OutboundError` and `Reply` it returns), it never follows a
redirect, bounds its time, and says with every failure whether the far end may have acted.
"""

from __future__ import annotations

import functools
import logging
import math
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)
from typing import Any

import httpcore
import httpx
from django.conf import settings

from sounding import outbound
from sounding.destinations.webhooks.conf import allowed_urls
from sounding.outbound import OutboundError, Reply

# From the moment `send` starts to the last byte of the reply, whatever the far end does: a
# server trickling its answer a byte at a time still has to finish by then. The DNS lookup
# before it is bounded by the resolver's own timeouts.
TIMEOUT = 15.0
CONNECT_TIMEOUT = 5.0
# Of a reply body, only this much is read: the status is what counts, the body is kept for
# diagnosis, and an endpoint must not be able to stream gigabytes into a worker's memory.
MAX_REPLY_BYTES = 64 * 1024
# Connection pools kept per thread, the least recently used closed first.
POOLS_PER_THREAD = 8

_PORTS = {"http": 80, "https": 443}
# Sounding owns these; the caller's values for them are dropped.
_OWN_HEADERS = frozenset(
    {"host", "user-agent", "accept-encoding", "content-length", "transfer-encoding", "connection"}
)
_PUBLIC_ONLY = "Sounding only sends webhooks to addresses on the public internet."

log = logging.getLogger("sounding.wire")
_local = threading.local()

Address = IPv4Address | IPv6Address

# Metadata services hand out the machine's cloud credentials to anyone who asks from inside it.
# Most sit in ranges refused anyway (link-local, private, shared); they are listed for a clearer
# message, and because Azure's platform endpoint is in public address space.
_METADATA = frozenset(
    ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, Google Cloud, Azure, DigitalOcean, OpenStack, Hetzner…
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS pod identity
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "168.63.129.16",  # Azure's platform endpoint, reachable only from inside Azure
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
        "fd20:ce::254",  # Google Cloud over IPv6
    )
)

# IANA's special-purpose registries, written out rather than left to `is_global` alone: what
# `ipaddress` knows changes between Python releases (3.11 takes multicast, 6to4 and site-local
# addresses for global), and the verdict must not. The first match names the kind, so the
# narrower networks come first. `is_global` and the other flags stay as a backstop below.
_SPECIAL: tuple[tuple[IPv4Network | IPv6Network, str], ...] = tuple(
    (ip_network(network), kind)
    for network, kind in (
        ("0.0.0.0/8", "an unspecified address"),  # "this network", 0.0.0.0 reaches this machine
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a shared address (carrier-grade NAT)"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "a special-purpose address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a special-purpose address"),  # former 6to4 relays
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),  # with 255.255.255.255, the broadcast address
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("::ffff:0:0/96", "an IPv4-mapped address"),
        ("::/8", "a reserved address"),  # with IPv4-compatible ::a.b.c.d
        ("64:ff9b:1::/48", "a special-purpose address"),  # NAT64 for local use
        ("100::/64", "a special-purpose address"),  # discard
        ("2001::/32", "a Teredo address"),
        ("2001::/23", "a special-purpose address"),
        ("2001:db8::/32", "a documentation address"),
        ("2002::/16", "a 6to4 address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a special-purpose address"),  # segment routing
        ("fc00::/7", "a private address"),  # unique local
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a private address"),  # site-local, deprecated
        ("ff00::/8", "a multicast address"),
    )
)
# IPv6-only networks reach IPv4-only hosts through NAT64: their resolver (DNS64) answers
# 64:ff9b::a.b.c.d for them, so this prefix is judged by the IPv4 address inside alone.
_NAT64 = ip_network("64:ff9b::/96")
_COMPATIBLE = ip_network("::/96")


class Refused(ValueError):
    """The URL may not be used as a webhook endpoint; the message says why, to whoever typed it."""


class RefusedEndpoint(OutboundError):
    """`post` did not send: the URL is refused now (its message says why), so nothing left.

    Unlike a connection that failed, retrying the same URL helps only if its DNS changes."""

    def __init__(self, message: str) -> None:
        super().__init__(message, maybe_applied=False)


@dataclass(frozen=True)
class Endpoint:
    """A URL that passed the checks, and the addresses its host had then: the only ones `send`
    connects to."""

    scheme: str  # "https", or "http" through the operator's allow list
    host: str  # as in the URL: an ASCII (IDNA) name or an IP address; TLS verifies this name
    port: int
    netloc: str  # the Host header
    target: bytes  # path and query, percent-encoded, as sent
    addresses: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.target.decode('ascii')}"


def refusal(url: str) -> str | None:
    """Why `url` may not be a webhook endpoint, in a sentence for the person who typed it;
    None when it may."""
    try:
        vet(url)
    except Refused as refused:
        return str(refused)
    return None


def vet(url: str) -> Endpoint:
    """Check `url` and resolve its host (raising `Refused`), once, for `send` to use as is."""
    parsed = _parse(url)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or _PORTS[parsed.scheme]
    allowed = _allowed(parsed, port)
    if parsed.scheme != "https" and not allowed:
        raise Refused("Use an https:// address.")
    addresses = _resolve(host, port)
    if not allowed:
        # One bad address is enough: which of them a connection uses is not ours to choose
        # once the name is out of our hands, and a name that mixes a public address with
        # 127.0.0.1 is an attack.
        for address in addresses:
            kind = _kind(ip_address(address))
            if kind is None:
                continue
            if _is_literal(host):
                raise Refused(f"{host} is {kind}: {_PUBLIC_ONLY}")
            raise Refused(f"{host} resolves to {address}, {kind}: {_PUBLIC_ONLY}")
    return Endpoint(
        scheme=parsed.scheme,
        host=host,
        port=port,
        netloc=parsed.netloc.decode("ascii"),
        target=parsed.raw_path,
        addresses=addresses,
    )


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float = TIMEOUT,
    *,
    verify: ssl.SSLContext | None = None,
) -> Reply:
    """POST `body` to `url`, checked now and connected to only at the addresses checked.

    `verify` replaces the trusted certificate authorities: for tests. An operator whose
    endpoints use a private authority sets SSL_CERT_FILE (or SSL_CERT_DIR) instead, which
    the default honours like every other outbound request.
    """
    try:
        endpoint = vet(url)
    except Refused as refused:
        raise RefusedEndpoint(str(refused)) from None
    return send(endpoint, body, headers, timeout, verify=verify)


def send(
    endpoint: Endpoint,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float = TIMEOUT,
    *,
    verify: ssl.SSLContext | None = None,
) -> Reply:
    """POST to an endpoint `vet` returned, connecting only to its addresses."""
    if settings.WIRE_LOG:
        log.debug("POST %s %s", endpoint.url, body.decode(errors="replace"))
    key, pinned = _pool(endpoint, verify or _trusted())
    sent = [(k.encode("ascii"), v.encode("ascii")) for k, v in headers.items()]
    request_headers = [
        (b"Host", endpoint.netloc.encode("ascii")),
        (b"User-Agent", outbound.USER_AGENT.encode("ascii")),
        # A compressed body is not decompressed (a few kilobytes of gzip can inflate to
        # gigabytes): ask for none.
        (b"Accept-Encoding", b"identity"),
        *((k, v) for k, v in sent if k.decode().lower() not in _OWN_HEADERS),
    ]
    started = time.monotonic()
    pinned.deadline.at = started + timeout
    per_step = {
        "connect": min(CONNECT_TIMEOUT, timeout),
        "read": timeout,
        "write": timeout,
        "pool": timeout,
    }
    try:
        with pinned.pool.stream(
            "POST",
            httpcore.URL(
                scheme=endpoint.scheme.encode(),
                host=endpoint.host.encode(),
                port=endpoint.port,
                target=endpoint.target,
            ),
            headers=request_headers,
            content=body,
            extensions={"timeout": per_step},
        ) as response:
            content = _read_capped(response)
    except (httpcore.ConnectError, httpcore.ConnectTimeout, httpcore.PoolTimeout) as exc:
        # Includes a certificate that does not match: nothing was sent.
        raise OutboundError(f"could not connect: {_describe(exc)}", maybe_applied=False) from exc
    except httpcore.TimeoutException as exc:
        _drop(key)
        raise OutboundError(
            "no answer before the timeout", maybe_applied=True, timed_out=True
        ) from exc
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        _drop(key)
        raise OutboundError(f"connection lost: {_describe(exc)}", maybe_applied=True) from exc
    finally:
        pinned.deadline.at = math.inf
    return _reply(response, content, time.monotonic() - started)


def _parse(url: str) -> httpx.URL:
    # httpx parses it here and nowhere else: what is checked is what is sent, so no second
    # parser can read another host out of the same text.
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL:
        raise Refused(f"{url} is not a web address.") from None
    if parsed.scheme not in _PORTS:
        raise Refused("Use an https:// address.")
    if parsed.userinfo:
        raise Refused("Remove the user name and password (user:password@) from the address.")
    if not parsed.raw_host:
        raise Refused("The address needs a host name, like https://hooks.example.com/sounding.")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise Refused(f"{parsed.port} is not a port number (1 to 65535).")
    return parsed


def _allowed(url: httpx.URL, port: int) -> bool:
    """Whether the operator allowed this URL with SOUNDING_WEBHOOK_ALLOWED_URLS.

    Compared part by part, never as text: scheme, host, port (the default one filled in), then
    the path by whole segments, so that http://127.0.0.1:9912/ allows neither
    http://127.0.0.1:99120/ nor http://127.0.0.1:9912@evil/, and /hooks not /hooks-admin.
    """
    path = _path(url)
    origin = (url.scheme, _host_key(url.raw_host), port)
    for prefix in allowed_urls():
        try:
            allowed = httpx.URL(prefix.strip())
        except httpx.InvalidURL:
            continue
        if allowed.scheme not in _PORTS or allowed.userinfo or not allowed.raw_host:
            continue
        allowed_port = allowed.port or _PORTS[allowed.scheme]
        if (allowed.scheme, _host_key(allowed.raw_host), allowed_port) != origin:
            continue
        base = _path(allowed)
        if path == base or path.startswith(base if base.endswith(b"/") else base + b"/"):
            return True
    return False


def _path(url: httpx.URL) -> bytes:
    # Percent-encoded, as sent, with dot segments already removed by httpx: "/hooks/../admin"
    # is "/admin" here and on the wire.
    return url.raw_path.partition(b"?")[0]


def _host_key(raw_host: bytes) -> str:
    host = raw_host.decode("ascii").lower()
    try:
        return str(ip_address(host))  # [::1] and [0::1] are one host
    except ValueError:
        return host


def _is_literal(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


# Whatever else a resolver may hand back (a Unix socket family) is no address to judge.
_INET = frozenset({int(socket.AF_INET), int(socket.AF_INET6)})


def _resolve(host: str, port: int) -> tuple[str, ...]:
    # The system's resolver, as a connection would use it: this is also what turns the
    # numeric spellings of an address (2130706433, 0x7f.1, 127.1) into the address they mean
    # before it is judged.
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        if error.errno in (socket.EAI_AGAIN, socket.EAI_FAIL):
            raise Refused(
                f"{host} could not be looked up just now (no answer from DNS): try again later."
            ) from error
        found = []
    except (OSError, UnicodeError):
        found = []
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in found if int(info[0]) in _INET))
    if not addresses:
        raise Refused(f"{host} could not be found: check the address.")
    return addresses


def _kind(ip: Address) -> str | None:
    """What kind of non-public address `ip` is, for the message; None when it is public."""
    if ip in _METADATA:
        return "a cloud metadata address"
    if isinstance(ip, IPv6Address):
        # An IPv6 address can carry an IPv4 one that the network stack, a NAT64 gateway or a
        # tunnel will deliver to: ::ffff:127.0.0.1 reaches this machine on a dual-stack socket.
        # Judged by the address inside first, so the message names what it would reach.
        for inner in _embedded(ip):
            kind = _kind(inner)
            if kind is not None:
                return f"an IPv6 form of {inner}, {kind}"
        if ip in _NAT64:
            return None
    for network, kind in _SPECIAL:
        if ip in network:
            return kind
    # Anything Python knows to be special that the table above does not name.
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_private:
        return "a special-purpose address"
    return None


def _embedded(ip: IPv6Address) -> list[IPv4Address]:
    found: list[IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # the Teredo server, and the client's public address
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):  # :: and ::1 are themselves
        found.append(IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


# Sending. httpx's pools are keyed by the URL's host and open connections through the system
# resolver, so a name would be looked up again after the check. The request goes through
# httpcore (httpx's own transport) instead, with a network backend that connects to the
# checked addresses whatever name it is given. The URL keeps the name, so the Host header,
# SNI and certificate verification are all for the name, exactly as without pinning, and no
# request extension or header rewriting is needed to get them right.


class _Deadline:
    """When the request in progress on a pool must be over, read by each of its socket calls."""

    def __init__(self) -> None:
        self.at = math.inf

    def left(self, timeout: float | None, expired: type[Exception]) -> float:
        # httpcore's timeouts are per socket call; capping each at what remains of the total
        # is what keeps a server that answers a byte a second from holding a worker for hours.
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise expired("the time for this request ran out")
        return remaining if timeout is None else min(timeout, remaining)


class _PinnedBackend(httpcore.NetworkBackend):
    def __init__(self, endpoint: Endpoint, deadline: _Deadline) -> None:
        self._host = endpoint.host
        self._addresses = endpoint.addresses
        self._deadline = deadline
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        if host != self._host:  # one pool per endpoint: never happens, and must not
            raise httpcore.ConnectError(f"{host} is not {self._host}, the host checked")
        # Each address in turn, as the system's own connect does with a name's addresses: a
        # machine without IPv6 still reaches a host that has both.
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in self._addresses:
            try:
                stream = self._sockets.connect_tcp(
                    address,
                    port,
                    timeout=self._deadline.left(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _BoundedStream(stream, self._deadline)
        raise failure

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class _BoundedStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        try:
            left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        except httpcore.ConnectTimeout:
            self._stream.close()
            raise
        return _BoundedStream(
            self._stream.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


@dataclass(frozen=True)
class _Pinned:
    pool: httpcore.ConnectionPool
    deadline: _Deadline


_PoolKey = tuple[str, str, int, tuple[str, ...], ssl.SSLContext]


def _pool(endpoint: Endpoint, tls: ssl.SSLContext) -> tuple[_PoolKey, _Pinned]:
    # Kept per thread, as outbound keeps its client, so connections are reused between the
    # requests of one worker. One pool per host name, port and set of checked addresses: a
    # connection is only reused for the name its certificate was verified for, and only while
    # the name still resolves to the addresses it was opened to.
    pools: OrderedDict[_PoolKey, _Pinned] = _local.__dict__.setdefault("pools", OrderedDict())
    key: _PoolKey = (endpoint.scheme, endpoint.host, endpoint.port, endpoint.addresses, tls)
    pinned = pools.get(key)
    if pinned is not None:
        pools.move_to_end(key)
        return key, pinned
    deadline = _Deadline()
    pinned = _Pinned(
        httpcore.ConnectionPool(
            ssl_context=tls,
            max_keepalive_connections=1,
            keepalive_expiry=5.0,
            network_backend=_PinnedBackend(endpoint, deadline),
        ),
        deadline,
    )
    pools[key] = pinned
    while len(pools) > POOLS_PER_THREAD:
        _, oldest = pools.popitem(last=False)
        oldest.pool.close()
    return key, pinned


def _drop(key: _PoolKey) -> None:
    # After a lost connection or a timeout, start afresh rather than reuse what is left.
    pinned = _local.__dict__.get("pools", {}).pop(key, None)
    if pinned is not None:
        pinned.pool.close()


@functools.cache
def _trusted() -> ssl.SSLContext:
    # httpx's default: certifi's authorities, or SSL_CERT_FILE / SSL_CERT_DIR when set.
    return httpx.create_ssl_context()


def _read_capped(response: httpcore.Response) -> bytes:
    content = bytearray()
    try:
        for chunk in response.iter_stream():  # at most 64 KB at a time
            content += chunk[: MAX_REPLY_BYTES - len(content)]
            if len(content) >= MAX_REPLY_BYTES:
                break  # closing the response then closes its connection, unread
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError):
        # The status and headers arrived: the endpoint answered. A body cut short, or still
        # coming at the deadline, is kept as far as it came.
        pass
    return bytes(content)


def _reply(response: httpcore.Response, content: bytes, elapsed: float) -> Reply:
    # Read the way outbound reads every reply. Content-Encoding is left out because the
    # body is kept as it came, never decompressed.
    headers = [(k, v) for k, v in response.headers if k.lower() != b"content-encoding"]
    parsed = httpx.Response(response.status, headers=headers, stream=httpx.ByteStream(content))
    parsed.read()
    parsed.elapsed = timedelta(seconds=elapsed)
    return outbound.reply_of(parsed)


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
