"""Crash drills in the lab with the incident rulebook: per drill and as medians, the seconds from the crash of
redfire-backend to the alert firing (Prometheus), to the enriched notification (at the lab's webhook sink), to the
service running again (restarted by the rulebook's playbook) and to the resolved notification, for the shipped
defaults and for the fast profile (docs/incident_response.md). Goals: running again within 120 s (defaults) and 45 s
(fast). Prints the fast profile's medians as ratios of the defaults' (measured in the same run).

Needs the lab (./scripts/lab). Runs ansible-rulebook on this machine, listening on the lab network's gateway, points
the lab's Alertmanager at it (site.yml --tags monitoring with the profile's variables) and puts the lab's own
configuration back at the end.

  python benchmarks/incident_drill.py [--drills N] [--profiles default,fast]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port, project_env, run  # noqa: E402  pylint: disable=wrong-import-position
from tests.lib.monitoring import Process, wait_for  # noqa: E402  pylint: disable=wrong-import-position

LAB = ROOT / "lab" / "inventory.yml"
KEY = ROOT / ".build" / "lab" / "id_ed25519"
WORK = ROOT / ".build" / "lab" / "incident-drill"
APP, MONITORING = "10.250.13.10", "10.250.13.12"
GATEWAY = "10.250.13.1"
FAULTS = "/etc/redfire/faults/backend"
PROFILES = {
    # the roles' defaults (roles/prometheus, roles/alertmanager)
    "default": {"prometheus_scrape_interval": "15s", "prometheus_evaluation_interval": "15s",
                "prometheus_alert_target_down_for": "2m", "alertmanager_group_wait": "30s",
                "alertmanager_group_interval": "5m"},
    # docs/incident_response.md, "Fast profile"
    "fast": {"prometheus_scrape_interval": "5s", "prometheus_evaluation_interval": "5s",
             "prometheus_alert_target_down_for": "10s", "alertmanager_group_wait": "1s",
             "alertmanager_group_interval": "10s"},
}
STEPS = ("firing", "notified", "running", "resolved")


def ssh(command):
    proc = subprocess.run(["ssh", "-i", str(KEY), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                           "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "root@" + APP, command],
                          capture_output=True, text=True, timeout=120, check=False)
    return proc.stdout.strip()


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def deploy(extra):
    """The lab's monitoring with `extra` variables (none: the lab's own configuration)."""
    varfile = WORK / "deploy-vars.json"
    varfile.write_text(json.dumps(extra))
    run(["ansible-playbook", "-i", str(LAB), str(ROOT / "playbooks" / "site.yml"), "--limit", "monitoring",
         "--tags", "monitoring", "-e", "@%s" % varfile], timeout=1800)


def write_inventory(token_dir):
    """The rulebook's inventory: the lab's app host over SSH, the controller, the incident variables."""
    import yaml
    ssh_args = "-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    inventory = {"all": {
        "hosts": {
            "redfire-lab-app": {"ansible_host": APP, "ansible_user": "root", "ansible_connection": "ansible.builtin.ssh",
                                "ansible_ssh_private_key_file": str(KEY), "ansible_ssh_args": ssh_args,
                                "ansible_pipelining": True, "ansible_python_interpreter": "/usr/bin/python3",
                                "redfire_daily_log_dirs": ["/var/log/redfire"]},
            "localhost": {"ansible_connection": "local", "ansible_python_interpreter": str(ROOT / ".venv" / "bin" / "python")}},
        "vars": {"redfire_incident_alertmanager_url": "http://%s:9093" % MONITORING,
                 "redfire_incident_prometheus_url": "http://%s:9090" % MONITORING,
                 "redfire_incident_state_dir": str(token_dir / "state"), "redfire_report_dir": str(token_dir / "reports"),
                 "redfire_notify_webhook_url": "http://%s:9095/alerts" % MONITORING,
                 # many drills within the hour: the breaker must not open during the benchmark
                 "redfire_incident_breaker_limit": 1000}}}
    path = token_dir / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


def backend_state():
    return ssh("systemctl is-active redfire-backend")


def target_down_firing():
    alerts = get_json("http://%s:9090/api/v1/alerts" % MONITORING)["data"]["alerts"]
    return [a for a in alerts if a["labels"].get("alertname") == "TargetDown"
            and a["labels"].get("job") == "redfire-backend" and a["state"] == "firing"]


def sink_entries():
    return get_json("http://%s:9095/alerts" % MONITORING)


def drill(index):
    """One crash drill: seconds from the crash to each step."""
    wait_for(lambda: backend_state() == "active" and not target_down_firing(), 600, interval=2,
             what="a healthy backend before drill %d" % index)
    seen = len(sink_entries())
    ssh("printf 'crash\\n' > %s" % FAULTS)
    crashed = time.monotonic()
    wait_for(lambda: backend_state() in ("failed", "inactive"), 60, interval=0.5, what="the crash")
    ssh(": > %s" % FAULTS)   # the cause is gone; the unit stays down until the rulebook starts it
    times, deadline = {}, crashed + 900
    while len(times) < len(STEPS) and time.monotonic() < deadline:
        now = time.monotonic() - crashed
        if "firing" not in times and target_down_firing():
            times["firing"] = now
        entries = sink_entries()[seen:]
        if "notified" not in times and any(e["body"].get("checklist") == "incident_response" for e in entries):
            times["notified"] = now
        if "running" not in times and backend_state() == "active":
            times["running"] = now
        if "resolved" not in times and any(a.get("status") == "resolved" and a.get("labels", {}).get("alertname") == "TargetDown"
                                           for e in entries for a in e["body"].get("alerts", [])):
            times["resolved"] = now
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
                                    "--env-vars", "REDFIRE_RULEBOOK_TOKEN,REDFIRE_RULEBOOK_HOST,REDFIRE_RULEBOOK_PORT"], WORK,
                       env={**project_env(), "REDFIRE_RULEBOOK_TOKEN": token, "REDFIRE_RULEBOOK_HOST": GATEWAY,
                            "REDFIRE_RULEBOOK_PORT": str(port), "HOME": str(WORK)})
    results = {}
    try:
        wait_for(lambda: "Waiting for events" in rulebook.log.read_text(errors="replace"), 120, what="the rulebook")
        for profile in profiles:
            deploy(dict(PROFILES[profile], alertmanager_rulebook_url="http://%s:%d/alerts" % (GATEWAY, port),
                        alertmanager_rulebook_token=token))
            results[profile] = []
            for index in range(1, args.drills + 1):
                times = drill(index)
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
