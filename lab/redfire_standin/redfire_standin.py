"""RedFire stand-in: the trading backend (:8000) or frontend (:3000) of the guide, for the lab and the tests.

Not part of the collection (lab/ is left out of the tarball). One program, two roles:

  python3 redfire_standin.py --role backend|frontend --listen HOST:PORT [--postgres-dsn DSN] [--redis-url URL]
                             --log-file PATH --faults-file PATH [--duration SECONDS]

It serves ``/metrics`` (prometheus_client: ``redfire_orders_total{status,symbol}``,
``redfire_api_response_time_seconds{endpoint}``, ``redfire_system_status``,
``redfire_http_requests_total{endpoint,method,code}``, on the backend the risk and user-activity metrics of
docs/metrics_contract.md (``redfire_risk_rejections_total{reason}``, ``redfire_risk_exposure{account_group}``,
``redfire_risk_exposure_limit{account_group}``, ``redfire_risk_margin_calls_total{account_group}``,
``redfire_active_sessions``, ``redfire_active_users{window}``, ``redfire_logins_total{result}``) and the default
``process_*`` metrics), ``/health`` (200
``{"status": "ok", "dependencies": {...}}`` or 503 naming the failing dependency) and its API, and sends itself
steady traffic over HTTP: orders (``POST /api/orders``: one PostgreSQL query per order and a Redis key per
quote), market data (``GET /api/market_data``: Redis) and account reads (``GET /api/account``: PostgreSQL) on the
backend, page loads on the frontend. Requests are issued at a fixed rate whatever their latency (bounded
concurrency), so a slow endpoint keeps its share of observations.

Log: ``YYYY-MM-DD HH:MM:SS LEVEL message`` lines, tracebacks as continuation lines, errors named by the guide's
four categories (DatabaseError/ConnectionError, APIError/HTTPError, TradingError/OrderError,
SystemError/RuntimeError). The file is reopened when logrotate moves it (WatchedFileHandler).

Faults: fault names, one per line, in the faults file (re-read every second; missing or empty = none):
  slow         POST /api/orders (frontend: /) takes 2.5-3.5 s: p95 above 2 s on that endpoint
  errors       half of the API requests answer 500, each logged with a traceback, plus a burst of category
               errors in the log every second
  orders_fail  every order is rejected by the (simulated) exchange: status failed, TradingError in the log
  stall        no order is placed (the order flow stops; metrics and /health still answer)
  crash        the process logs a critical error and exits with status 3 (its unit does not restart it)
  leak         resident memory grows by REDFIRE_STANDIN_LEAK_STEP_MB (default 16) per second up to
               REDFIRE_STANDIN_LEAK_LIMIT_MB (default 512) and is released when the fault is cleared
  risk_spike   40 % of the orders are rejected by the risk checks (redfire_risk_rejections_total{reason}; the
               order counts as failed), instead of about 1 %
  exposure_near_limit
               the exposure of account group "institutional" climbs to 97 % of its limit, and margin calls of
               that group follow every few seconds
  users_collapse
               users stop coming: the open sessions are dropped and only a trickle of users acts, so
               redfire_active_sessions falls at once and the distinct active users of 5m decay
  failed_logins
               a burst of 20 failed logins per second (credential stuffing) beside the users' own logins
"""
from __future__ import annotations

import argparse
import itertools
import json
import logging
import logging.handlers
import os
import random
import signal
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import REGISTRY, CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

FAULTS = ("slow", "errors", "orders_fail", "stall", "crash", "leak", "risk_spike", "exposure_near_limit",
          "users_collapse", "failed_logins")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT")
