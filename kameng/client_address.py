"""The address of the client behind a request, the one place that decides it.

Behind the reverse proxy the README recommends, REMOTE_ADDR is the proxy's address
for every buyer; the proxy appends the address it saw to X-Forwarded-For. That
header is believed only when the request arrived from one of
settings.TRUSTED_PROXIES, and it is read from the right: each trusted proxy adds
one entry, so the first entry from the right that is not a trusted proxy is the
client. Anything to its left was sent by the client itself and may be forged.
Login lockout (django-axes), the order lookup's throttle and code-reveal records
all use `client_address`.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

UNKNOWN = "unknown"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """TRUSTED_PROXIES parsed; a malformed entry is a configuration error."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_trusted_proxy(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(request) -> str | None:
    """The client's address (REMOTE_ADDR unless a trusted proxy relayed the
    request), or None when the request carries no valid address."""
    remote = parse_address(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return None
    networks = trusted_networks(tuple(settings.TRUSTED_PROXIES))
    if not is_trusted_proxy(remote, networks):
        return str(remote)
    client = remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            # A trusted proxy never writes a malformed entry: stop at the last
            # address a trusted proxy vouched for.
            break
        client = address
        if not is_trusted_proxy(address, networks):
            break
    return str(client)


def client_address(request) -> str:
    """client_ip() as a key for counters and lockouts: "unknown" when missing."""
    return client_ip(request) or UNKNOWN
