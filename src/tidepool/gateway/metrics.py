"""`GET /metrics`: the server's counters in Prometheus' text format (prometheus_client).

On the request path there are only plain integers and floats (`RequestStats.request`: two dict
updates and a bisect, well under a microsecond); prometheus_client's own metric objects take a
lock and a label lookup per call, which measured a few times that. Everything is turned into
metric families only when scraped (`ExchangeCollector`), reading what the exchange already
keeps: the sequencer's last seq, the pipeline's queue depth (runtime/pipeline.py), the journal's
append and fsync times, the engine's open orders, the WebSocket hub's connections and
subscriptions.

Requests are counted in the process that computes the answer (gateway.app `GatewayApp.answer`):
with `--workers N` that is the engine process, which also answers `/metrics`, so one scrape
sees every request whichever worker received it. Their latency is the time inside that process
(from the request's dispatch to its answer); paths that match no route count as `other`, so a
scanner cannot grow the label set.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tidepool.gateway.envelope import Response

# prometheus_client is imported by the scrape, not here: every server imports this module for
# RequestStats, and prometheus_client (with urllib and http.server) is ~20 ms of start-up.
if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from tidepool.gateway.exchange import Exchange
    from tidepool.gateway.request import Request

# Seconds; a signed request takes ~0.1 ms, a speedbumped create up to --speedbump-ms.
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
OTHER_ROUTE = "other"


class RequestStats:
    """Per route: answers by status, and a latency histogram (counts per bucket and a sum)."""

    def __init__(self) -> None:
        self.by_status: dict[tuple[str, int], int] = {}
        self.latency: dict[str, list[int]] = {}
        self.latency_sum: dict[str, float] = {}
        self.ws_connections = 0  # open WebSocket connections (gateway.websocket)
        self.ws_subscriptions = 0  # their channel subscriptions (gateway.websocket)

    def request(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        self.by_status[key] = self.by_status.get(key, 0) + 1
        counts = self.latency.get(route)
        if counts is None:
            counts = self.latency[route] = [0] * (len(BUCKETS) + 1)
            self.latency_sum[route] = 0.0
        counts[bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum[route] += seconds


class ExchangeCollector:
    """A prometheus_client collector reading the exchange at scrape time."""

    def __init__(self, ex: Exchange) -> None:
        self._ex = ex

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        ex, stats = self._ex, self._ex.stats
        requests = CounterMetricFamily(
            "tidepool_http_requests", "HTTP requests answered", labels=["route", "status"]
        )
        for (route, status), count in sorted(stats.by_status.items()):
            requests.add_metric([route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "tidepool_http_request_duration_seconds",
            "Time from a request's dispatch to its answer",
            labels=["route"],
        )
        for route, counts in sorted(stats.latency.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*map(str, BUCKETS), "+Inf"), counts, strict=True):
                cumulative += count
                buckets.append((bound, float(cumulative)))
            latency.add_metric([route], buckets, stats.latency_sum[route])
        yield latency
        seqr = ex.sequencer
        yield CounterMetricFamily(
            "tidepool_sequencer_commands",
            "Commands applied and journaled over the state dir's life (the last seq)",
            value=seqr.last_seq,
        )
        pipeline = ex.pipeline
        yield GaugeMetricFamily(
            "tidepool_sequencer_queue_depth",
            "Commands submitted and not answered yet, speedbump waits included",
            value=pipeline.in_flight,
        )
        yield GaugeMetricFamily(
            "tidepool_speedbump_waiting",
            "Of the queued commands, those still waiting out the speedbump",
            value=pipeline.in_speedbump,
        )
        yield _summary(
            "tidepool_journal_append_seconds",
            "Time to append one command to the journal",
            seqr.append_count,
            seqr.append_seconds,
        )
        yield _summary(
            "tidepool_journal_fsync_seconds",
            "Time of one group-commit fsync (--durability fsync)",
            seqr.fsync_count,
            seqr.fsync_seconds,
        )
        yield GaugeMetricFamily(
            "tidepool_engine_open_orders",
            "Resting orders and pending stop orders, all accounts",
            value=ex.engine.open_order_total,
        )
        yield GaugeMetricFamily(
            "tidepool_ws_connections", "Open WebSocket connections", value=stats.ws_connections
        )
        yield GaugeMetricFamily(
            "tidepool_ws_subscriptions",
            "Channel subscriptions of the open WebSocket connections",
            value=stats.ws_subscriptions,
        )
        yield GaugeMetricFamily(
            "tidepool_ready",
            "1 while commands can be journaled",
            value=seqr.stopped_reason() is None,
        )


def _summary(name: str, documentation: str, count: int, total: float) -> Metric:
    from prometheus_client.core import SummaryMetricFamily

    return SummaryMetricFamily(name, documentation, count_value=count, sum_value=total)


async def scrape(ex: Exchange, req: Request) -> Response:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

    registry = CollectorRegistry(auto_describe=False)
    registry.register(ExchangeCollector(ex))
    content_type = CONTENT_TYPE_PLAIN_0_0_4.encode()
    return Response(200, generate_latest(registry), content_type=content_type)
