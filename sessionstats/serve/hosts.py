"""Which host names can only mean this machine (no Starlette here: the CLI asks before the server starts)."""

from __future__ import annotations

import ipaddress
import re

# A name or IPv4 address with an optional port, or a bracketed IPv6 address with one, or a bare IPv6 address.
_HOST = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[^:\[\]]+))(?::[0-9]{1,5})?|(?P<bare>[0-9a-f:.]+)")


def is_loopback_name(host: str) -> bool:
    """A host name or address, bare or as a Host header with its port, that only this machine answers to."""
    found = _HOST.fullmatch(host.strip().lower())
    if found is None:
        return False
    name = found.group("v6") or found.group("name") or found.group("bare")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
