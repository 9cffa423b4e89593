"""Alert-driven incident response (issue 18), end to end with real services: the RedFire stand-in as the systemd
unit redfire-backend in a systemd container, Prometheus and Alertmanager on loopback with the files the roles
render (fast profile: `for: 2s`, group_wait 1s; docs/incident_response.md), ansible-rulebook with the collection's
rulebook behind a token and TLS (the copy redfire.ops.rulebook runs, rendered by the same filter with the host
certificate of web_config's CA), the on-call's webhook and a status page as receivers.

- the crash fault: TargetDown fires, reaches the rulebook, the enriched notification arrives at the webhook, the
  unit is restarted, the alert resolves, and the record holds the whole timeline (and the post-incident report);
- a matching Alertmanager silence: diagnosis only, the unit stays down;
- the second crash within the hour (breaker limit 1): no restart, an escalation to level 2 instead;
- a webhook call without the token is refused (401) and logged and runs nothing; a malformed body (400) and JSON
  that is no notification are logged, run nothing, and the rulebook keeps serving;
- the webhook speaks TLS only: plain HTTP gets no answer, a client that does not trust the CA fails;
- every user notice holds no host name or address."""
import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, free_port, project_env, run
from tests.lib import leaks
from tests.integration.checklists.conftest import start_hosts, stop_hosts
from tests.lib.monitoring import Process, http_get_json, need, render, wait_for
from tests.lib.receivers import WebhookReceiver

sys.path.insert(0, str(ROOT / ".build" / "collections"))
from ansible_collections.redfire.ops.plugins.filter.web_config import rulebook_webhook_tls  # noqa: E402

STANDIN = ROOT / "lab" / "redfire_standin"
RULEBOOK = ROOT / "extensions" / "eda" / "rulebooks" / "redfire_alerts.yml"
SITE = ROOT / ".venv" / "lib" / "python3.11" / "site-packages"
TOKEN = leaks.password("rulebook token", "rb-" + os.urandom(12).hex())
# Prometheus and Alertmanager behind TLS and basic auth (redfire.ops.web_config, the default), as in production
MONITORING_PASSWORD = leaks.password("monitoring client password", "incident-Monitoring-" + os.urandom(6).hex())


def _post(url, body, token=None, raw=False, ca_file=None):
    """POST to the rulebook's webhook; ca_file: the CA to trust (None: the system's, which does not know it)."""
    data = body if raw else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    context = ssl.create_default_context(cafile=ca_file) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


class Backend:
    """The stand-in as redfire-backend in a systemd container (Restart=no, as in the lab: a crash leaves it down)."""

    def __init__(self, container):
        self.c = c = container
        c.exec("useradd --system --no-create-home --shell /usr/sbin/nologin redfire && "
               "mkdir -p /opt/redfire /etc/redfire/faults /var/log/redfire /usr/local/lib/python3.11/dist-packages && "
               "chown -R redfire /var/log/redfire && : > /etc/redfire/backend.env && : > /etc/redfire/faults/backend")
        for src, dest in ((STANDIN / "redfire_standin.py", "/opt/redfire/redfire_standin.py"),
                          (STANDIN / "redfire-backend.service", "/etc/systemd/system/redfire-backend.service"),
                          # the stand-in's and health_check's libraries, pure Python and built for this Python 3.11
                          (SITE / "prometheus_client", "/usr/local/lib/python3.11/dist-packages/prometheus_client"),
                          (SITE / "psutil", "/usr/local/lib/python3.11/dist-packages/psutil")):
            run(["podman", "cp", str(src), "%s:%s" % (c.name, dest)])
        c.exec("systemctl daemon-reload && systemctl start redfire-backend")
        self.address = c.address()
        wait_for(self.up, 60, what="the backend to answer")

    def state(self):
        return self.c.exec("systemctl is-active redfire-backend", check=False).stdout.strip()

    def up(self):
        try:
            with urllib.request.urlopen("http://%s:8000/metrics" % self.address, timeout=2) as resp:
                return resp.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def crash(self):
        """The lab's crash fault; once the process has exited, the fault file is cleared (the cause is gone, the
        unit stays down until someone, or the rulebook, starts it)."""
        self.c.exec("echo crash > /etc/redfire/faults/backend")
        wait_for(lambda: self.state() in ("failed", "inactive"), 60, what="the backend to crash")
        self.c.exec(": > /etc/redfire/faults/backend")

    def start(self):
        self.c.exec("systemctl reset-failed redfire-backend; systemctl start redfire-backend")
        wait_for(self.up, 60, what="the backend to answer")


