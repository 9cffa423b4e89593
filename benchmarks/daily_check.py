"""Daily check on 1 host and on 10 hosts (podman systemd containers, forks 10) in one run.

Prints both wall times (best of --repeat runs of ansible-playbook, report on the controller included), their
ratio (goal <= 2x) and the single-host time (goal <= 5 s). Run from the checkout: python benchmarks/daily_check.py
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
from tests.integration.checklists.conftest import start_hosts, write_inventory  # noqa: E402  pylint: disable=wrong-import-position


def timed_run(inventory, limit, forks, report_dir):
    cmd = ["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / "daily_check.yml"), "-f", str(forks),
           "-e", json.dumps({"redfire_report_dir": str(report_dir), "redfire_check_hosts": limit})]
    started = time.monotonic()
    proc = run(cmd, check=False, cwd=str(ROOT))
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("daily check failed:\n" + proc.stdout[-3000:])
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    hosts = start_hosts("bench", args.hosts)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = write_inventory(pathlib.Path(tmp) / "inventory.yml", hosts)
            one, many = [], []
            for dummy in range(args.repeat):  # interleaved, so load changes hit both alike
                one.append(timed_run(inventory, hosts[0].name, 10, pathlib.Path(tmp) / "reports"))
                many.append(timed_run(inventory, "lab", 10, pathlib.Path(tmp) / "reports"))
    finally:
        for host in hosts:
            host.remove()
    best_one, best_many = min(one), min(many)
    print("daily check, 1 host:            %.2f s (runs: %s)  goal <= 5 s: %s"
          % (best_one, ", ".join("%.2f" % t for t in one), "met" if best_one <= 5 else "NOT met"))
    print("daily check, %d hosts, forks 10: %.2f s (runs: %s)"
          % (args.hosts, best_many, ", ".join("%.2f" % t for t in many)))
    print("ratio %d hosts / 1 host: %.2fx  goal <= 2x: %s"
          % (args.hosts, best_many / best_one, "met" if best_many / best_one <= 2 else "NOT met"))


if __name__ == "__main__":
    main()
