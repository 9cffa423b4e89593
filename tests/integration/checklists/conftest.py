"""Three lab hosts for the checklist playbooks: podman systemd containers started in parallel, shared by the
module (one set for all tests of a module), each with a small tmpfs at /data, a unit redfire-app.service,
application logs in /var/log/redfire and node_exporter's textfile directory."""
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tests.conftest import ROOT, project_env, run
from tests.lib.containers import IMAGE

APP_UNIT = """[Unit]
Description=RedFire application stand-in for the checklist tests
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
"""

PREPARE = (
    "mkdir -p /var/log/redfire /var/lib/prometheus/node-exporter && "
    "printf '%s' \"$1\" > /etc/systemd/system/redfire-app.service && "
    "systemctl daemon-reload && systemctl enable --now redfire-app.service >/dev/null 2>&1 && "
    "echo \"$(date '+%Y-%m-%d %H:%M:%S') INFO started\" > /var/log/redfire/app.log"
)


class LabHost:
    def __init__(self, name):
        self.name = name

    def exec(self, command, check=True):
        return run(["podman", "exec", self.name, "sh", "-c", command], check=check)

    def start(self):
        run(["podman", "run", "-d", "--name", self.name, "--hostname", self.name, "--systemd=always",
             "--stop-timeout", "1", "--tmpfs", "/data:rw,size=1m,mode=0755", IMAGE, "/sbin/init"])
        deadline = time.monotonic() + 90
        state = ""
        while time.monotonic() < deadline:
            state = self.exec("systemctl is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("systemd in %s did not finish booting: %s" % (self.name, state))
        run(["podman", "exec", self.name, "sh", "-c", PREPARE, "prepare", APP_UNIT])
        return self

    def remove(self):
        subprocess.run(["podman", "rm", "-f", "-t", "1", self.name], env=project_env(), capture_output=True,
                       check=False)


def start_hosts(purpose, count):
    token = uuid.uuid4().hex[:6]
    hosts = [LabHost("redfire-it-%s-%s-%d" % (purpose, token, i)) for i in range(1, count + 1)]
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(LabHost.start, hosts))
    except BaseException:
        for host in hosts:
            host.remove()
        raise
    return hosts


def write_inventory(path, hosts, **group_vars):
    hv = {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3",
          "redfire_daily_services": ["redfire-app"], "redfire_daily_disk_mounts": ["/data"]}
    hv.update(group_vars)
    inventory = {"all": {"children": {
        "lab": {"hosts": {h.name: {} for h in hosts}, "vars": hv},
        "control": {"hosts": {"localhost": {"ansible_connection": "local",
                                            "ansible_python_interpreter": str(ROOT / ".venv" / "bin" / "python")}}},
    }}}
    path.write_text(yaml.safe_dump(inventory), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lab_hosts():
    hosts = start_hosts("chk", 3)
    yield hosts
    for host in hosts:
        host.remove()
