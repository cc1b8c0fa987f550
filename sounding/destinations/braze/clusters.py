"""Braze's clusters, and turning whatever a marketer pastes into a REST endpoint we may call.

A workspace can only point at a Braze cluster, or at an address the operator allowed with
SOUNDING_BRAZE_ALLOWED_ENDPOINTS (a stand-in, an egress proxy). Every outbound call checks
this again (`is_allowed`), so a stored value that predates a settings change is never fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sounding.destinations.braze.conf import allowed_endpoints


@dataclass(frozen=True)
class Cluster:
    name: str
    rest: str
    dashboard: str  # host name of the cluster's dashboard


def _us(n: int) -> Cluster:
    return Cluster(f"US-0{n}", f"https://rest.iad-0{n}.braze.com", f"dashboard-0{n}.braze.com")


def _regional(name: str) -> Cluster:
    region = name.lower()
    return Cluster(name, f"https://rest.{region}.braze.com", f"dashboard.{region}.braze.com")


CLUSTERS: tuple[Cluster, ...] = (
    *(_us(n) for n in range(1, 9)),
    _regional("US-10"),
    Cluster("EU-01", "https://rest.fra-01.braze.eu", "dashboard-01.braze.eu"),
    Cluster("EU-02", "https://rest.fra-02.braze.eu", "dashboard-02.braze.eu"),
    *(_regional(name) for name in ("AU-01", "ID-01", "JP-01", "KR-01")),
)
# Older documentation names US-10's REST host after its data centre.
_ALIASES = {"rest.iad-10.braze.com": "https://rest.us-10.braze.com"}
_BY_HOST: dict[str, str] = {
    **{urlsplit(c.rest).hostname or "": c.rest for c in CLUSTERS},
    **{c.dashboard: c.rest for c in CLUSTERS},
    **{(urlsplit(c.rest).hostname or "").replace("rest.", "sdk.", 1): c.rest for c in CLUSTERS},
    **_ALIASES,
}
_BY_NAME = {c.name: c.rest for c in CLUSTERS}


class EndpointError(ValueError):
    """The address is not a Braze REST endpoint this installation may call."""


def resolve(text: str) -> str:
    """Return the REST endpoint meant by a cluster name, REST URL or dashboard URL."""
    value = text.strip()
    if not value:
        raise EndpointError("Choose your Braze cluster or paste its REST endpoint.")
    by_name = _BY_NAME.get(value.upper())
    if by_name:
        return by_name
    # People paste the full API address they saw in Braze's docs; we add the path ourselves.
    value = value.rstrip("/").removesuffix("/users/track")
    custom = _allowed_custom(value)
    if custom:
        return custom
    url = value if "://" in value else f"https://{value}"
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # "[;,\s]+" and other text that is no address at all
        raise EndpointError(
            f"{value} is not an address. Pick your cluster from the list, or paste the address "
            "you use to sign in to Braze (like https://dashboard-03.braze.com)."
        ) from None
    if host in _BY_HOST:
        if parts.scheme != "https":
            raise EndpointError("Braze is only reached over https://.")
        return _BY_HOST[host]
    if parts.scheme == "http":
        raise EndpointError(
            "Plain http:// is refused: an API key must never travel unencrypted. "
            "Use your cluster's https:// REST endpoint."
        )
    raise EndpointError(
        f"{host or value} is not a Braze cluster. Pick your cluster from the list, or paste "
        "the address you use to sign in to Braze (like https://dashboard-03.braze.com)."
    )


def _allowed_custom(value: str) -> str | None:
    for prefix in allowed_endpoints():
        if value == prefix or value.startswith(prefix + "/"):
            return value
    return None


def is_allowed(url: str) -> bool:
    """Whether an outbound request to `url` may be made at all (checked on every call)."""
    endpoints = [*(c.rest for c in CLUSTERS), *allowed_endpoints()]
    return any(url == e or url.startswith(e + "/") for e in endpoints)


def name_of(endpoint: str) -> str:
    """The cluster name for display ("US-03"), or the address itself for a custom one."""
    for cluster in CLUSTERS:
        if cluster.rest == endpoint:
            return cluster.name
    return endpoint
