"""Every PromQL expression of every panel (and every template-variable query) of the grafana role's dashboards,
executed against a live Prometheus (Debian package) on loopback that scrapes a real node_exporter (with the
health_check textfile metrics), the RedFire app exporter fixture, and Debian's postgres_exporter and redis_exporter
in front of a real PostgreSQL (with a streaming replica) and Redis, with the prometheus role's recording rules
(rendered by the role, as it ships them) loaded: each must parse and return data, with the variables at "All" and at a
concrete value. The app exporter serves the business metrics of docs/metrics_contract.md too (risk, user activity).

Grafana itself is not installable here (platform.md); this checks what Grafana would send to Prometheus."""
import json
import re
import sys
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from ansible_collections.redfire.ops.plugins.filter.report import checklist_report
from ansible_collections.redfire.ops.plugins.module_utils import checklist_run, health_checks
from tests.conftest import ROOT, free_port, run
from tests.lib.datastores import Postgres, Redis, postgres_exporter, redis_exporter
from tests.lib.monitoring import stop_processes, wait_for
from tests.lib.redfire_app_exporter import start as start_app
from tests.unit.roles.test_prometheus_rules import render_rules

BOARDS = sorted((ROOT / "roles" / "grafana" / "files" / "dashboards").glob("*.json"))
# What Grafana substitutes for its built-in interval variables at a 1 s scrape interval.
BUILTINS = {"$__rate_interval": "1m", "$__interval": "1s", "$__range": "5m"}


def need(tool):
    path = shutil.which(tool)
    assert path, "%s not found: ./scripts/setup test installs it (scripts/apt-packages.txt)" % tool
    return path


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read().decode())


