"""`tidepool serve` prints funded dev keys after its listening line: a bot signs with one at
once, a restart funds nothing again, `--config-out` and `tidepool accounts` say the same."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair

from pacifica_recipe import signed_body
from server_process import LAYOUTS, ServerProcess

pytestmark = pytest.mark.e2e

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "banner_seed0.txt"


def _accounts(lines: list[str]) -> list[list[str]]:
    """index, public key, secret key, balance of each dev account line."""
    return [line.split() for line in lines if line.startswith("  ")]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _balance(srv: ServerProcess, account: str) -> str:
    r = httpx.get(f"{srv.api}/account", params={"account": account})
    assert r.status_code == 200, r.text
    balance: str = r.json()["data"]["balance"]
    return balance


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_printed_dev_key_trades_at_once_and_a_restart_funds_nothing_again(
    tmp_path: Path, layout: str
) -> None:
    state = tmp_path / "state"
    config = tmp_path / "tidepool.json"
    with ServerProcess(state, "--config-out", str(config), *LAYOUTS[layout]) as srv:
        accounts = _accounts(srv.banner())
        assert [a[0] for a in accounts] == [str(i) for i in range(10)]
        assert {a[3] for a in accounts} == {"100000"}
        _, public_key, secret_key, _ = accounts[3]
        kp = Keypair.from_base58_string(secret_key)
        assert str(kp.pubkey()) == public_key
        order = {
            "symbol": "BTC",
            "price": "95000",
            "amount": "0.001",
            "side": "bid",
            "tif": "ALO",
            "reduce_only": False,
        }
        r = httpx.post(
            f"{srv.api}/orders/create", json=signed_body(kp, "create_order", order, _now_ms())
        )
        assert r.status_code == 200, r.text
        order_id = r.json()["data"]["order_id"]
        r = httpx.post(
            f"{srv.api}/orders/cancel",
            json=signed_body(
                kp, "cancel_order", {"symbol": "BTC", "order_id": order_id}, _now_ms()
            ),
        )
        assert r.json() == {"success": True, "data": None, "error": None, "code": None}

        written: dict[str, Any] = json.loads(config.read_text())
        assert written["urls"] == {"rest": srv.api, "ws": srv.url.replace("http", "ws") + "/ws"}
        assert written["seed"] == 0
        assert written["markets"][0] == {"symbol": "BTC", "mark_price": "100000"}
        assert [
            [str(a["index"]), a["public_key"], a["secret_key"], a["balance"]]
            for a in written["accounts"]
        ] == accounts
        untouched = accounts[0][1]
        assert _balance(srv, untouched) == "100000"

    with ServerProcess(state, *LAYOUTS[layout]) as srv:
        assert _accounts(srv.banner())[0][3] == "100000"
        assert _balance(srv, untouched) == "100000"


def test_the_plain_banner_of_seed_0(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "state") as srv:
        port = srv.url.rsplit(":", 1)[1]
        text = "\n".join(srv.banner()).replace(f":{port}/", ":PORT/") + "\n"
    assert text == GOLDEN.read_text()


def _accounts_json(*args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "tidepool", "accounts", "--json", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def test_tidepool_accounts_prints_the_keys_serve_funds(tmp_path: Path) -> None:
    config = tmp_path / "tidepool.json"
    with ServerProcess(
        tmp_path / "state", "--seed", "9", "--accounts", "3", "--config-out", str(config)
    ):
        pass
    served = json.loads(config.read_text())
    printed = _accounts_json("--seed", "9", "--accounts", "3")
    assert printed == {"seed": 9, "accounts": served["accounts"]}
    other = _accounts_json("--seed", "10", "--accounts", "3")
    assert other["accounts"][0]["public_key"] != served["accounts"][0]["public_key"]
