"""Crash drills in the lab with the incident rulebook: per drill and as medians, the seconds from the crash of
redfire-backend to its first alert that names a runbook firing (Prometheus: HostSystemdUnitFailed or TargetDown), to
the enriched notification (at the lab's webhook sink), to the service running again (restarted by the rulebook's
playbook) and to the incident's record closed on the resolved notification (the post-incident report is sent in the
same run), for the shipped defaults and for the fast profile (docs/incident_response.md). Goals: running again within 120 s (defaults) and 45 s
(fast). Prints the fast profile's medians as ratios of the defaults' (measured in the same run).

Needs the lab (./scripts/lab). Runs ansible-rulebook on this machine, listening on the lab network's gateway, points
the lab's Alertmanager at it (site.yml --tags monitoring with the profile's variables) and puts the lab's own
configuration back at the end.

  python benchmarks/incident_drill.py [--drills N] [--profiles default,fast]
"""
import argparse
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port, project_env, run  # noqa: E402  pylint: disable=wrong-import-position
from tests.lib.monitoring import Process, wait_for  # noqa: E402  pylint: disable=wrong-import-position
# https with the lab's CA and client password (Prometheus and Alertmanager are behind redfire.ops.web_config)
from lab.drill import get_json  # noqa: E402  pylint: disable=wrong-import-position

LAB = ROOT / "lab" / "inventory.yml"
KEY = ROOT / ".build" / "lab" / "id_ed25519"
WORK = ROOT / ".build" / "lab" / "incident-drill"
APP, MONITORING = "10.250.13.10", "10.250.13.12"
GATEWAY = "10.250.13.1"
FAULTS = "/etc/redfire/faults/backend"
PROMETHEUS, ALERTMANAGER = "https://%s:9090" % MONITORING, "https://%s:9093" % MONITORING
SINK = "http://%s:9095/alerts" % MONITORING
# The variables a profile sets: every timer between the crash and the restart (the lab's inventory has its own).
TIMERS = {"prometheus": ("prometheus_scrape_interval", "prometheus_scrape_timeout", "prometheus_evaluation_interval",
                         "prometheus_alert_target_down_for", "prometheus_alert_systemd_unit_failed_for"),
          "alertmanager": ("alertmanager_rulebook_group_wait", "alertmanager_rulebook_group_interval")}


def role_defaults():
    """The shipped defaults of TIMERS, read from the roles (so the benchmark measures what users get)."""
    out = {}
    for role, names in TIMERS.items():
        defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
        out.update({name: defaults[name] for name in names})
    return out


PROFILES = {
    "default": role_defaults(),
    # docs/incident_response.md, "Time to recover, and the fast profile"
    "fast": {"prometheus_scrape_interval": "5s", "prometheus_scrape_timeout": "4s", "prometheus_evaluation_interval": "5s",
             "prometheus_alert_target_down_for": "10s", "prometheus_alert_systemd_unit_failed_for": "10s",
             "alertmanager_rulebook_group_wait": "1s", "alertmanager_rulebook_group_interval": "10s"},
}
STEPS = ("firing", "notified", "running", "resolved")


def ssh(command):
    proc = subprocess.run(["ssh", "-i", str(KEY), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                           "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "root@" + APP, command],
                          capture_output=True, text=True, timeout=120, check=False)
    return proc.stdout.strip()


def deploy(extra):
    """The lab's monitoring with `extra` variables (none: the lab's own configuration)."""
    varfile = WORK / "deploy-vars.json"
    varfile.write_text(json.dumps(extra))
    run(["ansible-playbook", "-i", str(LAB), str(ROOT / "playbooks" / "site.yml"), "--limit", "monitoring",
         "--tags", "monitoring", "-e", "@%s" % varfile], timeout=1800)


def write_inventory(token_dir):
    """The rulebook's inventory: the lab's app host over SSH, the controller, the incident variables."""
    ssh_args = "-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    inventory = {"all": {
        "hosts": {
            "redfire-lab-app": {"ansible_host": APP, "ansible_user": "root", "ansible_connection": "ansible.builtin.ssh",
                                "ansible_ssh_private_key_file": str(KEY), "ansible_ssh_args": ssh_args,
                                "ansible_pipelining": True, "ansible_python_interpreter": "/usr/bin/python3",
                                "redfire_daily_log_dirs": ["/var/log/redfire"]},
            "localhost": {"ansible_connection": "local", "ansible_python_interpreter": str(ROOT / ".venv" / "bin" / "python")}},
        "vars": {"redfire_incident_alertmanager_url": ALERTMANAGER, "redfire_incident_prometheus_url": PROMETHEUS,
                 # the lab's CA and client password (web_config_client_password from Vault in production)
                 "redfire_monitoring_ca_path": str(ROOT / ".build" / "lab" / "ca" / "ca.crt"),
                 "web_config_client_password": (ROOT / ".build" / "lab" / "web_client_password").read_text().strip(),
                 "redfire_incident_state_dir": str(token_dir / "state"), "redfire_report_dir": str(token_dir / "reports"),
                 "redfire_notify_webhook_url": SINK,
                 # many drills within the hour: the breaker must not open during the benchmark
                 "redfire_incident_breaker_limit": 1000}}}
    path = token_dir / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


def backend_state():
    return ssh("systemctl is-active redfire-backend")


def backend_alerts(state):
    """The backend's alerts that name a runbook, in `state` (pending or firing)."""
    alerts = get_json(PROMETHEUS + "/api/v1/alerts")["data"]["alerts"]
    return [a for a in alerts if a["labels"].get("runbook") and a["state"] == state
            and (a["labels"].get("job") == "redfire-backend" or a["labels"].get("name") == "redfire-backend.service")]