def query(base, expr):
    try:
        return get_json(base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    except urllib.error.HTTPError as exc:  # 400 = does not parse
        return json.loads(exc.read().decode())


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dashboards")
    (tmp / "render").mkdir()
    rules = render_rules(tmp / "render") / "redfire_recording.rules.yml"
    textfiles = tmp / "textfile"
    textfiles.mkdir()
    # the textfile exactly as redfire.ops.health_check writes it (its core's renderer), with a real memory check
    checks = [health_checks.check_memory({"memory": {"warning": 85.0, "critical": 95.0}}),
              health_checks.result("disk:/", "disk", "warning", 86.0, "%", 80.0, 90.0),
              health_checks.result("api_health", "http", "ok", 0.12, "s"),
              health_checks.result("service:redfire-backend", "service", "ok")]
    (textfiles / "redfire_health.prom").write_text(
        health_checks.render_textfile(health_checks.worst(c["status"] for c in checks), checks))
    procs, servers = [], []
    app = start_app(free_port())
    try:
        # PostgreSQL with a replica (the replication panel) and Redis with keys, hits and misses
        pg = Postgres(replica=True)
        servers.append(pg)
        pg.psql("CREATE TABLE orders (id serial PRIMARY KEY, symbol text); INSERT INTO orders (symbol) VALUES ('BTCUSDT')")
        redis = Redis(tmp)
        servers.append(redis)
        redis.cli("SET", "quote:BTCUSDT", "43000")
        redis.cli("GET", "quote:BTCUSDT")
        redis.cli("GET", "quote:none")
        pg_exp, pg_port = postgres_exporter(pg.dsn(), tmp)
        servers.append(pg_exp)
        rd_exp, rd_port = redis_exporter(redis.url(), tmp)
        servers.append(rd_exp)
        for status, symbol, flow in [("success", "BTCUSDT", 5), ("success", "ETHUSDT", 3), ("failed", "BTCUSDT", 1),
                                     ("cancelled", "ETHUSDT", 1)]:
            app.add_orders(status, symbol, 10)
            app.set_order_flow(status, symbol, flow)
        # risk and user activity (the business dashboard's 风险指标 and 用户活跃度 rows)
        for reason, flow in (("position_limit", 1), ("price_band", 1)):
            app.set_count_flow("redfire_risk_rejections", flow, reason=reason)
        for group, exposure, limit in (("retail", 5e5, 2e6), ("institutional", 9.6e6, 1e7)):
            app.set_gauge("redfire_risk_exposure", exposure, account_group=group)
            app.set_gauge("redfire_risk_exposure_limit", limit, account_group=group)
            app.set_count_flow("redfire_risk_margin_calls", 1, account_group=group)
        app.set_gauge("redfire_active_sessions", 120)
        for window, users in (("5m", 150), ("1h", 600), ("1d", 2400)):
            app.set_gauge("redfire_active_users", users, window=window)
        for result, flow in (("success", 5), ("failure", 1)):
            app.set_count_flow("redfire_logins", flow, result=result)
        node_port, prom_port, pg_port_push = free_port(), free_port(), free_port()
        # the checklists' run history (the checklist board's last row): a daily run pushed to a real Pushgateway as
        # the checklist role pushes it (redfire.ops.checklist_metrics), scraped with honor_labels
        procs.append(subprocess.Popen(
            [need("prometheus-pushgateway"), "--web.listen-address=127.0.0.1:%d" % pg_port_push, "--persistence.file="],
            stdout=open(tmp / "pushgateway.log", "wb"), stderr=subprocess.STDOUT))  # noqa: SIM115
        daily = checklist_report({"app1": checks, "db1": checks[:2]}, "daily_check")
        body = checklist_run.metrics(daily, started=[checklist_run.parse_time(daily["generated_at"]) - 42]).encode()
        wait_for(lambda: urllib.request.urlopen(urllib.request.Request(
            "http://127.0.0.1:%d/metrics/job/redfire_checklist/checklist/daily_check" % pg_port_push, data=body,
            method="PUT"), timeout=2).status in (200, 202), 30, what="a push to the Pushgateway")
        procs.append(subprocess.Popen(
            [need("prometheus-node-exporter"), "--web.listen-address=127.0.0.1:%d" % node_port, "--no-collector.systemd",
             "--collector.textfile.directory=%s" % textfiles],
            stdout=open(tmp / "node_exporter.log", "wb"), stderr=subprocess.STDOUT))  # noqa: SIM115
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": [str(rules)],
                  "scrape_configs": [
                      {"job_name": "node", "static_configs": [{"targets": ["127.0.0.1:%d" % node_port]}]},
                      {"job_name": "redfire-backend", "static_configs": [{"targets": ["127.0.0.1:%d" % app.port]}]},
                      {"job_name": "postgres", "static_configs": [{"targets": ["127.0.0.1:%d" % pg_port]}]},
                      {"job_name": "redis", "static_configs": [{"targets": ["127.0.0.1:%d" % rd_port]}]},
                      {"job_name": "pushgateway", "honor_labels": True,
                       "static_configs": [{"targets": ["127.0.0.1:%d" % pg_port_push]}]}]}
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        check = subprocess.run([need("promtool"), "check", "config", str(tmp / "prometheus.yml")], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        procs.append(subprocess.Popen(
            [need("prometheus"), "--config.file=%s" % (tmp / "prometheus.yml"), "--storage.tsdb.path=%s" % (tmp / "data"),
             "--web.listen-address=127.0.0.1:%d" % prom_port],
            stdout=open(tmp / "prometheus.log", "wb"), stderr=subprocess.STDOUT))  # noqa: SIM115
        base = "http://127.0.0.1:%d" % prom_port
        # recording rules over rate()s need two scrapes and an evaluation after them
        for expr in ['count(up == 1) == 5', 'redfire_checklist_run_duration_seconds{job="redfire_checklist"}',
                     "pg_up == 1", "redis_up == 1", "pg_stat_replication_pg_wal_lsn_diff",
                     "rate(redis_keyspace_hits_total[1m])", "job:redfire_order_success:ratio_rate5m", "endpoint:redfire_api_response_time_seconds:p99",
                     "instance:redfire_node_cpu_usage:percent", "redfire_health_check_overall_status",
                     "job:redfire_risk_rejections:ratio_rate5m", "job:redfire_login_failure:ratio_rate5m",
                     'outcome:redfire_orders:rate5m{outcome="cancellation"}']:
            wait_for(lambda: query(base, expr)["data"]["result"], 60, interval=0.5, what=expr)
        yield base
    finally:
        stop_processes(procs)
        for server in reversed(servers):
            server.stop()
        app.stop()


def variables(board):
    """name -> (metric selector, label) of each label_values() template variable, in order."""
    out = {}
    for var in board["templating"]["list"]:
        match = re.fullmatch(r"label_values\((.+), (\w+)\)", var["query"]["query"])
        assert match, var
        out[var["name"]] = match.groups()
    return out


def as_regex(value):
    """A variable value as Grafana puts it in a =~ matcher: regex-escaped, inside a PromQL string."""
    return re.escape(value).replace("\\", "\\\\")


def substitute(expr, values):
    for name, value in BUILTINS.items():
        expr = expr.replace(name, value)
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("$" + name, values[name])
    assert "$" not in expr, expr
    return expr


def test_every_panel_query_returns_data(prometheus):
    failures, checked, logs_panels = [], 0, 0
    for path in BOARDS:
        board = json.loads(path.read_text(encoding="utf-8"))
        chosen = {}
        for name, (selector, label) in variables(board).items():
            selector = substitute(selector, {k: as_regex(v) for k, v in chosen.items()})
            values = get_json(prometheus + "/api/v1/label/%s/values?%s" % (label, urllib.parse.urlencode({"match[]": selector})))["data"]
            if not values:
                failures.append("%s: variable %s (label_values(%s, %s)) has no values" % (path.name, name, selector, label))
                continue
            chosen[name] = values[0]
        settings = [("All", {name: ".*" for name in chosen}), ("one value", {k: as_regex(v) for k, v in chosen.items()})]
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            if panel["datasource"]["type"] != "prometheus":
                logs_panels += 1
                continue
            for target in panel["targets"]:
                for setting, values in settings:
                    expr = substitute(target["expr"], values)
                    answer = query(prometheus, expr)
                    checked += 1
                    if answer.get("status") != "success":
                        failures.append("%s / %s [%s]: does not parse: %s\n    %s" % (path.name, panel["title"], setting, answer.get("error"), expr))
                    elif not answer["data"]["result"]:
                        failures.append("%s / %s [%s]: no data\n    %s" % (path.name, panel["title"], setting, expr))
    assert failures == [], "\n".join(failures)
    assert len(BOARDS) == 6 and checked >= 100 and logs_panels == 1, (checked, logs_panels)


def test_business_board_reads_the_business_recording_rules():
    """Every recording rule of the 风险指标 and 用户活跃度 contract is on the business board (and so was queried
    above), and the board matches no raw order status value (the prometheus role maps them to outcomes)."""
    text = (ROOT / "roles" / "grafana" / "files" / "dashboards" / "business.json").read_text(encoding="utf-8")
    for rule in ("outcome:redfire_orders:rate5m", "job_reason:redfire_risk_rejections:rate5m",
                 "job:redfire_risk_rejections:ratio_rate5m", "account_group:redfire_risk_exposure:ratio",
                 "job_account_group:redfire_risk_margin_calls:increase1h", "job:redfire_active_sessions:sum",
                 "job_window:redfire_active_users:sum", "job_result:redfire_logins:rate5m",
                 "job:redfire_login_failure:ratio_rate5m"):
        assert rule in text, rule
    assert "status=" not in text.replace("\\", "")


def test_business_window_task_reports_orders_success_risk_and_users(prometheus, tmp_path):
    """roles/checklist/tasks/business_window.yml (run by the report of daily_check and periodic_check) against the live Prometheus:
    the app exporter's 80 % success and 20 % risk rejections are critical, its orders and users ok; a query that does
    not parse is unknown; the checks go into a checklist report like the hosts' checks."""
    out = tmp_path / "business.json"
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable, "checklist_prometheus_url": prometheus + "/"},
             "tasks": [
                 {"name": "business window", "ansible.builtin.include_role": {"name": "redfire.ops.checklist", "tasks_from": "business_window"},
                  "vars": {"__checklist_business_window": "1h"}},
                 {"ansible.builtin.set_fact": {"__business_default_checks": "{{ __checklist_business_checks }}"}},
                 {"name": "a broken query of its own", "ansible.builtin.include_role": {"name": "redfire.ops.checklist", "tasks_from": "business_window"},
                  "vars": {"__checklist_business_window": "1h", "redfire_business_queries": [{"name": "broken", "query": "sum(("}]}},
                 {"ansible.builtin.copy": {
                     "dest": str(out), "mode": "0600",
                     "content": "{{ {'checks': __business_default_checks, 'broken': __checklist_business_checks,"
                                " 'report': {'business': __business_default_checks} | redfire.ops.checklist_report('daily_check')} | to_json }}"}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    run(["ansible-playbook", "-i", "localhost,", str(tmp_path / "play.yml")])
    result = json.loads(out.read_text())
    checks = {c["name"]: c for c in result["checks"]}
    assert set(checks) == {"orders:redfire-backend", "order_success_ratio:redfire-backend",
                           "risk_rejections:redfire-backend", "active_users:redfire-backend"}, checks
    assert {name: c["status"] for name, c in checks.items()} == {
        "orders:redfire-backend": "ok", "order_success_ratio:redfire-backend": "critical",
        "risk_rejections:redfire-backend": "critical", "active_users:redfire-backend": "ok"}
    assert 75 <= checks["order_success_ratio:redfire-backend"]["value"] <= 85
    assert "< critical 95%" in checks["order_success_ratio:redfire-backend"]["message"]
    assert 15 <= checks["risk_rejections:redfire-backend"]["value"] <= 25
    assert checks["active_users:redfire-backend"]["value"] == 150
    assert all(c["kind"] == "business" for c in checks.values())
    assert [(c["name"], c["status"]) for c in result["broken"]] == [("broken", "unknown")]
    assert "Prometheus query failed (HTTP 400)" in result["broken"][0]["message"]
    host = [h for h in result["report"]["hosts"] if h["name"] == "business"][0]
    assert host["status"] == "critical" and host["counts"]["critical"] == 2