ORDER_STATUSES = ("success", "failed", "cancelled")
# label values of the risk and user-activity metrics (docs/metrics_contract.md)
REJECT_REASONS = ("position_limit", "insufficient_margin", "price_band", "order_rate_limit")
# account group -> exposure limit (USDT)
EXPOSURE_LIMITS = {"retail": 2000000.0, "institutional": 10000000.0, "market_maker": 5000000.0}
LOGIN_RESULTS = ("success", "failure")
# window label -> seconds of the distinct-user gauges
USER_WINDOWS = (("5m", 300), ("1h", 3600), ("1d", 86400))
USER_POOL = 500
SESSION_IDLE = 300
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)
MAX_DURATION = 7 * 24 * 3600
# (path, method, requests per second) of the traffic each role sends itself
TRAFFIC = {
    "backend": (("/api/orders", "POST", 4.0), ("/api/market_data", "GET", 4.0), ("/api/account", "GET", 1.0)),
    "frontend": (("/", "GET", 3.0), ("/static/app.js", "GET", 1.0)),
}
SLOW_ENDPOINT = {"backend": "/api/orders", "frontend": "/"}
MAX_IN_FLIGHT = 64
QUOTE_TTL = 120

ORDERS = Counter("redfire_orders", "Total number of orders", ["status", "symbol"])
RESPONSE_TIME = Histogram("redfire_api_response_time_seconds", "API response time", ["endpoint"], buckets=BUCKETS)
SYSTEM_STATUS = Gauge("redfire_system_status", "System status indicator (1 ok, 0 down: a dependency fails)")
HTTP_REQUESTS = Counter("redfire_http_requests", "HTTP requests served", ["endpoint", "method", "code"])


def with_series(metric, *label_values):
    """metric with a series for every combination of label_values (one sequence per label) created at once, so
    rate() sees zeros from the start instead of a series that appears with its first event."""
    for values in itertools.product(*label_values):
        metric.labels(*values)
    return metric


class BusinessMetrics:
    """The backend's risk and user-activity metrics (docs/metrics_contract.md), registered only by the backend."""

    def __init__(self, registry=REGISTRY):
        def counter(name, doc, labels, values):
            return with_series(Counter(name, doc, labels, registry=registry), values)

        def gauge(name, doc, labels=(), values=None):
            metric = Gauge(name, doc, labels, registry=registry)
            return with_series(metric, values) if labels else metric

        self.rejections = counter("redfire_risk_rejections", "Orders rejected by the pre-trade risk checks",
                                  ["reason"], REJECT_REASONS)
        self.exposure = gauge("redfire_risk_exposure", "Net open exposure of the account group (USDT)",
                              ["account_group"], EXPOSURE_LIMITS)
        self.exposure_limit = gauge("redfire_risk_exposure_limit", "Exposure limit of the account group (USDT)",
                                    ["account_group"], EXPOSURE_LIMITS)
        self.margin_calls = counter("redfire_risk_margin_calls", "Margin calls issued", ["account_group"],
                                    EXPOSURE_LIMITS)
        self.sessions = gauge("redfire_active_sessions", "Open user sessions")
        self.users = gauge("redfire_active_users", "Distinct users active within the window", ["window"],
                           [w for w, dummy in USER_WINDOWS])
        self.logins = counter("redfire_logins", "Login attempts by result", ["result"], LOGIN_RESULTS)
        for group, limit in EXPOSURE_LIMITS.items():
            self.exposure_limit.labels(group).set(limit)


log = logging.getLogger("redfire")


# The guide's error categories (plugins/module_utils/log_scan.py DEFAULT_CATEGORIES match these names).
class DatabaseError(Exception):
    pass


class APIError(Exception):
    pass


class TradingError(Exception):
    pass


class OrderError(TradingError):
    pass


class InjectedFault(Exception):
    """Raised by a fault; carries the HTTP status to answer."""

    def __init__(self, status, cause):
        super().__init__(str(cause))
        self.status = status
        self.cause = cause


def _category_error(n):
    """The n-th error of the `errors` fault, cycling through the four categories."""
    kinds = (
        lambda: DatabaseError("could not serialize access due to concurrent update (injected)"),
        lambda: APIError("upstream quote service answered 502 Bad Gateway (injected)"),
        lambda: OrderError("order book rejected order: risk check unavailable (injected)"),
        lambda: RuntimeError("worker pool exhausted (injected)"),
    )
    return kinds[n % len(kinds)]()


