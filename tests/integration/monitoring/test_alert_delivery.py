"""End to end on loopback: the RedFire app exporter, Prometheus with the prometheus role's rules, Alertmanager
with the alertmanager role's config, a webhook receiver and an SMTP sink.

The API gets slow -> APISlowResponse (critical) reaches the webhook and the mailbox; the API recovers ->
the resolved notification reaches both. Files are rendered by the roles themselves (preflight + configure
tasks, services not managed); only durations are shortened through the roles' variables. TLS and basic auth
are on (redfire.ops.web_config, a private CA of the test): Prometheus reaches Alertmanager and itself over HTTPS
with the client password."""
import time

import pytest

from tests.conftest import free_port, project_env
from tests.lib import leaks
from tests.lib.monitoring import Process, http_get_json, need, render, wait_for
from tests.lib.receivers import SmtpSink, WebhookReceiver
from tests.lib.redfire_app_exporter import start as start_app

ENDPOINT = "/api/orders"
# the test's credentials only
USER, PASSWORD = "prometheus", leaks.password("alert delivery scrape password", "alert-delivery-Secret-2718")


@pytest.fixture
def stack(tmp_path):
    prometheus, alertmanager = need("prometheus"), need("prometheus-alertmanager")
    need("promtool")
    need("amtool")
    ports = {name: free_port() for name in ("app", "prom", "am", "smtp")}
    stopped = []
    app = start_app(ports["app"])
    stopped.append(app)
    hook = WebhookReceiver()
    stopped.append(hook)
    smtp = SmtpSink(ports["smtp"])
    stopped.append(smtp)
    try:
        role_vars = {
            "prometheus_config_dir": str(tmp_path / "prometheus"),
            "prometheus_storage_path": str(tmp_path / "prometheus-data"),
            "prometheus_listen_address": "127.0.0.1:%d" % ports["prom"],
            "prometheus_scrape_interval": "1s",
            "prometheus_scrape_timeout": "1s",
            "prometheus_evaluation_interval": "1s",
            "prometheus_redfire_jobs": [{"job_name": "redfire-backend", "targets": ["127.0.0.1:%d" % ports["app"]]}],
            "prometheus_alertmanager_targets": ["127.0.0.1:%d" % ports["am"]],
            "prometheus_alert_api_slow_for": "2s",
            "alertmanager_config_dir": str(tmp_path / "alertmanager"),
            "alertmanager_listen_address": "127.0.0.1:%d" % ports["am"],
            "alertmanager_group_wait": "1s",
            "alertmanager_group_interval": "1s",
            "alertmanager_repeat_interval": "1h",
            "alertmanager_webhook_url": hook.url + "/alerts",
            "alertmanager_email_to": ["ops@redfire.test"],
            "alertmanager_email_from": "alertmanager@redfire.test",
            "alertmanager_email_smarthost": "127.0.0.1:%d" % ports["smtp"],
            "alertmanager_email_auth_username": "",
            "alertmanager_email_require_tls": False,
            "web_config_enabled": True,
            "web_config_client_password": PASSWORD,
            "web_config_ca_dir": str(tmp_path / "ca"),
        }
        render(tmp_path, ["prometheus", "alertmanager"], role_vars, project_env())
        # Alertmanager first, so Prometheus's first alert is not dropped.
        am = Process("alertmanager", [
            alertmanager, "--config.file=%s/alertmanager.yml" % role_vars["alertmanager_config_dir"],
            "--storage.path=%s" % (tmp_path / "am-data"), "--web.listen-address=" + role_vars["alertmanager_listen_address"],
            "--cluster.listen-address=", "--web.config.file=%s/web/web-config.yml" % role_vars["alertmanager_config_dir"]],
            tmp_path)
        stopped.append(am)
        tls = {"ca_file": str(tmp_path / "ca" / "ca.crt"), "auth": (USER, PASSWORD)}
        wait_for(lambda: http_get_json("https://127.0.0.1:%d/api/v2/status" % ports["am"], **tls), 30, what="Alertmanager ready")
        prom = Process("prometheus", [
            prometheus, "--config.file=%s/prometheus.yml" % role_vars["prometheus_config_dir"],
            "--storage.tsdb.path=" + role_vars["prometheus_storage_path"],
            "--web.listen-address=" + role_vars["prometheus_listen_address"], "--rules.alert.resend-delay=1s",
            "--web.config.file=%s/web/web-config.yml" % role_vars["prometheus_config_dir"]], tmp_path)
        stopped.append(prom)
        api = "https://127.0.0.1:%d/api/v1" % ports["prom"]
        wait_for(lambda: http_get_json(api + "/status/runtimeinfo", **tls), 30, what="Prometheus ready")
        yield {"app": app, "hook": hook, "smtp": smtp, "api": api, "procs": (am, prom), "tls": tls}
    finally:
        for thing in reversed(stopped):
            thing.stop()


