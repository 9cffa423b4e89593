"""A small RedFire application exporter for tests and the lab.

It exposes the guide's application metrics with values the caller controls:

- ``redfire_orders_total{status,symbol}`` counter (status: success, failed, cancelled)
- ``redfire_api_response_time_seconds{endpoint}`` histogram (prometheus_client default buckets,
  which include 2.5 and 5)
- ``redfire_system_status`` gauge (1 ok, 0 down)
- the risk and user-activity metrics of docs/metrics_contract.md, counters ``redfire_risk_rejections_total{reason}``,
  ``redfire_risk_margin_calls_total{account_group}``, ``redfire_logins_total{result}`` and gauges
  ``redfire_risk_exposure{account_group}``, ``redfire_risk_exposure_limit{account_group}``,
  ``redfire_active_sessions``, ``redfire_active_users{window}`` (no series until the caller sets one)

The order status values are those of the prometheus role's defaults (success, failed, cancelled) unless
``order_statuses`` names others (an application that says ``filled`` or ``rejected``).

In-process API (stable; other tests rely on it)::

    from tests.lib.redfire_app_exporter import start
    app = start(port)                      # HTTP server on 127.0.0.1:port, traffic thread running
    app.url                                # "http://127.0.0.1:<port>/metrics"
    app.set_latency("/api/orders", 3.0)    # every generated request on that endpoint now takes 3 s
    app.observe("/api/orders", 0.05, n=1000)   # add n observations at once (e.g. to dilute a slow period)
    app.observation_count("/api/orders")   # observations so far on that endpoint
    app.add_orders("success", "BTCUSDT", 5)
    app.set_order_flow("success", "BTCUSDT", 2)  # orders added per tick by the traffic thread (0 stops)
    app.set_system_status(0)
    app.add_count("redfire_risk_rejections", 3, reason="position_limit")
    app.set_count_flow("redfire_logins", 2, result="failure")   # added per tick by the traffic thread
    app.set_gauge("redfire_risk_exposure", 9.6e6, account_group="institutional")
    app.stop()                             # stops the traffic thread and the HTTP server

The traffic thread observes ``requests_per_tick`` requests per endpoint every ``tick`` seconds at the
endpoint's current latency, so rate() and histogram_quantile() see a live series.

Command line (lab): ``python tests/lib/redfire_app_exporter.py --port P [--duration S]`` serves the metrics
and keeps generating varied traffic for at most ``--duration`` seconds (bounded), then exits.
"""
from __future__ import annotations

import argparse
import random
import threading
import time

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

ORDER_STATUSES = ("success", "failed", "cancelled")
DEFAULT_ENDPOINTS = ("/api/orders", "/api/market_data", "/api/account")
# prometheus_client's default histogram buckets (include 2.5 and 5), +Inf added on exposition
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
MAX_DURATION = 24 * 3600
# business counters and gauges (docs/metrics_contract.md): name -> (labels, help)
COUNTERS = {
    "redfire_risk_rejections": (("reason",), "Orders rejected by the pre-trade risk checks"),
    "redfire_risk_margin_calls": (("account_group",), "Margin calls issued"),
    "redfire_logins": (("result",), "Login attempts by result"),
}
GAUGES = {
    "redfire_risk_exposure": (("account_group",), "Net open exposure of the account group (USDT)"),
    "redfire_risk_exposure_limit": (("account_group",), "Exposure limit of the account group (USDT)"),
    "redfire_active_sessions": ((), "Open user sessions"),
    "redfire_active_users": (("window",), "Distinct users active within the window"),
}


def _le(bound):
    return "+Inf" if bound == float("inf") else repr(float(bound))


class _Histogram:
    __slots__ = ("counts", "total", "count")

    def __init__(self):
        self.counts = [0] * (len(BUCKETS) + 1)  # per bucket, last one is +Inf
        self.total = 0.0
        self.count = 0

    def observe(self, seconds, n):
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                break
        else:
            i = len(BUCKETS)
        self.counts[i] += n
        self.total += seconds * n
        self.count += n

    def cumulative(self):
        out, acc = [], 0
        for bound, c in zip(BUCKETS + (float("inf"),), self.counts):
            acc += c
            out.append((_le(bound), acc))
        return out