def _raise_and_log(exc, message):
    """Log exc with a real traceback (continuation lines under the ERROR line); the line names the error's type,
    which is what the log analysis counts by."""
    try:
        raise exc
    except Exception:  # noqa: BLE001 - logged, not swallowed silently
        log.exception("%s: %s: %s", message, type(exc).__name__, exc)


class Faults:
    """The faults file, re-read about every second; names outside FAULTS are logged and ignored."""

    def __init__(self, path):
        self.path = path
        self.active = frozenset()
        self._mtime = None
        self.refresh()

    def refresh(self):
        try:
            st = os.stat(self.path)
        except OSError:
            new, mtime = frozenset(), None
        else:
            mtime = (st.st_mtime_ns, st.st_size)
            if mtime == self._mtime:
                return self.active
            try:
                with open(self.path, encoding="utf-8") as fh:
                    names = {line.strip() for line in fh if line.strip() and not line.startswith("#")}
            except (OSError, UnicodeDecodeError) as exc:
                log.warning("faults file %s unreadable: %s", self.path, exc)
                return self.active
            unknown = names.difference(FAULTS)
            if unknown:
                log.warning("faults file %s: unknown fault(s) %s ignored (known: %s)", self.path,
                            ", ".join(sorted(unknown)), ", ".join(FAULTS))
            new = frozenset(names.intersection(FAULTS))
        self._mtime = mtime
        if new != self.active:
            log.warning("faults now: %s", ", ".join(sorted(new)) or "none")
            self.active = new
        return self.active

    def __contains__(self, name):
        return name in self.active


class Dependencies:
    """PostgreSQL and Redis of the backend: small connection pool, reconnect after a failure."""

    def __init__(self, postgres_dsn, redis_url, timeout=2.0):
        self.postgres_dsn = postgres_dsn
        self.redis_url = redis_url
        self.timeout = timeout
        self._pg_lock = threading.Lock()
        self._pg_idle = []
        self._schema_ready = False
        self._redis = None
        if postgres_dsn:
            import psycopg2  # backend only: the frontend runs without it
            self._psycopg2 = psycopg2
        if redis_url:
            import redis
            self._redis = redis.Redis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
            self._redis_errors = (redis.RedisError, OSError)

    def names(self):
        return [n for n, on in (("postgresql", self.postgres_dsn), ("redis", self.redis_url)) if on]

    # -- PostgreSQL
    def _pg_connect(self):
        try:
            conn = self._psycopg2.connect(self.postgres_dsn, connect_timeout=int(max(1, self.timeout)),
                                          application_name="redfire-backend")
        except self._psycopg2.Error as exc:
            raise DatabaseError("cannot connect to PostgreSQL: %s" % str(exc).strip()) from exc
        conn.autocommit = True
        return conn

    def pg(self, sql, params=()):
        """Run one statement; rows for a SELECT. DatabaseError on any failure (the connection is dropped)."""
        if not self.postgres_dsn:
            return []
        with self._pg_lock:
            conn = self._pg_idle.pop() if self._pg_idle else None
        if conn is None:
            conn = self._pg_connect()
        try:
            with conn.cursor() as cur:
                if not self._schema_ready:
                    cur.execute("CREATE TABLE IF NOT EXISTS redfire_positions (symbol text PRIMARY KEY,"
                                " quantity numeric NOT NULL DEFAULT 0, orders bigint NOT NULL DEFAULT 0)")
                    self._schema_ready = True
                cur.execute(sql, params)
                rows = cur.fetchall() if cur.description else []
        except self._psycopg2.Error as exc:
            conn.close()
            raise DatabaseError("PostgreSQL query failed: %s" % str(exc).strip()) from exc
        with self._pg_lock:
            if len(self._pg_idle) < 4:
                self._pg_idle.append(conn)
                conn = None
        if conn is not None:
            conn.close()
        return rows

    # -- Redis
    def redis(self, op, *args, **kwargs):
        if self._redis is None:
            return None
        try:
            return getattr(self._redis, op)(*args, **kwargs)
        except self._redis_errors as exc:
            raise ConnectionError("Redis %s failed: %s" % (op, exc)) from exc

    def check(self):
        """{name: 'ok' or the error} for each configured dependency."""
        out = {}
        if self.postgres_dsn:
            try:
                self.pg("SELECT 1")
                out["postgresql"] = "ok"
            except DatabaseError as exc:
                out["postgresql"] = "DatabaseError: %s" % exc
        if self.redis_url:
            try:
                self.redis("ping")
                out["redis"] = "ok"
            except ConnectionError as exc:
                out["redis"] = "ConnectionError: %s" % exc
        return out


