"""The installation's own address: which one links use, and which Host headers are answered.

A password-reset or invitation link built from the request's Host header goes wherever the
requester says: `Host: evil.example` would mail the victim a link to the attacker. So links
use `SOUNDING_SITE_URL`, or else the address `sounding serve`/`sounding web` was started on,
and never a Host header. Imported by the settings: nothing here may need Django set up.
"""

from __future__ import annotations

import socket
from ipaddress import ip_address
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# Local tools (health checks, `curl` on the machine) reach the server by these names.
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


def served_url(host: str, port: int) -> str:
    """The address a server bound to host:port answers on; for a wildcard bind, the machine's
    own name (the same on every request, unlike a Host header)."""
    name = socket.getfqdn() if host in WILDCARDS else host
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return f"http://{name}:{port}"


def is_public(host: str) -> bool:
    """Whether a bind address can be reached from other machines."""
    if host in WILDCARDS:
        return True
    if host == "localhost":
        return False
    try:
        return not ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name: assume it resolves to a reachable address


def allowed_hosts(configured: str, site_url: str, served_at: str) -> list[str]:
    """`SOUNDING_ALLOWED_HOSTS` when set; else the host of the canonical address and the local
    names; else any host (a wildcard bind without SOUNDING_SITE_URL: the checks warn)."""
    if configured.strip():
        return [h.strip() for h in configured.split(",") if h.strip()]
    canonical = site_url or served_at
    host = urlsplit(canonical).hostname if canonical else None
    if not host or (not site_url and urlsplit(served_at).hostname == _own_name()):
        return ["*"]
    name = f"[{host}]" if ":" in host else host
    return [name, *(h for h in LOCAL_HOSTS if h != name)]


def _own_name() -> str:
    return socket.getfqdn()


def canonical(site_url: str, served_at: str, request_base: str) -> str:
    """The base of every link Sounding writes. `request_base` (from the Host header) is used
    only where neither is known: tests and `sounding manage` commands, never a served site."""
    return site_url or served_at or request_base


def url_prefixes(name: str, raw: str) -> list[str]:
    """The comma-separated URL prefixes an operator allowed in the environment variable `name`,
    each checked: a mistake stops the start with what to write instead."""
    prefixes = [part.strip() for part in raw.split(",") if part.strip()]
    for prefix in prefixes:
        try:
            parts = urlsplit(prefix)
            usable = parts.scheme in {"http", "https"} and bool(parts.hostname)
            usable = usable and "@" not in parts.netloc and parts.port != 0
        except ValueError:  # a port that is no number, or out of range
            usable = False
        if not usable:
            raise ImproperlyConfigured(
                f"{name} must list URL prefixes (http://10.0.0.5:8080/hooks/), "
                f"comma-separated: {prefix!r} is not one."
            )
    return prefixes