@pytest.fixture(scope="module")
def incident(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("incident")
    for tool in ("prometheus", "prometheus-alertmanager", "amtool", "java"):
        need(tool)
    started = []
    try:
        hook, status_page = WebhookReceiver(), WebhookReceiver()
        started += [hook, status_page]
        # reached over real SSH as the lab's hosts are (the checklist tests' hosts)
        hosts = start_hosts("incident", 1)
        started.append(type("Hosts", (), {"stop": lambda self: stop_hosts(hosts)})())
        container = hosts[0]
        backend = Backend(container)
        ports = {"prom": free_port(), "am": free_port(), "rb": free_port()}
        role_vars = {
            "prometheus_config_dir": str(tmp / "prometheus"), "prometheus_storage_path": str(tmp / "prometheus-data"),
            "prometheus_listen_address": "127.0.0.1:%d" % ports["prom"],
            "prometheus_scrape_interval": "1s", "prometheus_scrape_timeout": "1s", "prometheus_evaluation_interval": "1s",
            "prometheus_redfire_jobs": [{"job_name": "redfire-backend", "targets": ["%s:8000" % backend.address]}],
            "prometheus_alertmanager_targets": ["127.0.0.1:%d" % ports["am"]],
            # the fast profile (docs/incident_response.md)
            "prometheus_alert_target_down_for": "2s",
            "alertmanager_config_dir": str(tmp / "alertmanager"),
            "alertmanager_listen_address": "127.0.0.1:%d" % ports["am"],
            "alertmanager_group_wait": "1s", "alertmanager_group_interval": "1s", "alertmanager_repeat_interval": "1h",
            "alertmanager_rulebook_group_wait": "1s", "alertmanager_rulebook_group_interval": "1s",
            "alertmanager_trading_hours": [],
            "alertmanager_rulebook_url": "https://127.0.0.1:%d/alerts" % ports["rb"],
            "alertmanager_rulebook_token": TOKEN,
            "web_config_enabled": True, "web_config_client_password": MONITORING_PASSWORD,
            "web_config_ca_dir": str(tmp / "ca"),
        }
        render(tmp, ["prometheus", "alertmanager"], role_vars, project_env())
        # the rulebook's route has its own timers, not the people's
        route = yaml.safe_load((tmp / "alertmanager" / "alertmanager.yml").read_text())["route"]["routes"][0]
        assert (route["receiver"], route["group_wait"], route["group_interval"]) == ("redfire-rulebook", "1s", "1s"), route
        am = Process("alertmanager", [need("prometheus-alertmanager"), "--config.file=%s/alertmanager.yml" % role_vars["alertmanager_config_dir"],
                                      "--storage.path=%s" % (tmp / "am-data"), "--web.listen-address=" + role_vars["alertmanager_listen_address"],
                                      "--cluster.listen-address=",
                                      "--web.config.file=%s/web/web-config.yml" % role_vars["alertmanager_config_dir"]], tmp)
        started.append(am)
        tls = {"ca_file": str(tmp / "ca" / "ca.crt"), "auth": ("prometheus", MONITORING_PASSWORD)}
        am_url = "https://127.0.0.1:%d" % ports["am"]
        wait_for(lambda: http_get_json(am_url + "/api/v2/status", **tls), 30, what="Alertmanager ready")
        prom = Process("prometheus", [need("prometheus"), "--config.file=%s/prometheus.yml" % role_vars["prometheus_config_dir"],
                                      "--storage.tsdb.path=" + role_vars["prometheus_storage_path"],
                                      "--web.listen-address=" + role_vars["prometheus_listen_address"], "--rules.alert.resend-delay=1s",
                                      "--web.config.file=%s/web/web-config.yml" % role_vars["prometheus_config_dir"]], tmp)
        started.append(prom)
        prom_url = "https://127.0.0.1:%d" % ports["prom"]
        wait_for(lambda: http_get_json(prom_url + "/api/v1/status/runtimeinfo", **tls), 30, what="Prometheus ready")

        state_dir, report_dir = tmp / "state", tmp / "reports"
        inventory = tmp / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {
            "hosts": {
                container.name: dict(container.hostvars(), ansible_python_interpreter="/usr/bin/python3",
                                     redfire_incident_address=backend.address),
                "localhost": {"ansible_connection": "local", "ansible_python_interpreter": str(ROOT / ".venv" / "bin" / "python")}},
            "vars": {
                "redfire_incident_alertmanager_url": am_url, "redfire_incident_prometheus_url": prom_url,
                "redfire_monitoring_ca_path": tls["ca_file"], "web_config_client_password": MONITORING_PASSWORD,
                "redfire_incident_state_dir": str(state_dir), "redfire_report_dir": str(report_dir),
                "redfire_notify_webhook_url": hook.url + "/oncall",
                "redfire_incident_status_page_url": status_page.url + "/status",
                "redfire_incident_user_notice": True,
                "redfire_incident_breaker_limit": 1,
                "redfire_incident_user_services": {"redfire-backend": "交易服务"},
            }}}))
        # the copy redfire.ops.rulebook runs: the webhook with the host certificate (this controller's, "localhost")
        hosts_ca = tmp / "ca" / "hosts"
        served = tmp / "rulebook.yml"
        served.write_text(rulebook_webhook_tls(RULEBOOK.read_text(encoding="utf-8"), str(hosts_ca / "localhost.crt"),
                                               str(hosts_ca / "localhost.key"), source="redfire.ops.redfire_alerts"))
        rulebook = Process("rulebook", [str(ROOT / ".venv" / "bin" / "ansible-rulebook"), "-r", str(served), "-i", str(inventory),
                                        "--env-vars", "REDFIRE_RULEBOOK_TOKEN,REDFIRE_RULEBOOK_HOST,REDFIRE_RULEBOOK_PORT", "-v"], tmp,
                           env={**project_env(), "REDFIRE_RULEBOOK_TOKEN": TOKEN, "REDFIRE_RULEBOOK_HOST": "127.0.0.1",
                                "REDFIRE_RULEBOOK_PORT": str(ports["rb"]), "HOME": str(tmp)})
        started.append(rulebook)
        rb_url = "https://127.0.0.1:%d/alerts" % ports["rb"]
        wait_for(lambda: "Waiting for events" in rulebook.log.read_text(errors="replace"), 120, interval=0.5,
                 what="the rulebook to listen")
        yield {"tmp": tmp, "hook": hook, "status": status_page, "backend": backend, "container": container,
               "am": am_url, "prom": prom_url, "tls": tls, "rb": rb_url, "rulebook": rulebook, "state": state_dir, "reports": report_dir}
    finally:
        for thing in reversed(started):
            thing.stop()


