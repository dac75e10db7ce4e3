"""Who may call the /sandbox/ routes: programs on this machine, not web pages.

The sandbox routes (faucet, mark price, ...) carry no signature: they are the cheats of a local
test tool, and the server listens on loopback. The one caller loopback does not keep out is a
web page the developer happens to visit, whose scripts can send requests to 127.0.0.1. Browsers
mark every cross-site request with an `Origin` header, and the only requests a page may send
without a CORS preflight use a "simple" content type (text/plain, form encodings). So:

- a request with a body must say `Content-Type: application/json`, which a page cannot send
  cross-site without a preflight that Tidepool never grants (415 otherwise);
- a request carrying an `Origin` that is not a loopback origin is refused (403), which also
  covers `Origin: null` (sandboxed frames, file:// pages).

Programs (curl, requests, httpx, the SDK) send no Origin, and JSON bodies with the JSON type.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from tidepool.gateway.envelope import Response, error

SANDBOX_PREFIX = "/sandbox/"

_JSON = b"application/json"


def sandbox_guard(scope: dict[str, Any]) -> Response | None:
    """The refusal of a sandbox request a web page could have sent, or None to serve it."""
    content_type: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"origin" and not is_loopback_origin(value.decode("latin-1")):
            return error(403, "Sandbox routes refuse requests from web pages (non-loopback Origin)")
        if name == b"content-type":
            content_type = value
    if scope["method"] != "GET" and (
        content_type is None or content_type.split(b";")[0].strip().lower() != _JSON
    ):
        return error(415, "Sandbox routes take a JSON body: send Content-Type: application/json")
    return None


def is_loopback_origin(origin: str) -> bool:
    """`http(s)://localhost`, `127.x.x.x` or `[::1]`, any port."""
    try:
        parts = urlsplit(origin.strip())
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
