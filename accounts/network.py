"""The client's real address, for sign-in throttling (django-axes) and the audit log alike.

Behind `AXES_IPWARE_PROXY_COUNT` trusted reverse proxies (env `AXES_PROXY_COUNT`), each proxy
appends the address it received the request from to X-Forwarded-For, and the last one is
REMOTE_ADDR. The client is therefore the Nth entry from the right; anything to its left was
written by the client and may be forged, so it is never read. Without proxies the header is
ignored altogether and REMOTE_ADDR is the client.

django-ipware's proxy count counts proxy addresses *inside* the header and, in its default
left-most order, returns a client-supplied entry; this product needs the rightmost untrusted
address, hence this small function (configured as `AXES_CLIENT_IP_CALLABLE`).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _address(entry: str) -> str | None:
    """One X-Forwarded-For entry as a plain address ("[2001:db8::1]:443" → "2001:db8::1",
    "192.0.2.1:5000" → "192.0.2.1"), or None when it is not an address."""
    entry = entry.strip().strip('"')
    if entry.startswith("[") and "]" in entry:
        entry = entry[1 : entry.index("]")]
    elif entry.count(":") == 1:
        entry = entry.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


def proxy_count() -> int:
    return int(getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0) or 0)


def client_ip(request) -> str | None:
    """The address of the client that sent `request`, as the trusted proxies saw it."""
    if request is None:
        return None
    meta = getattr(request, "META", None) or {}
    remote = _address(meta.get("REMOTE_ADDR", "") or "")
    proxies = proxy_count()
    if not proxies:
        return remote
    entries = [e for e in (meta.get("HTTP_X_FORWARDED_FOR", "") or "").split(",") if e.strip()]
    if not entries:
        return remote
    # Fewer entries than proxies: the request skipped the outer proxies; the rightmost entry
    # is still one a trusted proxy wrote.
    candidate = entries[-proxies] if len(entries) >= proxies else entries[-1]
    return _address(candidate) or remote
