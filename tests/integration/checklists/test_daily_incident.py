"""The daily and incident checklists against three podman systemd hosts at once (forks), faults injected into
one host; check mode first; then the daily check through ansible-runner."""
import json
import re

import pytest
import yaml

from tests.conftest import ROOT, free_port, run
from tests.integration.checklists.conftest import write_inventory
from tests.integration.checklists.receiver import Receiver

SECRET = "hook-Secr3t-7f1c"
TEXTFILE = "/var/lib/prometheus/node-exporter/redfire_health.prom"
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
    """Healthy hosts 1 and 3; host 2 with its service stopped, /data filled, error lines in its log."""
    sick = lab_hosts[1]
    sick.exec("systemctl stop redfire-app && head -c 1000000 /dev/zero > /data/fill && "
              "for i in 1 2 3 4; do echo \"$(date '+%Y-%m-%d %H:%M:%S') ERROR DatabaseError: connection refused $i\" "
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
    with Receiver(free_port()) as hook:
        proc = playbook(inventory, "daily_check.yml", "-f", "3", "-e", json.dumps({
            "redfire_report_dir": str(tmp_path),
            "redfire_notify_webhook_url": "%s/hook/%s" % (hook.url, SECRET),
            "redfire_notify_webhook_headers": {"Authorization": "Bearer " + SECRET},
            "redfire_report_redact": [SECRET]}))
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
    assert problems["log_errors"]["status"] == "critical" and "database_error=4" in problems["log_errors"]["message"]
    checks = {c["name"] for c in by_host[healthy[0].name]["checks"]}
    assert {"memory", "disk:/data", "service:redfire-app", "log_size", "log_errors"} <= checks

    html = newest(tmp_path, "daily_check", "html").read_text(encoding="utf-8")
    assert "日常检查报告" in html and sick.name in html and "<script" not in html

    # textfile metrics on every host, each with its own state
    sick_metrics = sick.exec("cat %s" % TEXTFILE).stdout
    assert 'redfire_health_check_status{check="service:redfire-app",kind="service"} 2' in sick_metrics
    assert "redfire_health_check_overall_status 2" in sick_metrics
    for host in healthy:
        metrics = host.exec("cat %s" % TEXTFILE).stdout
        assert 'redfire_health_check_status{check="service:redfire-app",kind="service"} 0' in metrics
        assert "redfire_health_check_overall_status 0" in metrics

    # one notification, with the problems of the faulty host, and the secret nowhere in output or reports
    assert len(hook.received) == 1
    note = hook.received[0]
    assert note["path"] == "/hook/" + SECRET and note["headers"]["Authorization"] == "Bearer " + SECRET
    assert note["body"]["status"] == "critical" and note["body"]["checklist"] == "daily_check"
    assert {p["host"] for p in note["body"]["problems"]} == {sick.name}
    assert SECRET not in note["body"]["text"]
    for text in [proc.stdout, proc.stderr] + [p.read_text(encoding="utf-8") for p in tmp_path.iterdir()]:
        assert SECRET not in text


def test_incident_diagnoses_without_confirmation_and_recovers_with_it(faulty_lab, tmp_path):
    hosts, inventory = faulty_lab
    sick = hosts[1]
    services = json.dumps({"redfire_incident_services": ["redfire-app"], "redfire_report_dir": str(tmp_path),
                           "redfire_report_language": "en"})

    proc = playbook(inventory, "incident_response.yml", "--check", "-e", services, "-e", "redfire_incident_confirm=true")
    assert proc.returncode == 0, proc.stdout[-4000:]
    counts = recap(proc.stdout)
    # check mode says it would restart the service on the faulty host, and does not
    assert {h: c["changed"] for h, c in counts.items()} == {"localhost": 0, hosts[0].name: 0, sick.name: 1,
                                                             hosts[2].name: 0}, counts
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


def test_daily_check_through_ansible_runner(faulty_lab, tmp_path):
    hosts, inventory = faulty_lab
    data = tmp_path / "runner"
    (data / "project").mkdir(parents=True)
    (data / "inventory").mkdir()
    (data / "env").mkdir()
    (data / "project" / "daily.yml").write_text("- name: Daily check\n  ansible.builtin.import_playbook: "
                                                 "redfire.ops.daily_check\n", encoding="utf-8")
    (data / "inventory" / "hosts.yml").write_text(inventory.read_text(encoding="utf-8"), encoding="utf-8")
    (data / "env" / "extravars").write_text(yaml.safe_dump({"redfire_report_dir": str(tmp_path / "reports")}),
                                             encoding="utf-8")
    proc = run(["ansible-runner", "run", str(data), "-p", "daily.yml", "--ident", "daily1", "-j"], check=False)
    artifacts = data / "artifacts" / "daily1"
    assert (artifacts / "status").read_text().strip() == "successful", proc.stdout[-4000:]
    assert (artifacts / "rc").read_text().strip() == "0"
    events = [json.loads(p.read_text(encoding="utf-8")) for p in (artifacts / "job_events").glob("*.json")]
    ok_hosts = {e["event_data"]["host"] for e in events if e["event"] == "runner_on_ok"
                and e["event_data"].get("task") == "Check system resources, services, ports and database connections"}
    assert ok_hosts == {h.name for h in hosts}
    stats = [e for e in events if e["event"] == "playbook_on_stats"]
    assert len(stats) == 1 and not stats[0]["event_data"]["failures"]
    report = json.loads(newest(tmp_path / "reports", "daily_check", "json").read_text(encoding="utf-8"))
    assert report["status"] == "critical" and {p["host"] for p in report["problems"]} == {hosts[1].name}
