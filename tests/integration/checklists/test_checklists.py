"""The daily and incident checklists against three podman systemd hosts at once (forks), faults injected into
one host; check mode first; then the daily check through ansible-runner."""
import json
import re

import pytest
import yaml

from tests.conftest import ROOT, free_port, run
from tests.integration.checklists.conftest import write_inventory
from tests.lib import leaks
from tests.lib.datastores import make_dumps
from tests.lib.monitoring import stop_processes, wait_for
from tests.lib.receivers import SmtpSink, WebhookReceiver

SECRET = "hook-Secr3t-7f1c"
TEST_ALERT_RULES = ROOT / "roles" / "checklist" / "files" / "checklist_test_alert.rules.yml"
TEXTFILE = "/var/lib/prometheus/node-exporter/redfire_health.prom"
DUMPS = "/var/backups/postgresql"
COMMON = {
    # cpu and load of a shared 2-core machine say nothing about the lab hosts: check memory, disk, services
    "redfire_daily_health_checks": ["memory", "disk", "services"],
    "redfire_daily_log_errors_warning": 0,
    "redfire_daily_log_errors_critical": 3,
}


def playbook(inventory, name, *extra):
    return run(["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / name)] + list(extra),
               check=False, cwd=str(ROOT))


def recap(stdout):
    """{host: {ok: n, changed: n, failed: n, ...}} from the PLAY RECAP."""
    hosts = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", stdout, re.M):
        hosts[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return hosts


def newest(report_dir, kind, ext):
    files = sorted(report_dir.glob("%s-*.%s" % (kind, ext)))
    assert files, "no %s report in %s" % (kind, report_dir)
    return files[-1]


@pytest.fixture(scope="module")
def faulty_lab(lab_hosts, tmp_path_factory):
    """Healthy hosts 1 and 3; host 2 with its service stopped, /data filled, error lines in its log: two of them
    from an hour ago in the file rotated since (app.log.1), which the last 24 hours must still count; and one in
    the unit's journal, written by the unit as it stops (its ExecStopPost), which the daily check counts too."""
    sick = lab_hosts[1]
    sick.exec("mkdir -p /etc/systemd/system/redfire-app.service.d && printf '[Service]\\nExecStopPost=/bin/echo "
              "ERROR DatabaseError: pool exhausted while stopping\\n' > /etc/systemd/system/redfire-app.service.d/it.conf "
              "&& systemctl daemon-reload && "
              "systemctl stop redfire-app && head -c 1000000 /dev/zero > /data/fill && "
              "for i in 1 2; do echo \"$(date -d '-1 hour' '+%Y-%m-%d %H:%M:%S') ERROR DatabaseError: connection "
              "refused $i\" >> /var/log/redfire/app.log.1; done && "
              "for i in 3 4; do echo \"$(date '+%Y-%m-%d %H:%M:%S') ERROR DatabaseError: connection refused $i\" "
              ">> /var/log/redfire/app.log; done")
    inventory = write_inventory(tmp_path_factory.mktemp("inv") / "inventory.yml", lab_hosts, **COMMON)
    return lab_hosts, inventory


def test_daily_check_mode_changes_nothing(faulty_lab, tmp_path):
    hosts, inventory = faulty_lab
    proc = playbook(inventory, "daily_check.yml", "--check", "-f", "3", "-e", "redfire_report_dir=%s" % tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    counts = recap(proc.stdout)
    assert set(counts) == {h.name for h in hosts} | {"localhost"}
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), counts
    assert list(tmp_path.iterdir()) == []  # no report written
    for host in hosts:
        assert host.exec("test -e %s" % TEXTFILE, check=False).returncode == 1


def test_daily_check_faults_show_for_the_faulty_host_only(faulty_lab, tmp_path):
    hosts, inventory = faulty_lab
    healthy, sick = [hosts[0], hosts[2]], hosts[1]
    with SmtpSink(free_port()) as sink, WebhookReceiver() as hook:
        proc = playbook(inventory, "daily_check.yml", "-f", "3", "-e", json.dumps({
            "redfire_report_dir": str(tmp_path),
            "redfire_notify_webhook_url": "%s/hook/%s" % (hook.url, SECRET),
            "redfire_notify_webhook_headers": {"Authorization": "Bearer " + SECRET},
            "redfire_report_redact": [SECRET],
            "redfire_escalation_level": 2,
            "redfire_escalation_contacts": {1: {"emails": ["ops@redfire.test"]}, 2: {"emails": ["dev@redfire.test"]},
                                            3: {"emails": ["architects@redfire.test"]}},
            "redfire_notify_smtp_host": "127.0.0.1", "redfire_notify_smtp_port": sink.port}))
        notes, mails = hook.received(), sink.received()
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "REDFIRE_REPORT_STATUS=critical" in proc.stdout

    report = json.loads(newest(tmp_path, "daily_check", "json").read_text(encoding="utf-8"))
    by_host = {h["name"]: h for h in report["hosts"]}
    assert set(by_host) == {h.name for h in hosts}
    assert report["status"] == "critical" and report["kind"] == "daily_check"
    for host in healthy:
        assert by_host[host.name]["status"] == "ok", by_host[host.name]
    problems = {p["check"]: p for p in report["problems"]}
    assert {p["host"] for p in report["problems"]} == {sick.name}
    assert problems["service:redfire-app"]["status"] == "critical"
    assert problems["disk:/data"]["status"] == "critical"
    # the file's four error lines and the unit's journal entry (health_check's logs.journal, the daily services)
    log_errors = [c for c in by_host[sick.name]["checks"] if c["name"] == "log_errors"][0]
    assert problems["log_errors"]["status"] == "critical" and log_errors["value"] == 5, log_errors
    assert "database_error=5 (1 of them in the journal of journal:unit=redfire-app)" in log_errors["message"], log_errors
    checks = {c["name"] for c in by_host[healthy[0].name]["checks"]}
    assert {"memory", "disk:/data", "service:redfire-app", "log_size", "log_errors"} <= checks

    html = newest(tmp_path, "daily_check", "html").read_text(encoding="utf-8")
    assert "日常检查报告" in html and sick.name in html and "<script" not in html

    # textfile metrics on every host, each with its own state
    sick_metrics = sick.exec("cat %s" % TEXTFILE).stdout
    assert 'redfire_health_check_status{check="service:redfire-app",kind="service"} 2' in sick_metrics
    assert "redfire_health_check_overall_status 2" in sick_metrics
    assert 'redfire_health_check_status{check="log_errors",kind="log_errors"} 2' in sick_metrics
    assert 'redfire_health_check_value{check="log_errors",kind="log_errors",unit=""} 5.0' in sick_metrics
    for host in healthy:
        metrics = host.exec("cat %s" % TEXTFILE).stdout
        assert 'redfire_health_check_status{check="service:redfire-app",kind="service"} 0' in metrics
        assert "redfire_health_check_overall_status 0" in metrics

    # one notification, with the problems of the faulty host, and the secret nowhere in output or reports
    assert len(notes) == 1
    note = notes[0]
    assert note["path"] == "/hook/" + SECRET and note["headers"]["Authorization"] == "Bearer " + SECRET
    assert note["body"]["status"] == "critical" and note["body"]["checklist"] == "daily_check"
    assert {p["host"] for p in note["body"]["problems"]} == {sick.name}
    assert SECRET not in note["body"]["text"]
    for text in [proc.stdout, proc.stderr] + [p.read_text(encoding="utf-8") for p in tmp_path.iterdir()]:
        assert SECRET not in text

    # one mail to escalation levels 1 and 2 (not 3), the HTML report as body
    assert len(mails) == 1, proc.stdout[-3000:]
    assert sorted(mails[0]["to"]) == ["dev@redfire.test", "ops@redfire.test"]
    message = mails[0]["message"]
    assert "[CRITICAL]" in str(message["Subject"])
    body = next(part for part in message.walk() if part.get_content_type() == "text/html")
    html_body = body.get_payload(decode=True).decode("utf-8")
    assert sick.name in html_body and "日常检查报告" in html_body and SECRET not in html_body


def test_incident_diagnoses_without_confirmation_and_recovers_with_it(faulty_lab, tmp_path):
    hosts, inventory = faulty_lab
    sick = hosts[1]
    services = json.dumps({"redfire_incident_services": ["redfire-app"], "redfire_report_dir": str(tmp_path),
                           "redfire_report_language": "en", "redfire_incident_log_minutes": 30})

    proc = playbook(inventory, "incident_response.yml", "--check", "-e", services, "-e", "redfire_incident_confirm=true")
    assert proc.returncode == 0, proc.stdout[-4000:]
    counts = recap(proc.stdout)
    # check mode says it would restart the service on the faulty host, and does not
    expected = {"localhost": 0, hosts[0].name: 0, sick.name: 1, hosts[2].name: 0}
    assert {h: c["changed"] for h, c in counts.items()} == expected, counts
    assert sick.exec("systemctl is-active redfire-app", check=False).stdout.strip() == "inactive"
    assert list(tmp_path.iterdir()) == []

    proc = playbook(inventory, "incident_response.yml", "-e", services)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(c["changed"] == 0 for h, c in recap(proc.stdout).items() if h != "localhost")
    assert sick.exec("systemctl is-active redfire-app", check=False).stdout.strip() == "inactive"
    diagnosis = json.loads(newest(tmp_path, "incident_response", "json").read_text(encoding="utf-8"))
    assert diagnosis["actions"] == [] and diagnosis["title"] == "Incident response report"
    assert {p["host"] for p in diagnosis["problems"]} == {sick.name}
    assert "impact: 1 of 3 hosts affected: %s" % sick.name in diagnosis["notes"]
    assert any("would restart redfire-app" in line for line in proc.stdout.splitlines())
    # the last minutes of the service's journal and of the log files, through log_analysis, for the sick host only
    logs = [n for n in diagnosis["notes"] if ": logs of the last 30 min (" in n]
    assert sorted(n.split(": ", 1)[0] for n in logs) == sorted(h.name for h in hosts), logs
    sick_logs = [n for n in logs if n.startswith(sick.name + ": ")][0]
    assert "/var/log/redfire/app.log" in sick_logs and "journal:unit=redfire-app" in sick_logs, sick_logs
    # the file's two lines of now and the journal's entry; systemd's own lines for a clean stop are no failure
    assert sick_logs.endswith("3 error events: database_error=3"), sick_logs
    assert any(n.startswith(sick.name + ": ") and n.endswith(
        " journal:unit=redfire-app: ERROR DatabaseError: pool exhausted while stopping") for n in diagnosis["notes"])
    assert all(n.endswith("no error events") for n in logs if n != sick_logs), logs

    proc = playbook(inventory, "incident_response.yml", "--tags", "service_down", "-e", services,
                    "-e", "redfire_incident_confirm=true")
    assert proc.returncode == 0, proc.stdout[-4000:]
    counts = recap(proc.stdout)
    assert counts[sick.name]["changed"] == 1 and counts[hosts[0].name]["changed"] == 0
    assert "Runbook out of memory" not in proc.stdout and "List the processes using most memory" not in proc.stdout
    assert sick.exec("systemctl is-active redfire-app", check=False).stdout.strip() == "active"
    recovered = json.loads(newest(tmp_path, "incident_response", "json").read_text(encoding="utf-8"))
    assert recovered["actions"] == ["%s: restarted redfire-app" % sick.name]
    assert recovered["status"] == "ok"
    events = [e["event"] for e in recovered["timeline"] if e.get("host") == sick.name]
    assert events[0] == "diagnosis started" and events[-1].startswith("after restart: HEALTH OK")
    assert [e["time"] for e in recovered["timeline"]] == sorted(e["time"] for e in recovered["timeline"])

    # a dangerous step needs its flag and the confirmation; in a container dropping caches is refused by the
    # kernel: the failure is recorded and the report still written
    proc = playbook(inventory, "incident_response.yml", "--tags", "out_of_memory", "-e", services, "-e",
                    json.dumps({"redfire_incident_hosts": sick.name, "redfire_incident_drop_caches": True}))
    assert proc.returncode == 0 and recap(proc.stdout)[sick.name]["changed"] == 0, proc.stdout[-3000:]
    proc = playbook(inventory, "incident_response.yml", "--tags", "out_of_memory", "-e", services, "-e",
                    json.dumps({"redfire_incident_hosts": sick.name, "redfire_incident_drop_caches": True,
                                "redfire_incident_confirm": True}))
    assert proc.returncode == 0, proc.stdout[-3000:]
    dropped = json.loads(newest(tmp_path, "incident_response", "json").read_text(encoding="utf-8"))
    assert [h["name"] for h in dropped["hosts"]] == [sick.name]
    assert dropped["actions"][-1].startswith("%s: FAILED Drop the page cache" % sick.name), dropped["actions"]
    assert "permission denied" in dropped["actions"][-1]
    assert any(n.startswith("top memory: ") for n in dropped["notes"])


def test_daily_check_through_ansible_runner(faulty_lab, tmp_path):
    hosts, inventory = faulty_lab
    data = tmp_path / "runner"
    (data / "project").mkdir(parents=True)
    (data / "inventory").mkdir()
    (data / "env").mkdir()
    wrapper = "- name: Daily check\n  ansible.builtin.import_playbook: redfire.ops.daily_check\n"
    (data / "project" / "daily.yml").write_text(wrapper, encoding="utf-8")
    (data / "inventory" / "hosts.yml").write_text(inventory.read_text(encoding="utf-8"), encoding="utf-8")
    extravars = yaml.safe_dump({"redfire_report_dir": str(tmp_path / "reports")})
    (data / "env" / "extravars").write_text(extravars, encoding="utf-8")
    proc = run(["ansible-runner", "run", str(data), "-p", "daily.yml", "--ident", "daily1", "-j"], check=False)
    artifacts = data / "artifacts" / "daily1"
    assert (artifacts / "status").read_text().strip() == "successful", proc.stdout[-4000:]
    assert (artifacts / "rc").read_text().strip() == "0"
    events = [json.loads(p.read_text(encoding="utf-8")) for p in (artifacts / "job_events").glob("*.json")]
    ok_hosts = {e["event_data"]["host"] for e in events if e["event"] == "runner_on_ok"
                and e["event_data"].get("task") == "Check system resources, services, ports, database connections and logs"}
    assert ok_hosts == {h.name for h in hosts}
    stats = [e for e in events if e["event"] == "playbook_on_stats"]
    assert len(stats) == 1 and not stats[0]["event_data"]["failures"]
    report = json.loads(newest(tmp_path / "reports", "daily_check", "json").read_text(encoding="utf-8"))
    assert report["status"] == "critical" and {p["host"] for p in report["problems"]} == {hosts[1].name}


RULES = """groups:
  - name: test
    interval: 1s
    rules:
      - record: instance:redfire_node_cpu_usage:percent
        expr: 100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[15s])))
      - record: instance:redfire_node_memory_usage:percent
        expr: 100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)
"""


def _wait_http(url, proc, timeout=30):
    import urllib.request

    def answers():
        assert proc.poll() is None, "%s exited: %s" % (proc.args[0], proc.stderr.read()[-2000:])
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    wait_for(answers, timeout, interval=0.3, what=url)


@pytest.fixture(scope="module")
def monitoring(tmp_path_factory):
    """node_exporter, Prometheus (with two recording rules) and Alertmanager (all alerts to a webhook receiver)
    from Debian's packages on free loopback ports; stopped by PID at the end."""
    import subprocess
    import shutil
    from tests.conftest import project_env
    for tool in ("prometheus", "prometheus-alertmanager", "prometheus-node-exporter"):
        assert shutil.which(tool), "%s is missing: ./scripts/setup test installs it" % tool
    work = tmp_path_factory.mktemp("mon")
    (work / "textfiles").mkdir()
    ports = {name: free_port() for name in ("node", "prom", "am", "am_cluster")}
    procs = []
    with WebhookReceiver() as hook:
        (work / "rules.yml").write_text(RULES, encoding="utf-8")
        (work / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            # the checklist's own test alert rule, as users load it (prometheus_rule_files)
            "rule_files": [str(work / "rules.yml"), str(TEST_ALERT_RULES)],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:%d" % ports["am"]]}]}]},
            "scrape_configs": [{"job_name": "node", "static_configs": [
                {"targets": ["127.0.0.1:%d" % ports["node"]]}]}]}), encoding="utf-8")
        (work / "alertmanager.yml").write_text(yaml.safe_dump({
            "route": {"receiver": "hook", "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h",
                      "group_by": ["alertname", "redfire_test_id"]},
            "receivers": [{"name": "hook", "webhook_configs": [{"url": hook.url + "/alerts",
                                                                "send_resolved": False}]}]}), encoding="utf-8")
        commands = [
            ["prometheus-node-exporter", "--web.listen-address=127.0.0.1:%d" % ports["node"],
             "--no-collector.systemd", "--collector.disable-defaults", "--collector.cpu", "--collector.meminfo",
             "--collector.textfile", "--collector.textfile.directory=%s" % (work / "textfiles")],
            ["prometheus-alertmanager", "--config.file=%s" % (work / "alertmanager.yml"),
             "--storage.path=%s" % (work / "am"), "--web.listen-address=127.0.0.1:%d" % ports["am"],
             "--cluster.listen-address="],
            ["prometheus", "--config.file=%s" % (work / "prometheus.yml"), "--storage.tsdb.path=%s" % (work / "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % ports["prom"]],
        ]
        try:
            for command in commands:
                procs.append(subprocess.Popen(command, env=project_env(), stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE, text=True))
            _wait_http("http://127.0.0.1:%d/metrics" % ports["node"], procs[0])
            _wait_http("http://127.0.0.1:%d/-/ready" % ports["am"], procs[1])
            _wait_http("http://127.0.0.1:%d/-/ready" % ports["prom"], procs[2])
            # until the recording rules have a value
            query = "http://127.0.0.1:%d/api/v1/query?query=instance:redfire_node_cpu_usage:percent" % ports["prom"]
            import urllib.request

            def recorded():
                with urllib.request.urlopen(query, timeout=2) as answer:
                    return json.loads(answer.read())["data"]["result"]
            wait_for(recorded, 40, interval=1, what="a value of the recording rule")
            yield {"prometheus": "http://127.0.0.1:%d" % ports["prom"],
                   "alertmanager": "http://127.0.0.1:%d" % ports["am"], "hook": hook,
                   "textfiles": work / "textfiles"}
        finally:
            stop_processes(procs)


def test_periodic_check(faulty_lab, monitoring, tmp_path, tmp_path_factory):
    hosts, inventory = faulty_lab
    sick = hosts[1]
    _custom, gz, _corrupt = make_dumps(tmp_path_factory.mktemp("dumps"))
    cut = gz.parent / "cut.sql.gz"
    cut.write_bytes(gz.read_bytes()[:len(gz.read_bytes()) // 2])  # a gzipped plain dump cut in the middle
    for host in hosts:
        # a backup of 2 MB on every host; the faulty host's is three days old
        host.exec("mkdir -p /var/backups/redfire %s && head -c 2097152 /dev/zero > /var/backups/redfire/db.dump" % DUMPS)
        # PostgreSQL dumps (pg_dump's real output): yesterday's and this night's; the faulty host's newest is cut
        for local, name, age in ((gz, "orders-1.sql.gz", "25 hours ago"),
                                 (cut if host is sick else gz, "orders-2.sql.gz", "1 hour ago")):
            run(["podman", "cp", str(local), "%s:%s/%s" % (host.name, DUMPS, name)])
            host.exec("touch -d '%s' %s/%s" % (age, DUMPS, name))
        # package lists: fresh, and a security suite in the sources (the image has none; its lists are not
        # downloaded: the check reads the lists' age, and apt-get's simulation finds nothing pending in them)
        host.exec("echo 'deb http://deb.debian.org/debian-security bookworm-security main' "
                  "> /etc/apt/sources.list.d/redfire-it-security.list && touch /var/lib/apt/lists/*")
    sick.exec("touch -d '3 days ago' /var/backups/redfire/db.dump && touch -d '30 days ago' /var/lib/apt/lists/*")
    # a syslog-style log on the faulty host: the default timestamp format finds nothing in it
    sick.exec("echo \"$(date '+%b %e %H:%M:%S') host app: ERROR DatabaseError: refused\" > /var/log/redfire/syslog.log")
    # security faults on the faulty host, for redfire.ops.host_audit: root login allowed in an Include file of
    # sshd_config (sshd -T reads it; the running sshd is not reloaded), a listener on 0.0.0.0:8999 not allowed
    sick.exec("printf 'PermitRootLogin yes\\n' > /etc/ssh/sshd_config.d/50-redfire-it.conf && "
              "systemd-run --unit redfire-it-listener python3 -m http.server 8999 --bind 0.0.0.0 >/dev/null 2>&1 && "
              "for i in $(seq 50); do ss -H -l -t -n | grep -q ':8999 ' && exit 0; sleep 0.2; done; exit 1")
    variables = json.dumps({
        "redfire_periodic_audit_checks": ["sshd", "security_updates", "accounts", "listeners", "backups"],
        "redfire_periodic_backup_sources": [
            {"name": "var_backups_redfire", "type": "files", "path": "/var/backups/redfire", "patterns": ["*.dump"],
             "min_size_bytes": 1048576},
            {"name": "orders_db", "type": "postgresql", "path": DUMPS}],
        "redfire_report_dir": str(tmp_path), "redfire_report_language": "en",
        "redfire_prometheus_url": monitoring["prometheus"], "redfire_alertmanager_url": monitoring["alertmanager"],
        "redfire_periodic_alert_receiver_check_url": monitoring["hook"].url + "/received",
        # the test alert goes through Prometheus: its series is a textfile of the node_exporter Prometheus scrapes
        "redfire_periodic_alert_textfile_host": "localhost",
        "redfire_periodic_alert_textfile_dir": str(monitoring["textfiles"]),
        "redfire_periodic_window_hours": 1,
        "redfire_periodic_queries": [
            {"name": "cpu_peak", "query": "max_over_time(instance:redfire_node_cpu_usage:percent[$window])",
             "unit": "%", "warning": 101, "critical": 102},
            {"name": "memory_peak", "query": "max_over_time(instance:redfire_node_memory_usage:percent[$window])",
             "unit": "%", "warning": 101, "critical": 102},
            {"name": "latency_p95", "label": "endpoint",
             "query": "max_over_time(endpoint:redfire_api_response_time_seconds:p95[$window])"}]})

    proc = playbook(inventory, "periodic_check.yml", "--check", "-f", "3", "-e", variables)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in recap(proc.stdout).values()), recap(proc.stdout)
    assert list(tmp_path.iterdir()) == [] and monitoring["hook"].received() == []  # no report, no test alert

    proc = playbook(inventory, "periodic_check.yml", "-f", "3", "-e", variables)
    sick.exec("rm -f /etc/ssh/sshd_config.d/50-redfire-it.conf; systemctl stop redfire-it-listener", check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    report = json.loads(newest(tmp_path, "periodic_check", "json").read_text(encoding="utf-8"))
    by_host = {h["name"]: {c["name"]: c for c in h["checks"]} for h in report["hosts"]}
    assert set(by_host) == {h.name for h in hosts} | {"monitoring", "business"}
    # the business window (roles/checklist/tasks/business_window.yml): this Prometheus scrapes no RedFire app
    assert set(by_host["business"]) == {"orders", "order_success_ratio", "risk_rejections", "active_users"}
    assert all(c["status"] == "unknown" and "no data over 1h" in c["message"] for c in by_host["business"].values())
    backup = "backup_age:var_backups_redfire"
    # each fault with its machine-readable reason on the faulty host, and ok on the others
    faults = {backup: ("critical", "backup_too_old"), "backup_integrity:orders_db": ("critical", "backup_corrupt"),
              "package_lists": ("warning", "package_lists_stale"),
              "sshd:permit_root_login": ("critical", "root_login_allowed"),
              "listeners": ("critical", "unexpected_listener")}
    for host in (hosts[0], hosts[2]):
        checks = by_host[host.name]
        assert checks["log_errors"]["status"] == "ok", checks
        for name in faults:
            assert (checks[name]["status"], checks[name]["reason"]) == ("ok", "ok"), checks[name]
        assert checks["security_updates"]["status"] == "ok" and checks["backup_age:orders_db"]["status"] == "ok"
        assert {"accounts:uid0", "sshd:password_authentication"} <= set(checks)
    sick_checks = by_host[sick.name]
    for name, expected in faults.items():
        assert (sick_checks[name]["status"], sick_checks[name]["reason"]) == expected, sick_checks[name]
    assert sick_checks[backup]["value"] >= 71 and sick_checks["package_lists"]["value"] > 24 * 29, sick_checks
    # the cut dump is the newest: fresh, but not a backup one could restore
    assert sick_checks["backup_age:orders_db"]["status"] == "ok", sick_checks["backup_age:orders_db"]
    root_login = sick_checks["sshd:permit_root_login"]
    assert "/etc/ssh/sshd_config.d/50-redfire-it.conf" in root_login["message"], root_login
    listeners = sick_checks["listeners"]
    assert "8999" in listeners["message"] and "python3" in listeners["message"], listeners
    # errors above warning 0 (not above critical 100), but syslog.log has no timestamp of the format: unknown
    sick_errors = by_host[sick.name]["log_errors"]
    assert sick_errors["status"] == "unknown" and 3 <= sick_errors["value"] <= 5, sick_errors
    assert "no line with a timestamp in /var/log/redfire/syslog.log" in sick_errors["message"], sick_errors
    sick.exec("rm /var/log/redfire/syslog.log")
    assert {p["host"] for p in report["problems"]} - {"monitoring", "business"} == {sick.name}

    mon = by_host["monitoring"]
    cpu = [c for name, c in mon.items() if name.startswith("cpu_peak:")]
    assert len(cpu) == 1 and cpu[0]["status"] == "ok" and 0 <= cpu[0]["value"] <= 100
    # this window against the previous one: Prometheus started minutes ago, so there is no previous hour
    assert cpu[0]["message"].endswith("; no data for the previous 1 h") and "previous" not in (cpu[0].get("details") or {}), cpu
    assert [c for name, c in mon.items() if name.startswith("memory_peak:")][0]["value"] > 0
    assert mon["latency_p95"]["status"] == "unknown" and "no data" in mon["latency_p95"]["message"]
    assert mon["alerting_test"]["status"] == "ok", mon["alerting_test"]
    alert_id = mon["alerting_test"]["message"].split()[2]
    assert "through Prometheus rule RedfireChecklistTest" in mon["alerting_test"]["message"]
    delivered = [a for r in monitoring["hook"].received() if r["path"] == "/alerts" for a in r["body"]["alerts"]]
    # fired by Prometheus's rule (its alertname and generatorURL), not posted to Alertmanager by the playbook
    ours = [a for a in delivered if a["labels"].get("redfire_test_id") == alert_id]
    assert ours and ours[0]["labels"]["alertname"] == "RedfireChecklistTest", delivered
    assert "/graph?g0.expr=" in ours[0]["generatorURL"], ours
    assert list(monitoring["textfiles"].iterdir()) == []  # the series is cleared: the alert resolves


def test_site_check_mode_changes_nothing(faulty_lab, tmp_path):
    """site.yml in check mode on a host of the monitoring group: it says what it would do and does nothing."""
    hosts, inventory = faulty_lab
    data = yaml.safe_load(inventory.read_text(encoding="utf-8"))
    data["all"]["children"]["monitoring"] = {"hosts": {hosts[0].name: {}}, "vars": {
        "redfire_site_grafana": False, "prometheus_redfire_jobs": [],
        "alertmanager_webhook_url": "http://127.0.0.1:9/alerts",
        # TLS and basic auth are on by default (redfire.ops.web_config): a test password, a CA dir of the test
        "web_config_client_password": leaks.password("site client password", "site-check-Secret-31415"), "web_config_ca_dir": str(tmp_path / "ca")}}
    site_inventory = tmp_path / "site.yml"
    site_inventory.write_text(yaml.safe_dump(data), encoding="utf-8")
    before = hosts[0].exec("find /etc /usr /opt /var/lib/dpkg /var/lib/apt -xdev -newer /etc/hostname 2>/dev/null | sort").stdout
    proc = playbook(site_inventory, "site.yml", "--check", "-l", hosts[0].name)
    assert proc.returncode == 0, proc.stdout[-4000:]
    counts = recap(proc.stdout)[hosts[0].name]
    assert counts["failed"] == 0 and counts["changed"] > 0  # it would install and configure the stack
    assert "PLAY [Monitoring (Prometheus, Alertmanager, blackbox exporter, Grafana)]" in proc.stdout
    state = hosts[0].exec("dpkg-query -W prometheus prometheus-node-exporter prometheus-alertmanager 2>&1; "
                          "ls /etc/prometheus 2>&1", check=False).stdout
    assert "no packages found matching prometheus" in state and "No such file or directory" in state, state
    after = hosts[0].exec("find /etc /usr /opt /var/lib/dpkg /var/lib/apt -xdev -newer /etc/hostname 2>/dev/null | sort").stdout
    assert after == before


class _Unreachable:
    """A host whose SSH port nothing listens on: every connection is refused at once."""

    def __init__(self):
        self.name = "redfire-it-unreachable"
        self.port = free_port()

    def hostvars(self):
        return {"ansible_host": "127.0.0.1", "ansible_port": self.port, "ansible_user": "root",
                "ansible_connection": "ssh", "ansible_ssh_args": "-o ConnectTimeout=5 -o StrictHostKeyChecking=no"}


@pytest.mark.parametrize("book", ["daily_check.yml", "periodic_check.yml", "incident_response.yml"])
def test_an_unreachable_host_is_reported_not_silent(book, tmp_path):
    """Every checked host unreachable (a total outage): the report is still written and names the host and why, and
    the run fails after it. Ansible skips the plays after one in which every host failed, so without care the worst
    case would leave no report and send no notification."""
    ghost = _Unreachable()
    inventory = write_inventory(tmp_path / "inventory.yml", [ghost])
    reports = tmp_path / "reports"
    proc = playbook(inventory, book, "-e", "redfire_report_dir=%s" % reports)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "not checked: %s; see the report" % ghost.name in proc.stdout
    report = json.loads(newest(reports, book[:-4], "json").read_text(encoding="utf-8"))
    assert report["status"] == "critical" and [h["name"] for h in report["hosts"]] == [ghost.name]
    (check,) = report["hosts"][0]["checks"]
    assert (check["name"], check["kind"], check["status"]) == ("reachable", "host", "critical")
    assert check["message"].startswith("unreachable: ") and "Connection refused" in check["message"], check


def test_daily_check_bad_threshold_is_reported_for_that_host(faulty_lab, tmp_path):
    """A log threshold that is not a number fails that host's health_check with a message naming the option; the
    report says so for that host, and the run fails after it."""
    hosts, inventory = faulty_lab
    proc = playbook(inventory, "daily_check.yml", "-e", json.dumps({
        "redfire_report_dir": str(tmp_path), "redfire_check_hosts": hosts[0].name,
        "redfire_daily_log_errors_warning": "lots"}))
    assert proc.returncode == 2, proc.stdout[-3000:]
    report = json.loads(newest(tmp_path, "daily_check", "json").read_text(encoding="utf-8"))
    (check,) = report["hosts"][0]["checks"]
    assert (check["name"], check["status"]) == ("reachable", "critical")
    assert check["message"].startswith("health_check failed: ") and "errors_warning" in check["message"], check
