"""Daily check on 1 host and on 10 hosts (podman systemd containers reached over SSH, forks 10) in one run.

Prints both wall times (best of --repeat runs of ansible-playbook, report on the controller included), their
ratio (goal <= 2x) and the single-host time (goal <= 5 s). 1-host and 10-host runs are interleaved, so load
from elsewhere hits both alike. Every run starts with cold SSH connections (no ControlPersist master left from
the run before), as a daily run in production does.

  python benchmarks/daily_check.py                       # over SSH (the goals), then over podman exec
  python benchmarks/daily_check.py --connection ssh      # over SSH only, as production runs
"""
import argparse
import json
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import run  # noqa: E402  pylint: disable=wrong-import-position
from tests.integration.checklists.conftest import start_hosts, stop_hosts, write_inventory  # noqa: E402  pylint: disable=wrong-import-position


def timed_run(inventory, hosts, limit, forks, report_dir):
    for host in hosts:
        host.close_connection()  # cold connections, as a daily run meets them
    cmd = ["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / "daily_check.yml"), "-f", str(forks),
           "-e", json.dumps({"redfire_report_dir": str(report_dir), "redfire_check_hosts": limit})]
    started = time.monotonic()
    proc = run(cmd, check=False, cwd=str(ROOT))
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("daily check failed:\n" + proc.stdout[-3000:])
    return elapsed


def measure(connection, count, repeat, tmp):
    hosts = start_hosts("bench", count, connection=connection)
    try:
        inventory = write_inventory(tmp / ("inventory-%s.yml" % connection), hosts)
        one, many = [], []
        for dummy in range(repeat):  # interleaved, so load changes hit both alike
            one.append(timed_run(inventory, hosts, hosts[0].name, 10, tmp / "reports"))
            many.append(timed_run(inventory, hosts, "lab", 10, tmp / "reports"))
    finally:
        stop_hosts(hosts)
    return one, many


def report(connection, count, one, many):
    best_one, best_many = min(one), min(many)
    ratio = best_many / best_one
    print("[%s] daily check, 1 host:             %.2f s (runs: %s, spread %.2f s)"
          % (connection, best_one, ", ".join("%.2f" % t for t in one), max(one) - best_one))
    print("[%s] daily check, %d hosts, forks 10: %.2f s (runs: %s, spread %.2f s)"
          % (connection, count, best_many, ", ".join("%.2f" % t for t in many), max(many) - best_many))
    print("[%s] ratio %d hosts / 1 host: %.2fx (per-run pairs: %s)"
          % (connection, count, ratio, ", ".join("%.2fx" % (m / o) for o, m in zip(one, many))))
    print("[%s] goal single host <= 5 s: %s; goal ratio <= 2x: %s%s"
          % (connection, "met" if best_one <= 5 else "NOT met", "met" if ratio <= 2 else "NOT met",
             "" if connection == "ssh" else " (for comparison: the goals are for SSH)"))
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connection", choices=["ssh", "podman", "both"], default="both",
                        help="how Ansible reaches the hosts: real SSH (the goals apply to it), podman exec (for "
                             "comparison), or both one after the other (default)")
    args = parser.parse_args()
    if args.hosts < 2 or args.repeat < 1:
        parser.error("--hosts must be at least 2 and --repeat at least 1")
    connections = ["ssh", "podman"] if args.connection == "both" else [args.connection]
    with tempfile.TemporaryDirectory() as tmp:
        for connection in connections:
            one, many = measure(connection, args.hosts, args.repeat, pathlib.Path(tmp))
            report(connection, args.hosts, one, many)


if __name__ == "__main__":
    main()