class Business:
    """Risk and user activity of the backend, stepped once a second; the faults drive them."""

    def __init__(self, metrics, faults, rng):
        self.m = metrics
        self.faults = faults
        self.rng = rng
        self._last_seen = {}   # user -> last activity (epoch seconds)
        self._sessions = {}    # user -> session expiry (epoch seconds)
        self._exposure = {group: 0.4 * limit for group, limit in EXPOSURE_LIMITS.items()}
        self._collapsed = False

    def risk_check(self):
        """The reason a new order is rejected by the risk checks, or None."""
        if self.rng.random() < (0.4 if "risk_spike" in self.faults else 0.01):
            reason = self.rng.choice(REJECT_REASONS)
            self.m.rejections.labels(reason).inc()
            return reason
        return None

    def step(self, now):
        self._risk_step()
        self._users_step(now)

    def _risk_step(self):
        for group, limit in EXPOSURE_LIMITS.items():
            if group == "institutional" and "exposure_near_limit" in self.faults:
                target = 0.97 * limit
                self._exposure[group] += 0.5 * (target - self._exposure[group])
                if self.rng.random() < 0.3:
                    self.m.margin_calls.labels(group).inc()
                    log.warning("margin call: account group %s at %.0f of its exposure limit %.0f", group,
                                self._exposure[group], limit)
            else:
                # a random walk between 20 % and 60 % of the limit
                self._exposure[group] = min(0.6 * limit, max(0.2 * limit, self._exposure[group]
                                                             + self.rng.uniform(-0.02, 0.02) * limit))
            self.m.exposure.labels(group).set(round(self._exposure[group], 2))

    def _users_step(self, now):
        collapsed = "users_collapse" in self.faults
        if collapsed and not self._collapsed:
            log.warning("users collapse: %d user sessions dropped", len(self._sessions))
            self._sessions.clear()
        self._collapsed = collapsed
        # about 20 users act per second; collapsed, one every 10 seconds
        for dummy in range((1 if self.rng.random() < 0.1 else 0) if collapsed else 20):
            user = self.rng.randrange(USER_POOL)
            if user not in self._sessions or self._sessions[user] < now:
                ok = self.rng.random() >= 0.03
                self.m.logins.labels("success" if ok else "failure").inc()
                if not ok:
                    continue
            self._sessions[user] = now + SESSION_IDLE
            self._last_seen[user] = now
        if "failed_logins" in self.faults:
            self.m.logins.labels("failure").inc(20)
        self._sessions = {u: until for u, until in self._sessions.items() if until >= now}
        self.m.sessions.set(len(self._sessions))
        for window, seconds in USER_WINDOWS:
            self.m.users.labels(window).set(sum(1 for seen in self._last_seen.values() if seen >= now - seconds))
        # users not seen for a day drop out of every window
        if len(self._last_seen) > USER_POOL // 2:
            self._last_seen = {u: seen for u, seen in self._last_seen.items() if seen >= now - USER_WINDOWS[-1][1]}


