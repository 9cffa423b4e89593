"""Fault drill of the lab (scripts/lab drill FAULT): inject one real fault, wait until its alert reaches the
webhook sink (the on-call's channel), print the notification and the seconds from fault to notification, clear the
fault and wait for the resolved notification.

Faults (-> the alert expected):
  slow -> APISlowResponse                 errors -> RedFireHTTPErrorRateHigh
  orders_fail -> RedFireOrderErrorRateHigh stall -> RedFireOrderFlowStalled
  crash -> TargetDown (job redfire-backend)  leak -> RedFireProcessMemoryHigh
  postgres_down -> PostgreSQLDown         postgres_connections -> PostgreSQLTooManyConnections
  redis_down -> RedisDown                 redis_full -> RedisMemoryHigh
  disk_fill -> HostFilesystemFillingUp (the app host's 128 MB drill filesystem, /var/lib/redfire-fill)
The stand-in's faults are written to its faults file on the app host; PostgreSQL and Redis faults are made on the
data host (the unit stopped, connections held by a transient unit, Redis filled to its maxmemory).
"""
import argparse
import base64
import json
import shlex
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INVENTORY = ROOT / "lab" / "inventory.yml"
KEY = ROOT / ".build" / "lab" / "id_ed25519"
FAULTS_FILE = "/etc/redfire/faults/backend"

PG_HOLD = r"""
import math, time, psycopg2
probe = psycopg2.connect(dbname="postgres", host="/var/run/postgresql")
cur = probe.cursor()
cur.execute("SHOW max_connections"); limit = int(cur.fetchone()[0])
cur.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"); used = cur.fetchone()[0]
held = [probe]
for _ in range(max(0, math.ceil(0.9 * limit) - used - 1)):  # 90 % of max_connections, a few left for others
    held.append(psycopg2.connect(dbname="postgres", host="/var/run/postgresql"))
print("holding %d of %d connections" % (len(held) + used, limit), flush=True)
time.sleep(3600)
"""

REDIS_FILL = r"""
import sys, redis
r = redis.Redis(password=sys.stdin.readline().strip(), socket_timeout=5)
value = b"x" * 65536
for i in range(20000):  # bounded: 64 MB maxmemory holds about a thousand of these
    try:
        r.set("drill:fill:%d" % i, value)
    except redis.exceptions.ResponseError as exc:  # OOM: maxmemory reached (noeviction)
        print("Redis full after %d keys: %s" % (i, exc)); break
"""

REDIS_EMPTY = r"""
import sys, redis
r = redis.Redis(password=sys.stdin.readline().strip(), socket_timeout=5)
keys = list(r.scan_iter("drill:fill:*", count=1000))
for i in range(0, len(keys), 500):
    r.delete(*keys[i:i + 500])
print("deleted %d keys" % len(keys))
"""


FILL_MOUNT = "/var/lib/redfire-fill"
# 512 KB a second, at most 100 MB of the 128 MB filesystem: a steady growth predict_linear sees filling it
DISK_FILL = ("i=0; while [ $i -lt 200 ]; do dd if=/dev/zero of=%s/drill-$i bs=512K count=1 status=none; "
             "i=$((i+1)); sleep 1; done; sleep 3600" % FILL_MOUNT)


def _faults_file(content):
    return "printf %s > %s" % (shlex.quote(content), FAULTS_FILE)


# name: (alert, labels the alert must carry, host group, inject command, clear command, stdin script or None)
DRILLS = {
    "slow": ("APISlowResponse", {}, "app", _faults_file("slow\n"), _faults_file(""), None),
    "errors": ("RedFireHTTPErrorRateHigh", {}, "app", _faults_file("errors\n"), _faults_file(""), None),
    "orders_fail": ("RedFireOrderErrorRateHigh", {}, "app", _faults_file("orders_fail\n"), _faults_file(""), None),
    "stall": ("RedFireOrderFlowStalled", {}, "app", _faults_file("stall\n"), _faults_file(""), None),
    "crash": ("TargetDown", {"job": "redfire-backend"}, "app", _faults_file("crash\n"),
              _faults_file("") + " && systemctl reset-failed redfire-backend; systemctl start redfire-backend", None),
    "leak": ("RedFireProcessMemoryHigh", {}, "app", _faults_file("leak\n"), _faults_file(""), None),
    "postgres_down": ("PostgreSQLDown", {}, "database", "systemctl stop postgresql@15-main",
                      "systemctl start postgresql@15-main", None),
    "postgres_connections": ("PostgreSQLTooManyConnections", {}, "database",
                             "systemd-run --quiet --collect --unit redfire-drill-pgconns --uid postgres"
                             " --property RuntimeMaxSec=3600 python3 -c %s" % shlex.quote(PG_HOLD),
                             "systemctl stop redfire-drill-pgconns", None),
    "redis_down": ("RedisDown", {}, "cache", "systemctl stop redis-server", "systemctl start redis-server", None),
    "redis_full": ("RedisMemoryHigh", {}, "cache", "python3 -c %s" % shlex.quote(REDIS_FILL),
                   "python3 -c %s" % shlex.quote(REDIS_EMPTY), "redis_password"),
    "disk_fill": ("HostFilesystemFillingUp", {"mountpoint": FILL_MOUNT}, "app",
                  "systemd-run --quiet --collect --unit redfire-drill-fill sh -c %s" % shlex.quote(DISK_FILL),
                  "systemctl stop redfire-drill-fill; rm -f %s/drill-*" % FILL_MOUNT, None),
}