def _oncall(hook, since=0, incident=""):
    """The incident notifications (the incident_response report posted by the checklist role's notify entry point) after the first `since`,
    of the incident whose id starts with `incident` (its id ends the report's file name)."""
    return [p for p in hook.payloads()[since:] if isinstance(p, dict) and p.get("checklist") == "incident_response"
            and ("-" + incident) in str(p.get("report", ""))]


def _report(note):
    """The JSON report a notification names (its HTML beside it), once both are written."""
    html = Path(note["report"])
    return wait_for(lambda: html.exists() and html.with_suffix(".json").exists()
                    and json.loads(html.with_suffix(".json").read_text()), 60, what="the report %s" % html.name)


def _records(state_dir):
    return [json.loads(p.read_text()) for p in sorted(Path(state_dir).glob("*-*.json"))]


def _log(p):
    return p["rulebook"].log.read_text(errors="replace")


def _explain(p):
    return "\n--- rulebook log\n%s" % _log(p)[-8000:]


def test_without_the_token_refused_and_malformed_logged(incident):
    p = incident
    runs_before = _log(p).count("PLAY [Read the alerts")
    notification = {"version": "4", "status": "firing", "alerts": [], "commonLabels": {"runbook": "service_down"}}
    ca = p["tls"]["ca_file"]
    assert _post(p["rb"], notification, ca_file=ca) == 401
    assert _post(p["rb"], notification, token="wrong-token", ca_file=ca) == 401
    assert _post(p["rb"], b"{not json", token=TOKEN, raw=True, ca_file=p["tls"]["ca_file"]) == 400
    assert _post(p["rb"], {"hello": "world"}, token=TOKEN, ca_file=p["tls"]["ca_file"]) == 200
    wait_for(lambda: "ignored, nothing run" in _log(p), 30, what="the unknown payload logged")
    log = _log(p)
    assert '"POST /alerts HTTP/1.1" 401' in log and "failed to decode JSON payload" in log, _explain(p)
    assert TOKEN not in log
    # the rulebook still serves, and none of these ran the playbook
    assert _post(p["rb"], {"hello": "again"}, token=TOKEN, ca_file=p["tls"]["ca_file"]) == 200
    time.sleep(3)
    assert _log(p).count("PLAY [Read the alerts") == runs_before, _explain(p)
    assert _oncall(p["hook"]) == []