def incident_notifications(since):
    """The incident notifications (the rulebook playbook's reports) the lab's webhook sink received after `since`."""
    return [e for e in get_json(SINK) if e["received_at"] >= since and e["body"].get("checklist") == "incident_response"]


def records(state_dir):
    """(record, seconds since the epoch it was last written) of every incident record of the rulebook's runs."""
    out = []
    for path in sorted(state_dir.glob("*.json")):
        if path.name != "breaker.json":
            out.append((json.loads(path.read_text()), path.stat().st_mtime))
    return out


def started(record):
    return datetime.datetime.strptime(record["starts_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def resolved_since(state_dir, since):
    """Seconds after `since` (wall clock) at which an incident that started after it was closed, or None."""
    closed = [written - since for record, written in records(state_dir)
              if record.get("status") == "resolved" and started(record) >= since - 1]
    return min(closed) if closed else None


def drill(index, state_dir, since):
    """One crash drill: seconds from the crash to each step. Incidents before `since` (the benchmark's start; an
    earlier run's, whose resolved notification no rulebook was left to hear) are not waited for."""
    if backend_state() != "active":   # left down by an interrupted run
        ssh("systemctl reset-failed redfire-backend; systemctl start redfire-backend")
    # the previous drill over: the backend healthy, no alert left, every incident record closed (its resolved
    # notification handled), so that nothing of it arrives during this one
    # (the post-incident report goes out seconds after its record is closed: no record written and no report sent
    # in the last 20 s)
    wait_for(lambda: backend_state() == "active" and not backend_alerts("firing") and not backend_alerts("pending")
             and all(record.get("status") == "resolved" and written < time.time() - 20
                     for record, written in records(state_dir) if started(record) >= since - 1)
             and all(e["received_at"] < time.time() - 20 for e in incident_notifications(0)),
             900, interval=2, what="a healthy backend and every incident closed before drill %d" % index)
    ssh("printf 'crash\\n' > %s" % FAULTS)
    crashed, crashed_wall = time.monotonic(), time.time()
    wait_for(lambda: backend_state() in ("failed", "inactive"), 60, interval=0.5, what="the crash")
    ssh(": > %s" % FAULTS)   # the cause is gone; the unit stays down until the rulebook starts it
    times, deadline = {}, crashed + 900
    while len(times) < len(STEPS) and time.monotonic() < deadline:
        now = time.monotonic() - crashed
        if "firing" not in times and backend_alerts("firing"):
            times["firing"] = now
        if "notified" not in times and "firing" in times and incident_notifications(crashed_wall):
            times["notified"] = now
        if "running" not in times and backend_state() == "active":
            times["running"] = now
        if "resolved" not in times and "running" in times:
            closed = resolved_since(state_dir, crashed_wall)
            if closed is not None:
                times["resolved"] = closed
        time.sleep(1)
    return times


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--drills", type=int, default=3)
    p.add_argument("--profiles", default="default,fast")
    args = p.parse_args(argv)
    profiles = [x for x in args.profiles.split(",") if x]
    WORK.mkdir(parents=True, exist_ok=True)
    token = os.urandom(16).hex()
    port = free_port()
    inventory = write_inventory(WORK)
    rulebook = Process("rulebook", [str(ROOT / ".venv" / "bin" / "ansible-rulebook"), "-r",
                                    str(ROOT / "extensions" / "eda" / "rulebooks" / "redfire_alerts.yml"), "-i", str(inventory),
                                    "--env-vars", "REDFIRE_RULEBOOK_TOKEN,REDFIRE_RULEBOOK_HOST,REDFIRE_RULEBOOK_PORT",
                                    "-v"], WORK,
                       env={**project_env(), "REDFIRE_RULEBOOK_TOKEN": token, "REDFIRE_RULEBOOK_HOST": GATEWAY,
                            "REDFIRE_RULEBOOK_PORT": str(port), "HOME": str(WORK)})
    results, begun = {}, time.time()
    try:
        wait_for(lambda: "Waiting for events" in rulebook.log.read_text(errors="replace"), 120, what="the rulebook")
        for profile in profiles:
            deploy(dict(PROFILES[profile], alertmanager_rulebook_url="http://%s:%d/alerts" % (GATEWAY, port),
                        alertmanager_rulebook_token=token))
            results[profile] = []
            for index in range(1, args.drills + 1):
                times = drill(index, WORK / "state", begun)
                results[profile].append(times)
                print("%-8s drill %d: %s" % (profile, index, "  ".join(
                    "%s %s" % (step, ("%.0f s" % times[step]) if step in times else "-") for step in STEPS)), flush=True)
    finally:
        rulebook.stop()
        deploy({})
    medians = {}
    for profile, drills in results.items():
        medians[profile] = {step: statistics.median([d[step] for d in drills if step in d]) for step in STEPS
                            if any(step in d for d in drills)}
        print("%-8s median: %s" % (profile, "  ".join("%s %.0f s" % (s, v) for s, v in medians[profile].items())))
    goals = {"default": 120, "fast": 45}
    for profile, values in medians.items():
        if "running" in values:
            print("%-8s running again after %.0f s (goal %d s): %s" % (
                profile, values["running"], goals[profile], "met" if values["running"] <= goals[profile] else "NOT met"))
    if "default" in medians and "fast" in medians:
        ratios = ["%s %.2f" % (s, medians["fast"][s] / medians["default"][s])
                  for s in STEPS if s in medians["fast"] and medians["default"].get(s)]
        print("fast / default: %s" % "  ".join(ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