def inventory():
    out = subprocess.run(["ansible-inventory", "-i", str(INVENTORY), "--list"], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def ssh(address, command, stdin=None):
    cmd = ["ssh", "-i", str(KEY), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "root@%s" % address, command]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise SystemExit("drill: on %s: %s failed (%d): %s"
                         % (address, command[:80], proc.returncode, (proc.stderr or proc.stdout).strip()[-800:]))
    return proc.stdout.strip()


def get_json(url):
    """GET url as JSON; https (Prometheus behind redfire.ops.web_config) with the lab's CA and client password."""
    request, context = urllib.request.Request(url), None
    if url.startswith("https:"):
        context = ssl.create_default_context(cafile=str(ROOT / ".build" / "lab" / "ca" / "ca.crt"))
        password = (ROOT / ".build" / "lab" / "web_client_password").read_text().strip()
        request.add_header("Authorization", "Basic " + base64.b64encode(("prometheus:" + password).encode()).decode())
    with urllib.request.urlopen(request, timeout=10, context=context) as resp:
        return json.load(resp)


def matching(entries, alert, labels, status, since):
    """(entry, alert) of the first notification after `since` with that alert in that status."""
    for entry in entries:
        if entry["received_at"] < since:
            continue
        for a in entry["body"].get("alerts", []):
            lab = a.get("labels", {})
            if lab.get("alertname") == alert and a.get("status") == status and \
                    all(lab.get(k) == v for k, v in labels.items()):
                return entry, a
    return None


def wait_notification(sink, alert, labels, status, since, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = matching(get_json(sink), alert, labels, status, since)
        if found:
            return found
        time.sleep(2)
    return None


def await_notification(sink, alert, labels, status, since, timeout, after):
    """Wait for the `status` notification of `alert` at the sink and print it; False (and why on stderr) if none
    came within `timeout` seconds. `after` names the moment `since` is (the fault, the clear)."""
    found = wait_notification(sink, alert, labels, status, since, timeout)
    if not found:
        print("drill: no %s %s notification at the webhook sink within %d s of the %s" % (status, alert, timeout, after),
              file=sys.stderr)
        return False
    entry, notified = found
    print("[drill] %s notification at the webhook sink after %.0f s from the %s:"
          % (status, entry["received_at"] - since, after), flush=True)
    show(notified)
    return True


def show(alert):
    ann = alert.get("annotations", {})
    lines = ["  status:      %s" % alert.get("status"),
             "  labels:      %s" % json.dumps(alert.get("labels", {}), ensure_ascii=False, sort_keys=True),
             "  summary:     %s" % ann.get("summary", ""),
             "  description: %s" % ann.get("description", ""),
             "  startsAt:    %s" % alert.get("startsAt")]
    if alert.get("status") == "resolved":
        lines.append("  endsAt:      %s" % alert.get("endsAt"))
    print("\n".join(lines), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(prog="scripts/lab drill", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("fault", choices=sorted(DRILLS))
    p.add_argument("--timeout", type=int, default=900,
                   help="seconds to wait for each notification (default 900: rate() windows are 5 minutes)")
    args = p.parse_args(argv)
    alert, labels, group, inject, clear, secret = DRILLS[args.fault]
    inv = inventory()
    hostvars = inv["_meta"]["hostvars"]
    target = inv[group]["hosts"][0]
    address = hostvars[target]["ansible_host"]
    monitoring = hostvars[inv["monitoring"]["hosts"][0]]["ansible_host"]
    prometheus = "https://%s:9090" % monitoring
    sink = "http://%s:9095/alerts" % monitoring
    stdin = (ROOT / ".build" / "lab" / secret).read_text().strip() + "\n" if secret else None

    rules = get_json(prometheus + "/api/v1/rules?type=alert")["data"]["groups"]
    if not any(r["name"] == alert for g in rules for r in g["rules"]):
        print("drill: Prometheus has no alert rule %s: is the lab deployed with the rules that define it?"
              % alert, file=sys.stderr)
        return 2
    firing = [a for a in get_json(prometheus + "/api/v1/alerts")["data"]["alerts"]
              if a["labels"].get("alertname") == alert and a["state"] == "firing"
              and all(a["labels"].get(k) == v for k, v in labels.items())]
    if firing:
        print("drill: %s is already firing (an earlier fault or its consequence, e.g. orders failing while PostgreSQL"
              " or Redis was down): run the drill once it has resolved" % alert, file=sys.stderr)
        return 2

    print("[drill] %s on %s (%s): expecting %s%s"
          % (args.fault, target, address, alert, " %s" % labels if labels else ""), flush=True)
    started = time.time()
    out = ssh(address, inject, stdin)
    print("[drill] fault injected at %s%s" % (time.strftime("%H:%M:%S"), (": " + out) if out else ""), flush=True)
    try:
        if not await_notification(sink, alert, labels, "firing", started, args.timeout, "fault"):
            return 1
    finally:
        cleared = time.time()
        out = ssh(address, clear, stdin)
        print("[drill] fault cleared at %s%s" % (time.strftime("%H:%M:%S"), (": " + out) if out else ""), flush=True)
    return 0 if await_notification(sink, alert, labels, "resolved", cleared, args.timeout, "clear") else 1


if __name__ == "__main__":
    raise SystemExit(main())