def test_the_webhook_speaks_tls_only(incident):
    p = incident
    runs_before = _log(p).count("PLAY [Read the alerts")
    notification = {"version": "4", "status": "firing", "alerts": [], "commonLabels": {"runbook": "service_down"}}
    # plain HTTP to the TLS port: no HTTP answer at all
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        _post(p["rb"].replace("https:", "http:"), notification, token=TOKEN)
    # a client that does not trust the private CA does not get through, with the right token
    with pytest.raises(urllib.error.URLError) as untrusted:
        _post(p["rb"], notification, token=TOKEN)
    assert isinstance(untrusted.value.reason, ssl.SSLCertVerificationError), untrusted.value
    # the certificate names the address the webhook is reached at
    assert _post(p["rb"], {"hello": "tls"}, token=TOKEN, ca_file=p["tls"]["ca_file"]) == 200
    time.sleep(2)
    assert _log(p).count("PLAY [Read the alerts") == runs_before, _explain(p)


def test_crash_is_diagnosed_restarted_resolved_and_recorded(incident):
    p = incident
    backend, hook = p["backend"], p["hook"]
    seen = len(hook.payloads())
    backend.crash()
    crashed = time.monotonic()
    try:
        notes = wait_for(lambda: _oncall(hook, seen), 300, interval=1, what="the enriched notification")
        wait_for(lambda: backend.state() == "active" and backend.up(), 300, what="the backend restarted")
        restarted_after = time.monotonic() - crashed
        record = wait_for(lambda: [r for r in _records(p["state"]) if r["status"] == "resolved"], 300, interval=1,
                          what="the incident resolved")[0]
    except AssertionError as exc:
        raise AssertionError(str(exc) + _explain(p)) from exc
    text = notes[0]["text"]
    assert notes[0]["escalation_level"] == 1 and "应急响应报告" in text
    assert record["alertname"] == "TargetDown" and record["unit"] == "redfire-backend"
    assert record["host"] == p["container"].name and record["level"] == 1
    events = [e["event"] for e in record["timeline"]]
    for expected in ("alert TargetDown started (startsAt)", "alert received by the rulebook", "diagnosis done",
                     "restart redfire-backend: ok", "service redfire-backend running again", "alert resolved"):
        assert expected in events, (expected, events)
    assert record["time_to_detect_seconds"] >= 0 and record["time_to_recover_seconds"] >= record["time_to_detect_seconds"]
    assert [a["result"] for a in record["actions"]] == ["ok"]
    # the post-incident report where the checklist reports go (after the diagnosis report), with the diagnosis:
    # service state, journal, listener, top memory, health
    both = wait_for(lambda: [n for n in [_oncall(hook, seen, record["id"])] if len(n) >= 2], 300, interval=1,
                    what="the post-incident report's notification")[0]
    diagnosis, final_report = _report(both[0]), _report(both[-1])
    notes_text = "\n".join(diagnosis["notes"])
    for expected in ("plan: unit redfire-backend is down", "top memory: ", "listening: nothing on port 8000",
                     "redfire-backend.service: "):
        assert expected in notes_text, (expected, notes_text)
    assert {"service:redfire-backend", "port:8000", "memory"} <= {c["name"] for h in diagnosis["hosts"] for c in h["checks"]}
    final = final_report["extra"]["incident"]
    assert final["status"] == "resolved" and final["root_cause"] == "" and final["lessons"] == ""
    assert "事后分析" in Path(both[-1]["report"]).read_text()
    print("crash to running again: %.0f s" % restarted_after)


def _am(p, path, method="GET", body=None):
    """Alertmanager's API over TLS with the monitoring client's credentials."""
    request = urllib.request.Request(p["am"] + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    request.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % p["tls"]["auth"]).encode()).decode())
    with urllib.request.urlopen(request, timeout=10, context=ssl.create_default_context(cafile=p["tls"]["ca_file"])) as resp:
        text = resp.read().decode()
    return json.loads(text) if text else None