class AppExporter:
    """Controllable RedFire application metrics served over HTTP on loopback."""

    def __init__(self, port, host="127.0.0.1", endpoints=DEFAULT_ENDPOINTS, latency=0.05,
                 tick=0.1, requests_per_tick=5, order_statuses=ORDER_STATUSES):
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError("port must be an integer 1-65535, got %r" % (port,))
        self.host = host
        self.port = port
        self.tick = float(tick)
        self.requests_per_tick = int(requests_per_tick)
        self._lock = threading.Lock()
        self._latency = {ep: float(latency) for ep in endpoints}
        self._hist = {ep: _Histogram() for ep in endpoints}
        self._orders = {}
        self._order_flow = {}
        self._system_status = 1.0
        self.order_statuses = tuple(order_statuses)
        self._counts = {}   # (name, label values) -> value
        self._count_flow = {}
        self._gauges = {}
        self._stop = threading.Event()
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self)
        self._server = None
        self._server_thread = None
        self._traffic = None

    # -- prometheus_client collector protocol
    def collect(self):
        with self._lock:
            orders = dict(self._orders)
            hists = {ep: (h.cumulative(), h.total) for ep, h in self._hist.items()}
            status = self._system_status
            counts, gauges = dict(self._counts), dict(self._gauges)
        c = CounterMetricFamily("redfire_orders", "Orders processed by RedFire, by final status and symbol",
                                labels=["status", "symbol"])
        for (st, sym), value in sorted(orders.items()):
            c.add_metric([st, sym], value)
        yield c
        h = HistogramMetricFamily("redfire_api_response_time_seconds", "RedFire API response time",
                                  labels=["endpoint"])
        for ep, (buckets, total) in sorted(hists.items()):
            h.add_metric([ep], buckets, total)
        yield h
        g = GaugeMetricFamily("redfire_system_status", "RedFire system status (1 ok, 0 down)")
        g.add_metric([], status)
        yield g
        for families, family_type in ((COUNTERS, CounterMetricFamily), (GAUGES, GaugeMetricFamily)):
            values = counts if family_type is CounterMetricFamily else gauges
            for name, (labels, doc) in sorted(families.items()):
                family = family_type(name, doc, labels=list(labels))
                for (metric, label_values), value in sorted(values.items()):
                    if metric == name:
                        family.add_metric(list(label_values), value)
                yield family

    # -- control API
    @property
    def url(self):
        return "http://%s:%d/metrics" % (self.host, self.port)

    def set_latency(self, endpoint, seconds):
        with self._lock:
            self._latency[endpoint] = float(seconds)
            self._hist.setdefault(endpoint, _Histogram())

    def observe(self, endpoint, seconds, n=1):
        with self._lock:
            self._hist.setdefault(endpoint, _Histogram()).observe(float(seconds), int(n))

    def observation_count(self, endpoint):
        with self._lock:
            h = self._hist.get(endpoint)
            return h.count if h else 0

    def _check_status(self, status):
        if status not in self.order_statuses:
            raise ValueError("status must be one of %s, got %r" % (", ".join(self.order_statuses), status))

    @staticmethod
    def _key(families, name, labels):
        if name not in families:
            raise ValueError("unknown metric %r (known: %s)" % (name, ", ".join(sorted(families))))
        want = families[name][0]
        if set(labels) != set(want):
            raise ValueError("%s takes the labels %s, got %s" % (name, ", ".join(want) or "none", ", ".join(sorted(labels))))
        return name, tuple(str(labels[k]) for k in want)

    def add_count(self, name, n=1, **labels):
        """Add n to a business counter (COUNTERS; name without _total)."""
        key = self._key(COUNTERS, name, labels)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + n

    def set_count_flow(self, name, per_tick, **labels):
        """Add per_tick to a business counter on every tick of the traffic thread (0 stops)."""
        key = self._key(COUNTERS, name, labels)
        with self._lock:
            self._count_flow[key] = per_tick
            self._counts.setdefault(key, 0)

    def set_gauge(self, name, value, **labels):
        key = self._key(GAUGES, name, labels)
        with self._lock:
            self._gauges[key] = float(value)

    def add_orders(self, status, symbol, n=1):
        self._check_status(status)
        with self._lock:
            key = (status, symbol)
            self._orders[key] = self._orders.get(key, 0) + int(n)

    def set_order_flow(self, status, symbol, per_tick):
        self._check_status(status)
        with self._lock:
            self._order_flow[(status, symbol)] = int(per_tick)
            self._orders.setdefault((status, symbol), 0)

    def set_system_status(self, value):
        with self._lock:
            self._system_status = float(value)

    # -- lifecycle
    def _generate(self):
        while not self._stop.wait(self.tick):
            with self._lock:
                for ep, seconds in self._latency.items():
                    self._hist[ep].observe(seconds, self.requests_per_tick)
                for key, n in self._order_flow.items():
                    if n > 0:
                        self._orders[key] = self._orders.get(key, 0) + n
                for key, n in self._count_flow.items():
                    if n > 0:
                        self._counts[key] = self._counts.get(key, 0) + n

    def start(self):
        self._server, self._server_thread = start_http_server(self.port, addr=self.host, registry=self._registry)
        self._traffic = threading.Thread(target=self._generate, name="redfire-app-traffic", daemon=True)
        self._traffic.start()
        return self

    def stop(self):
        self._stop.set()
        if self._traffic is not None:
            self._traffic.join(timeout=5)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server_thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start(port, **kwargs):
    """Start an exporter on 127.0.0.1:port and return its handle (call .stop() when done)."""
    return AppExporter(port, **kwargs).start()


def main(argv=None):
    parser = argparse.ArgumentParser(description="RedFire app metrics exporter with generated traffic (lab)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--duration", type=float, default=3600.0,
                        help="stop after this many seconds (max %d)" % MAX_DURATION)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port must be 1-65535, got %d" % args.port)
    duration = min(max(args.duration, 0.0), MAX_DURATION)
    rng = random.Random(args.seed)
    app = start(args.port, host=args.host)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        app.set_order_flow("success", symbol, 3)
        app.set_order_flow("failed", symbol, 0)
        app.set_order_flow("cancelled", symbol, 0)
    print("serving %s for %.0f s" % (app.url, duration), flush=True)
    deadline = time.monotonic() + duration
    try:
        while time.monotonic() < deadline:
            for ep in DEFAULT_ENDPOINTS:
                # mostly fast, now and then a slow spell
                app.set_latency(ep, rng.choice((0.02, 0.05, 0.1, 0.3)) if rng.random() > 0.05 else 3.0)
            for symbol in ("BTCUSDT", "ETHUSDT"):
                app.add_orders("failed", symbol, rng.randint(0, 1))
                app.add_orders("cancelled", symbol, rng.randint(0, 1))
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
    except KeyboardInterrupt:
        pass
    finally:
        app.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
