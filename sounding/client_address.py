"""Who sent a request: the client's address behind trusted proxies (`TRUSTED_PROXIES`), and
the key rate limits count it under. Used by the respondent path and the sign-in and e-mail
limits alike, so it belongs to no app."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from django.conf import settings
from django.http import HttpRequest


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        address = ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    return address.ipv4_mapped or address if address.version == 6 else address


def _trusted(address: IPv4Address | IPv6Address | None) -> bool:
    return address is not None and any(address in net for net in settings.TRUSTED_PROXIES)


def client_address(request: HttpRequest) -> IPv4Address | IPv6Address | None:
    """The respondent's address: the peer, or, when the peer is a trusted proxy, the nearest
    address in X-Forwarded-For that is not one (those further left may be made up)."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    if not _trusted(peer):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")[:2000].split(",")
    for hop in reversed(forwarded):
        address = _address(hop)
        if address is None:
            break  # garbled: trust nothing further left
        if not _trusted(address):
            return address
    return peer


def address_key(address: IPv4Address | IPv6Address) -> str:
    # One IPv6 subscriber holds a whole /64: counting each address would let it walk past.
    if address.version == 6:
        return str(ip_network(f"{address}/64", strict=False))
    return str(address)