def _alert_payloads(hook, status):
    return [a for p in hook.payloads() for a in p["alerts"]
            if a["labels"].get("alertname") == "APISlowResponse" and a["status"] == status]


def _mails(smtp, marker):
    return [m for m in smtp.received() if marker in str(m["message"]["Subject"])]


def test_slow_api_alert_reaches_webhook_and_email_then_resolves(stack):
    app, hook, smtp, api = stack["app"], stack["hook"], stack["smtp"], stack["api"]
    am, prom = stack["procs"]
    tls = stack["tls"]
    started = time.monotonic()
    try:
        # all of the role's scrape targets that exist here are up
        def targets_up():
            active = http_get_json(api + "/targets", **tls)["data"]["activeTargets"]
            jobs = {t["labels"]["job"]: t["health"] for t in active}
            # prometheus and alertmanager over HTTPS with basic auth (the role's scrape configs)
            assert all(t["scrapeUrl"].startswith("https://") for t in active if t["labels"]["job"] != "redfire-backend")
            return jobs if jobs == {"prometheus": "up", "redfire-backend": "up", "alertmanager": "up"} else None
        wait_for(targets_up, 30, what="targets up")
        # the role's rules are loaded; fast API: nothing fires
        groups = {g["name"] for g in http_get_json(api + "/rules", **tls)["data"]["groups"]}
        assert {"redfire_recording", "redfire-node", "redfire-app", "redfire-monitoring"} <= groups
        time.sleep(3)
        assert _alert_payloads(hook, "firing") == []

        app.set_latency(ENDPOINT, 3.0)
        firing = wait_for(lambda: _alert_payloads(hook, "firing"), 60, what="APISlowResponse at the webhook")
        alert = firing[0]
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["endpoint"] == ENDPOINT
        assert alert["labels"]["level"] == "2"
        assert alert["annotations"]["summary"] == "API响应时间过长"
        assert "P95响应时间超过2秒" in alert["annotations"]["description"]
        mail = wait_for(lambda: _mails(smtp, "[告警中]"), 30, what="APISlowResponse email")[0]
        assert mail["to"] == ["ops@redfire.test"] and mail["from"] == "alertmanager@redfire.test"
        assert "RedFire告警" in mail["message"]["Subject"] and "API响应时间过长" in mail["message"]["Subject"]
        body = mail["message"].get_body(preferencelist=("plain",)).get_content()
        assert "APISlowResponse" in body and ENDPOINT in body

        # recover: fast again, and enough fast requests that the 5m window's p95 drops under 2 s
        app.set_latency(ENDPOINT, 0.05)
        app.observe(ENDPOINT, 0.05, n=app.observation_count(ENDPOINT) * 50)
        resolved = wait_for(lambda: _alert_payloads(hook, "resolved"), 60, what="resolved notification at the webhook")
        assert resolved[0]["labels"]["endpoint"] == ENDPOINT
        wait_for(lambda: _mails(smtp, "[已恢复]"), 30, what="resolved email")
        # no warning-only alert went to email, and nothing else fired on this healthy stack
        names = {a["labels"]["alertname"] for p in hook.payloads() for a in p["alerts"]}
        assert names == {"APISlowResponse"}, names
    except AssertionError as exc:
        raise AssertionError("%s\n--- prometheus log\n%s\n--- alertmanager log\n%s" % (exc, prom.output(), am.output())) from exc
    assert time.monotonic() - started < 150