def _silence(p, instance):
    now = time.time()
    body = {"matchers": [{"name": "alertname", "value": "TargetDown", "isRegex": False, "isEqual": True},
                         {"name": "instance", "value": instance, "isRegex": False, "isEqual": True}],
            "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 5)),
            "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 600)),
            "createdBy": "test_incident_rulebook", "comment": "maintenance"}
    return _am(p, "/api/v2/silences", "POST", body)["silenceID"]


def test_silence_means_diagnosis_only(incident):
    p = incident
    backend, hook = p["backend"], p["hook"]
    instance = "%s:8000" % backend.address
    silence = _silence(p, instance)
    seen = len(hook.payloads())
    try:
        backend.crash()
        # a silenced alert leaves Alertmanager for no receiver: the notification comes as another Alertmanager of an
        # HA pair (or one that silenced it later) would send it
        labels = {"alertname": "TargetDown", "job": "redfire-backend", "instance": instance, "severity": "critical",
                  "level": "1", "runbook": "service_down"}
        starts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        assert _post(p["rb"], {"version": "4", "status": "firing", "receiver": "redfire-rulebook", "commonLabels": labels,
                               "alerts": [{"status": "firing", "labels": labels, "annotations": {},
                                           "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
                                           "fingerprint": "5e1e0ced00000001"}]}, token=TOKEN, ca_file=p["tls"]["ca_file"]) == 200
        notes = wait_for(lambda: _oncall(hook, seen, "5e1e0ced00000001"), 300, interval=1, what="the diagnosis notification")
        assert "plan: silenced in Alertmanager (%s): diagnosis only" % silence in _report(notes[0])["notes"]
        assert backend.state() != "active"
        record = [r for r in _records(p["state"]) if r["id"].startswith("5e1e0ced00000001")][0]
        assert record["actions"] == [] and record["silences"] == [silence]
    except AssertionError as exc:
        raise AssertionError(str(exc) + _explain(p)) from exc
    finally:
        _am(p, "/api/v2/silence/" + silence, "DELETE")
        backend.start()


def test_second_crash_within_the_hour_opens_the_breaker_and_escalates(incident):
    p = incident
    backend, hook = p["backend"], p["hook"]
    wait_for(lambda: not [a for a in _am(p, "/api/v2/alerts") if a["labels"].get("alertname") == "TargetDown"],
             120, interval=1, what="no TargetDown before the drill")
    seen = len(hook.payloads())
    backend.crash()
    try:
        notes = wait_for(lambda: [n for n in _oncall(hook, seen) if n["escalation_level"] == 2], 300, interval=1,
                         what="the escalation notification")
        assert any(n.startswith("plan: circuit breaker open") for n in _report(notes[0])["notes"])
        time.sleep(3)
        assert backend.state() != "active", "restarted although the breaker is open"
    except AssertionError as exc:
        raise AssertionError(str(exc) + _explain(p)) from exc
    finally:
        backend.start()


def test_user_notices_hold_no_host_name_or_address(incident):
    p = incident
    notices = [n for n in p["status"].payloads() if isinstance(n, dict) and n.get("title")]
    assert notices, "no user notice was posted"
    assert any(n["kind"] == "clear" for n in notices), notices
    for notice in notices:
        text = json.dumps(notice, ensure_ascii=False)
        for word in (p["container"].name, p["backend"].address, "redfire-lab", ":8000", "Traceback"):
            assert word not in text, (word, notice)
        assert "交易服务" in text


def test_no_password_or_token_in_records_reports_notifications_or_the_rulebook_log(incident):
    """After the drills above: neither the monitoring password nor the rulebook's token is in any incident record,
    report, notification (on-call, status page) or in the rulebook's log (issue 19)."""
    p = incident
    texts = {"the rulebook's log": _log(p),
             "the on-call notifications": json.dumps(p["hook"].payloads(), ensure_ascii=False),
             "the status page notices": json.dumps(p["status"].payloads(), ensure_ascii=False)}
    written = sorted(f for d in (p["state"], p["reports"]) for f in Path(d).rglob("*") if f.is_file())
    assert any(f.suffix == ".html" for f in written) and any(f.name != "breaker.json" for f in written), written
    texts.update({str(f): f.read_text(errors="replace") for f in written})
    for what, text in texts.items():
        leaks.assert_none_in(text, what)
