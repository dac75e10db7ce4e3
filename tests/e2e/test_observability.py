"""What an operator sees of a running server: one log line per request (text or JSON), the
request id echoed, `--explain-auth` saying why a signature failed (in the log only), and
`GET /metrics` in Prometheus' format, the sequencer's queue depth included. Both process
layouts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pacifica_recipe import keypair, signed_body
from server_process import LAYOUTS, ServerProcess

pytestmark = pytest.mark.e2e

ORDER = {
    "symbol": "BTC",
    "price": "90000",
    "amount": "0.001",
    "side": "bid",
    "tif": "ALO",
    "reduce_only": False,
}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _wait_for_lines(
    srv: ServerProcess, match: Callable[[str], bool], timeout: float = 30.0
) -> list[str]:
    """The server log's lines that `match`, once there is at least one (the line is written
    just after the answer is sent, so it may land a moment after the client has it)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in srv.log_path.read_text().splitlines() if match(line)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def _serve(tmp_path: Path, layout: str, *args: str) -> ServerProcess:
    return ServerProcess(
        tmp_path / "state", "--log-level", "info", "--speedbump-ms", "0", *LAYOUTS[layout], *args
    )


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_each_request_logs_one_line_with_account_order_and_request_id(
    tmp_path: Path, layout: str
) -> None:
    kp = keypair(31)
    account = str(kp.pubkey())
    with _serve(tmp_path, layout) as srv:
        httpx.post(f"{srv.url}/sandbox/faucet", json={"account": account, "amount": "1000"})
        body = signed_body(kp, "create_order", ORDER, _now_ms())
        answer = httpx.post(
            f"{srv.api}/orders/create", json=body, headers={"x-request-id": "bot-42"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-request-id"] == "bot-42"
        order_id = answer.json()["data"]["order_id"]
        made = httpx.get(f"{srv.url}/health").headers["x-request-id"]
        lines = _wait_for_lines(srv, lambda line: "request_id=bot-42" in line)
        assert len(lines) == 1, lines  # one line, whichever process answered
        assert (
            "POST /api/v1/orders/create 200 " in lines[0]
            and f"account={account} order_id={order_id} request_id=bot-42" in lines[0]
        ), lines[0]
        assert _wait_for_lines(srv, lambda line: "GET /health 200" in line and made in line)
        assert "auth." not in lines[0]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_log_json_writes_one_object_per_line(tmp_path: Path, layout: str) -> None:
    kp = keypair(32)
    with _serve(tmp_path, layout, "--log-json") as srv:
        body = signed_body(kp, "cancel_order", {"symbol": "BTC", "order_id": 77}, _now_ms())
        answer = httpx.post(
            f"{srv.api}/orders/cancel", json=body, headers={"x-request-id": "json-1"}
        )
        assert answer.status_code != 200
        (line,) = _wait_for_lines(srv, lambda line: '"json-1"' in line)
    every = [json.loads(line) for line in srv.log_path.read_text().splitlines() if line]
    assert all({"ts", "level", "logger", "msg"} <= set(entry) for entry in every)
    entry = json.loads(line)
    assert entry["logger"] == "tidepool.access"
    assert {k: entry[k] for k in ("method", "path", "status", "account", "order_id")} == {
        "method": "POST",
        "path": "/api/v1/orders/cancel",
        "status": answer.status_code,
        "account": str(kp.pubkey()),
        "order_id": 77,
    }
    assert isinstance(entry["ms"], float)


def _refused(srv: ServerProcess, body: dict[str, Any], request_id: str) -> dict[str, str]:
    """Post a badly signed create; the answer says only Pacifica's words, the log says why."""
    answer = httpx.post(f"{srv.api}/orders/create", json=body, headers={"x-request-id": request_id})
    assert answer.status_code == 400
    assert "hint" not in answer.text and "expected" not in answer.text
    (line,) = _wait_for_lines(srv, lambda line: f'"{request_id}"' in line)
    entry: dict[str, Any] = json.loads(line)
    assert entry["request_id"] == request_id
    auth: dict[str, str] = entry["auth"]
    assert auth["check"] == answer.json()["error"]
    return auth


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_explain_auth_logs_why_a_signature_failed(tmp_path: Path, layout: str) -> None:
    kp, other = keypair(33), keypair(34)
    with _serve(tmp_path, layout, "--explain-auth", "--log-json") as srv:
        # the other account exists on the server (funded), so its key can be recognised
        httpx.post(
            f"{srv.url}/sandbox/faucet", json={"account": str(other.pubkey()), "amount": "5"}
        )

        seconds = signed_body(kp, "create_order", ORDER, _now_ms() // 1000)
        assert "looks like seconds" in _refused(srv, seconds, "e-seconds")["hint"]

        old = signed_body(kp, "create_order", ORDER, _now_ms() - 60_000)
        assert "expired by " in _refused(srv, old, "e-expired")["hint"]

        wrong_type = signed_body(kp, "create_market_order", ORDER, _now_ms())
        hint = _refused(srv, wrong_type, "e-type")["hint"]
        assert "'create_market_order'" in hint and "'create_order'" in hint

        changed = signed_body(kp, "create_order", ORDER, _now_ms())
        changed["price"] = "91000"
        auth = _refused(srv, changed, "e-changed")
        assert "changed after signing" in auth["hint"]
        assert json.loads(auth["expected"])["data"]["price"] == "91000"  # what it verified

        foreign = signed_body(other, "create_order", ORDER, _now_ms(), account=str(kp.pubkey()))
        assert str(other.pubkey()) in _refused(srv, foreign, "e-key")["hint"]
    log = srv.log_path.read_text()
    for body in (seconds, old, wrong_type, changed, foreign):
        assert body["signature"] not in log  # public, but nothing a reader needs


def test_without_explain_auth_the_line_has_no_reason(tmp_path: Path) -> None:
    kp = keypair(35)
    with _serve(tmp_path, "one_process") as srv:
        body = signed_body(kp, "create_order", ORDER, _now_ms() // 1000)
        httpx.post(f"{srv.api}/orders/create", json=body, headers={"x-request-id": "plain"})
        (line,) = _wait_for_lines(srv, lambda line: "request_id=plain" in line)
    assert "POST /api/v1/orders/create 400" in line and "auth." not in line


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_metrics_scrape_counts_requests_and_open_orders(tmp_path: Path, layout: str) -> None:
    kp = keypair(36)
    account = str(kp.pubkey())
    with _serve(tmp_path, layout) as srv:
        httpx.post(f"{srv.url}/sandbox/faucet", json={"account": account, "amount": "1000"})
        for price in ("90000", "90001", "90002"):
            body = signed_body(kp, "create_order", {**ORDER, "price": price}, _now_ms())
            assert httpx.post(f"{srv.api}/orders/create", json=body).status_code == 200
        httpx.get(f"{srv.url}/no/such/path")
        scrape = httpx.get(f"{srv.url}/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    samples = _samples(scrape.text)
    create = (("route", "/api/v1/orders/create"), ("status", "200"))
    assert samples[("tidepool_http_requests_total", create)] == 3
    assert samples[("tidepool_http_requests_total", (("route", "other"), ("status", "404")))] == 1
    route = (("route", "/api/v1/orders/create"),)
    assert samples[("tidepool_http_request_duration_seconds_count", route)] == 3
    assert samples[("tidepool_engine_open_orders", ())] == 3
    assert samples[("tidepool_sequencer_commands_total", ())] >= 4  # faucet + 3 creates
    assert samples[("tidepool_journal_append_seconds_count", ())] >= 4
    assert samples[("tidepool_ready", ())] == 1


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_metrics_show_commands_queued_behind_the_speedbump(tmp_path: Path, layout: str) -> None:
    """GTC creates wait out the speedbump (here 3-6 s) inside the pipeline: the queue depth
    counts them until they are answered, and the speedbump gauge says why they wait."""
    kp = keypair(37)
    account = str(kp.pubkey())
    bodies = [
        signed_body(kp, "create_order", {**ORDER, "price": p, "tif": "GTC"}, _now_ms())
        for p in ("90000", "90001", "90002")
    ]
    with ServerProcess(tmp_path / "state", "--speedbump-ms", "6000", *LAYOUTS[layout]) as srv:
        httpx.post(f"{srv.url}/sandbox/faucet", json={"account": account, "amount": "1000"})

        def gauges() -> tuple[float, float]:
            samples = _samples(httpx.get(f"{srv.url}/metrics").text)
            queued = samples[("tidepool_sequencer_queue_depth", ())]
            return queued, samples[("tidepool_speedbump_waiting", ())]

        assert gauges() == (0, 0)
        with ThreadPoolExecutor(len(bodies)) as pool:
            answers = [
                pool.submit(httpx.post, f"{srv.api}/orders/create", json=b, timeout=60)
                for b in bodies
            ]
            deadline = time.monotonic() + 30
            while (seen := gauges()) != (3, 3) and time.monotonic() < deadline:
                pass
            assert seen == (3, 3)
            assert [a.result().status_code for a in answers] == [200, 200, 200]
        assert gauges() == (0, 0)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_metrics_count_websocket_connections_and_their_subscriptions(
    tmp_path: Path, layout: str
) -> None:
    """A subscription counts once however often it is repeated, an unsubscribe takes it off,
    and a closed connection takes all of its own off."""
    from websockets.sync.client import connect

    book = {"source": "book", "symbol": "BTC", "agg_level": 1}
    with _serve(tmp_path, layout) as srv:

        def ws_gauges() -> tuple[float, float]:
            samples = _samples(httpx.get(f"{srv.url}/metrics").text)
            return samples[("tidepool_ws_connections", ())], samples[
                ("tidepool_ws_subscriptions", ())
            ]

        def until(expected: tuple[float, float]) -> tuple[float, float]:
            deadline = time.monotonic() + 30
            while (seen := ws_gauges()) != expected and time.monotonic() < deadline:
                time.sleep(0.02)
            return seen

        assert ws_gauges() == (0, 0)
        with connect(srv.url.replace("http://", "ws://") + "/ws") as ws:
            for params in (book, {"source": "prices"}, book):
                ws.send(json.dumps({"method": "subscribe", "params": params}))
            assert until((1, 2)) == (1, 2)
            ws.send(json.dumps({"method": "unsubscribe", "params": {"source": "prices"}}))
            assert until((1, 1)) == (1, 1)
        assert until((0, 0)) == (0, 0)