class App:
    def __init__(self, args):
        self.role = args.role
        self.faults = Faults(args.faults_file)
        self.deps = Dependencies(args.postgres_dsn, args.redis_url) if args.role == "backend" \
            else Dependencies(None, None)
        self.stop = threading.Event()
        self.rng = random.Random()
        self._error_seq = 0
        self._leak = []
        self._in_flight = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._window = {s: 0 for s in ORDER_STATUSES}
        self._window_lock = threading.Lock()
        self.exit_code = 0
        self.business = None
        if args.role == "backend":
            with_series(ORDERS, ORDER_STATUSES, SYMBOLS)
            self.business = Business(BusinessMetrics(), self.faults, self.rng)
        for path, method, dummy in TRAFFIC[args.role]:
            RESPONSE_TIME.labels(path)
            HTTP_REQUESTS.labels(path, method, "200")
        SYSTEM_STATUS.set(1)

    # -- request handling
    def _next_error(self):
        self._error_seq += 1
        return _category_error(self._error_seq)

    def handle(self, path, method, query):
        """(status, JSON-able body) of one API request; raises InjectedFault or a category error."""
        if "errors" in self.faults and self.rng.random() < 0.5:
            raise InjectedFault(500, self._next_error())
        if "slow" in self.faults and path == SLOW_ENDPOINT[self.role]:
            time.sleep(self.rng.uniform(2.5, 3.5))
        if self.role == "frontend":
            if path in ("/", "/index.html"):
                return 200, {"page": "RedFire trading"}
            if path == "/static/app.js":
                return 200, {"bundle": "app.js"}
            return 404, {"error": "not found"}
        if path == "/api/orders" and method == "POST":
            return self._order(query)
        if path == "/api/market_data":
            symbol = query.get("symbol", SYMBOLS[0])
            quote = self.deps.redis("get", "quote:%s:last" % symbol)
            return 200, {"symbol": symbol, "price": float(quote) if quote else None}
        if path == "/api/account":
            rows = self.deps.pg("SELECT symbol, quantity, orders FROM redfire_positions ORDER BY symbol")
            return 200, {"positions": [[r[0], float(r[1]), r[2]] for r in rows]}
        return 404, {"error": "not found"}

    def _order(self, query):
        symbol = query.get("symbol") or self.rng.choice(SYMBOLS)
        side = self.rng.choice(("buy", "sell"))
        qty = round(self.rng.uniform(0.01, 2.0), 3)
        price = round(self.rng.uniform(100, 50000), 2)
        try:
            if "orders_fail" in self.faults:
                raise OrderError("exchange rejected %s %s %s: matching engine unavailable" % (side, qty, symbol))
            reason = self.business.risk_check() if self.business else None
            if reason:
                ORDERS.labels("failed", symbol).inc()
                self._count("failed")
                log.warning("order %s %s %s rejected by the risk checks: %s", side, qty, symbol, reason)
                return 200, {"symbol": symbol, "status": "failed", "reason": reason}
            roll = self.rng.random()
            if roll < 0.005:
                status = "failed"
                log.warning("order %s %s %s rejected: insufficient margin", side, qty, symbol)
            elif roll < 0.02:
                status = "cancelled"
            else:
                status = "success"
                # one query per order, into a table of bounded size
                self.deps.pg("INSERT INTO redfire_positions (symbol, quantity, orders) VALUES (%s, %s, 1)"
                             " ON CONFLICT (symbol) DO UPDATE SET quantity = redfire_positions.quantity"
                             " + EXCLUDED.quantity, orders = redfire_positions.orders + 1",
                             (symbol, qty if side == "buy" else -qty))
                # a key per quote (expiring, so Redis holds a bounded number)
                seq = int(time.time() * 1000)
                self.deps.redis("set", "quote:%s:%d" % (symbol, seq), price, ex=QUOTE_TTL)
                self.deps.redis("set", "quote:%s:last" % symbol, price)
        except (DatabaseError, ConnectionError, TradingError) as exc:
            ORDERS.labels("failed", symbol).inc()
            self._count("failed")
            if not isinstance(exc, TradingError):
                raise  # the request answers 500, logged by the handler
            log.error("order %s %s %s failed: %s: %s", side, qty, symbol, type(exc).__name__, exc, exc_info=True)
            return 200, {"symbol": symbol, "status": "failed", "reason": str(exc)}
        ORDERS.labels(status, symbol).inc()
        self._count(status)
        return 200, {"symbol": symbol, "status": status, "price": price}

    def _count(self, status):
        with self._window_lock:
            self._window[status] += 1

    def health(self):
        deps = self.deps.check()
        failed = sorted(n for n, v in deps.items() if v != "ok")
        SYSTEM_STATUS.set(0 if failed else 1)
        if failed:
            return 503, {"status": "down", "failed": failed, "dependencies": deps,
                         "message": "dependency failing: %s" % ", ".join(failed)}
        return 200, {"status": "ok", "dependencies": deps}

    # -- background threads
    def _traffic(self, base_url, path, method, rate):
        interval = 1.0 / rate
        next_at = time.monotonic()
        while not self.stop.is_set():
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                if self.stop.wait(delay):
                    return
            else:
                next_at = time.monotonic()  # fell behind: do not burst to catch up
            if path == "/api/orders" and "stall" in self.faults:
                continue
            if not self._in_flight.acquire(blocking=False):
                continue
            threading.Thread(target=self._request, args=(base_url + path, method), daemon=True).start()

    def _request(self, url, method):
        try:
            req = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
            with urllib.request.urlopen(req, timeout=15) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            exc.read()
        except OSError:
            pass  # the server is going away (stop, crash); the handler side already counted what it served
        finally:
            self._in_flight.release()

    def _watch(self):
        last_summary = time.monotonic()
        while not self.stop.wait(1.0):
            self.faults.refresh()
            if "crash" in self.faults:
                try:
                    raise SystemError("fatal: order router lost its state (injected crash)")
                except SystemError:
                    log.critical("backend crashed, exiting" if self.role == "backend" else "frontend crashed, exiting",
                                 exc_info=True)
                logging.shutdown()
                os._exit(3)
            if "errors" in self.faults:
                for dummy in range(3):
                    _raise_and_log(self._next_error(), "background job failed")
            self._leak_step()
            if self.business:
                self.business.step(time.time())
            if self.role == "backend":
                status, body = self.health()
                if status != 200:
                    log.error("health check failed: %s", json.dumps(body["dependencies"], sort_keys=True))
            if time.monotonic() - last_summary >= 60:
                last_summary = time.monotonic()
                with self._window_lock:
                    window, self._window = self._window, {s: 0 for s in ORDER_STATUSES}
                log.info("orders in the last minute: %s", ", ".join("%s=%d" % kv for kv in sorted(window.items())))

    def _leak_step(self):
        if "leak" not in self.faults:
            if self._leak:
                log.info("leak cleared: releasing %d MiB", len(self._leak))
                self._leak = []
            return
        limit = int(os.environ.get("REDFIRE_STANDIN_LEAK_LIMIT_MB", "512"))
        step = int(os.environ.get("REDFIRE_STANDIN_LEAK_STEP_MB", "16"))
        for dummy in range(max(0, min(step, limit - len(self._leak)))):
            self._leak.append(b"L" * (1 << 20))  # written, so resident (not lazily zero pages)
        if len(self._leak) >= limit:
            log.warning("memory leak at its bound: %d MiB held", len(self._leak))


