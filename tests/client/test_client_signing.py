"""The client signs exactly as Pacifica's official recipe does: the golden vectors (made with that
recipe, tests/golden/make_vectors.py) come out byte for byte, from the client's own keyword
arguments. And keys load from every form people hold them in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import base58
import httpx
import pytest
from solders.keypair import Keypair

from pacifica_recipe import sign_request
from tidepool.client import Client, StopLeg, load_keypair

VECTORS = json.loads((Path(__file__).parent.parent / "golden" / "signing_vectors.json").read_text())


def _signable(vector: dict[str, Any]) -> bool:
    # The client signs the ensure_ascii form (as the official SDK does), and always sends a
    # client order id on a create.
    creates = vector["op_type"].startswith("create")
    return bool(vector["ensure_ascii"]) and not (
        creates and "client_order_id" not in vector["payload"]
    )


def _answer(request: httpx.Request) -> httpx.Response:
    data: Any = None
    if request.url.path.endswith("/orders/create"):
        data = {"order_id": 1}
    elif request.url.path.endswith("/cancel_all"):
        data = {"cancelled_count": 0}
    return httpx.Response(200, json={"success": True, "data": data, "error": None, "code": None})


@pytest.mark.parametrize("vector", [v for v in VECTORS if _signable(v)], ids=lambda v: v["name"])
def test_the_client_reproduces_the_golden_signature_from_its_keyword_arguments(
    vector: dict[str, Any],
) -> None:
    sent: list[dict[str, Any]] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return _answer(request)

    seed = bytes.fromhex(vector["signer_seed_hex"])
    signer = {"key": seed} if vector["signer"] == vector["account"] else {"agent_key": seed}
    client = Client(
        transport=httpx.MockTransport(record),
        account=vector["account"],
        clock=lambda: int(vector["timestamp"]),
        expiry_window=vector["expiry_window"],
        **signer,  # type: ignore[arg-type]
    )
    kwargs = {
        k: StopLeg(**v) if k in ("take_profit", "stop_loss") else v
        for k, v in vector["payload"].items()
    }
    getattr(client, vector["op_type"])(**kwargs)
    [body] = sent
    assert body["signature"] == vector["signature"]
    assert body["account"] == vector["account"]
    header = {"account", "signature", "timestamp", "expiry_window", "agent_wallet"}
    if vector["op_type"] == "bind_agent_wallet":
        header.discard("agent_wallet")  # here the agent is the payload
    assert {k: v for k, v in body.items() if k not in header} == vector["payload"]


def test_every_golden_vector_the_client_can_sign_is_checked() -> None:
    # A create without a client order id is the one thing the client never sends, and the raw
    # UTF-8 form is what JS and Rust clients sign.
    assert [v["name"] for v in VECTORS if not _signable(v)] == [
        "create_order_no_cloid",
        "create_order_tpsl",
        "non_ascii",
        "non_ascii_raw_utf8",
    ]


KP = Keypair.from_seed(bytes(range(32)))


@pytest.mark.parametrize(
    "form",
    [
        "base58 seed",
        "base58 secret",
        "keypair file path",
        "keypair file Path",
        "json text",
        "raw bytes",
    ],
)
def test_a_key_loads_from_every_form_people_hold_it_in(form: str, tmp_path: Path) -> None:
    keyfile = tmp_path / "id.json"
    keyfile.write_text(json.dumps(list(bytes(KP))))
    source: Any = {
        "base58 seed": base58.b58encode(bytes(range(32))).decode(),
        "base58 secret": str(KP),
        "keypair file path": str(keyfile),
        "keypair file Path": keyfile,
        "json text": keyfile.read_text(),
        "raw bytes": bytes(KP),
    }[form]
    assert load_keypair(source).pubkey() == KP.pubkey()
    assert Client(key=source).address == str(KP.pubkey())


def test_a_secret_whose_halves_disagree_is_refused_without_echoing_it(tmp_path: Path) -> None:
    other = Keypair.from_seed(bytes([7]) * 32)
    mixed = bytes(KP)[:32] + bytes(other.pubkey())
    text = base58.b58encode(mixed).decode()
    with pytest.raises(ValueError) as caught:
        load_keypair(text)
    assert text not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "not a JSON array"),
        ("[1, 2, 3]", "a JSON array of 64 integers"),
        (json.dumps([300] * 64), "a JSON array of 64 integers"),
    ],
)
def test_a_bad_keypair_file_is_refused_naming_the_file(
    tmp_path: Path, content: str, problem: str
) -> None:
    keyfile = tmp_path / "bad.json"
    keyfile.write_text(content)
    with pytest.raises(ValueError, match=problem) as caught:
        load_keypair(keyfile)
    assert str(keyfile) in str(caught.value)


def test_a_missing_keypair_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot read the keypair file .*missing\.json"):
        load_keypair(str(tmp_path / "missing.json"))


def test_text_that_is_no_key_is_refused() -> None:
    with pytest.raises(ValueError, match="a key is base58 of a 32-byte seed or a 64-byte secret"):
        load_keypair("abc")


def test_a_create_with_legs_and_non_ascii_text_is_signed_as_the_official_recipe_signs_it() -> None:
    sent: list[dict[str, Any]] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return _answer(request)

    client = Client(transport=httpx.MockTransport(record), key=KP, clock=lambda: 1_748_970_123_456)
    client.create_order(
        symbol="BTC",
        price="100000",
        amount="0.1",
        side="bid",
        take_profit=StopLeg(stop_price="120000", limit_price="119900"),
        stop_loss=StopLeg(stop_price=90000),
        builder_code="café",
    )
    [body] = sent
    payload = {k: v for k, v in body.items() if k not in ("account", "signature", "timestamp")}
    window = payload.pop("expiry_window")
    _, signature = sign_request(KP, "create_order", payload, body["timestamp"], window)
    assert body["signature"] == signature
    assert payload["stop_loss"] == {"stop_price": "90000"}
