"""API config keys (spec A11, §3.7) as Pacifica serves them: the client signs each request as the
official recipe does and reads the documented answers. (Tidepool serves these endpoints once the
WebSocket issue's API-key part lands; until then this checks the wire against the spec's shapes.)"""

from __future__ import annotations

import json
from typing import Any

import httpx

from pacifica_recipe import keypair, sign_request
from tidepool.client import ApiKeys, Client

KP = keypair(4)
KEY = "2fFZuXXX_CXB5XXXDGMRXXXDiCKTer"
ANSWERS: dict[str, tuple[str, Any]] = {
    "/api/v1/account/api_keys/create": ("create_api_key", {"api_key": KEY}),
    "/api/v1/account/api_keys/revoke": ("revoke_api_key", None),
    "/api/v1/account/api_keys": ("list_api_keys", {"active_api_keys": [KEY], "api_key_limit": 5}),
}


def pacifica(request: httpx.Request) -> httpx.Response:
    """Answers like Pacifica, after checking the signature with the official recipe."""
    op_type, data = ANSWERS[request.url.path]
    body = json.loads(request.content)
    payload = {k: v for k, v in body.items() if k not in ("account", "signature", "timestamp")}
    window = payload.pop("expiry_window")
    _, signature = sign_request(KP, op_type, payload, body["timestamp"], window)
    if body["signature"] != signature or body["account"] != str(KP.pubkey()):
        return httpx.Response(400, json={"success": False, "error": "Verification failed"})
    return httpx.Response(200, json={"success": True, "data": data, "error": None, "code": None})


def test_api_config_keys_are_created_listed_and_revoked_with_signed_requests() -> None:
    client = Client(transport=httpx.MockTransport(pacifica), key=KP)
    assert client.create_api_key() == KEY
    assert client.list_api_keys() == ApiKeys(active_api_keys=[KEY], api_key_limit=5)
    assert client.revoke_api_key(api_key=KEY) is None