def _make_handler(app):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "RedFire/standin"

        def _send(self, status, body, content_type="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method):
            parsed = urllib.parse.urlsplit(self.path)
            path = parsed.path
            if path == "/metrics":
                self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
                return
            query = dict(urllib.parse.parse_qsl(parsed.query))
            started = time.monotonic()
            try:
                if path == "/health":
                    status, body = app.health()
                else:
                    status, body = app.handle(path, method, query)
            except InjectedFault as exc:
                _raise_and_log(exc.cause, "%s %s failed" % (method, path))
                status, body = exc.status, {"error": str(exc.cause)}
            except (DatabaseError, ConnectionError, APIError, TradingError) as exc:
                log.error("%s %s failed: %s: %s", method, path, type(exc).__name__, exc, exc_info=True)
                status, body = 500, {"error": "%s: %s" % (type(exc).__name__, exc)}
            except Exception as exc:  # noqa: BLE001 - a bug answers 500 and is logged, the server lives on
                log.error("%s %s failed: RuntimeError: unexpected %s\n%s", method, path, type(exc).__name__,
                          traceback.format_exc().rstrip())
                status, body = 500, {"error": "internal error"}
            if status != 404:
                RESPONSE_TIME.labels(path).observe(time.monotonic() - started)
                HTTP_REQUESTS.labels(path, method, str(status)).inc()
            self._send(status, body)

        def do_GET(self):  # noqa: N802
            self._serve("GET")

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(min(length, 1 << 16))
            self._serve("POST")

        def log_message(self, *args):  # access log off: the app log holds what the guide reads
            pass

    return Handler


def _setup_logging(path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def parse_args(argv):
    p = argparse.ArgumentParser(description="RedFire backend/frontend stand-in with faults (lab and tests)")
    p.add_argument("--role", choices=("backend", "frontend"), required=True)
    p.add_argument("--listen", required=True, help="HOST:PORT to serve on, e.g. 127.0.0.1:8000")
    # secrets stay off the command line: the unit gives them in the environment (a 0640 file)
    p.add_argument("--postgres-dsn", default=os.environ.get("REDFIRE_POSTGRES_DSN") or None,
                   help="libpq DSN of the redfire database (backend; default $REDFIRE_POSTGRES_DSN)")
    p.add_argument("--redis-url", default=os.environ.get("REDFIRE_REDIS_URL") or None,
                   help="redis://[:password@]host:port/db (backend; default $REDFIRE_REDIS_URL)")
    p.add_argument("--log-file", required=True)
    p.add_argument("--faults-file", required=True)
    p.add_argument("--duration", type=float, help="exit after this many seconds (max %d)" % MAX_DURATION)
    args = p.parse_args(argv)
    host, sep, port = args.listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        p.error("--listen must be HOST:PORT with a port 1-65535, got %r" % args.listen)
    args.host, args.port = host.strip("[]") or "0.0.0.0", int(port)
    if args.duration is not None and not 0 < args.duration <= MAX_DURATION:
        p.error("--duration must be between 0 and %d seconds, got %s" % (MAX_DURATION, args.duration))
    if args.role == "frontend" and (args.postgres_dsn or args.redis_url):
        p.error("--postgres-dsn and --redis-url are for --role backend only")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _setup_logging(args.log_file)
    app = App(args)
    try:
        server = ThreadingHTTPServer((args.host, args.port), _make_handler(app))
    except OSError as exc:
        log.critical("cannot listen on %s: %s", args.listen, exc)
        print("redfire-standin: cannot listen on %s: %s" % (args.listen, exc), file=sys.stderr)
        return 2
    server.daemon_threads = True

    def _stop(signum, _frame):
        log.info("signal %d: stopping", signum)
        app.stop.set()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    client_host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    base_url = "http://%s:%d" % ("[%s]" % client_host if ":" in client_host else client_host, args.port)
    threading.Thread(target=app._watch, daemon=True).start()
    for path, method, rate in TRAFFIC[args.role]:
        threading.Thread(target=app._traffic, args=(base_url, path, method, rate), daemon=True).start()
    deps = ", ".join(app.deps.names()) or "none"
    log.info("redfire-%s started on %s (dependencies: %s, faults file %s)", args.role, args.listen, deps,
             args.faults_file)
    app.stop.wait(args.duration)
    log.info("redfire-%s stopped", args.role)
    server.shutdown()
    server.server_close()
    logging.shutdown()
    return app.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
