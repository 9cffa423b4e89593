"""Three lab hosts for the checklist playbooks: podman systemd containers started in parallel, shared by the
module (one set for all tests of a module), each with a small tmpfs at /data, a unit redfire-app.service,
application logs in /var/log/redfire and node_exporter's textfile directory.

Ansible reaches them over real SSH, as in production: each container's sshd is published on
127.0.0.1:<free port>, root logs in with a per-run ed25519 key, pipelining on, one ControlPersist master per
host. `connection="podman"` reaches them with `podman exec` instead (containers.podman.podman)."""
import shutil
import subprocess
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tests.conftest import ROOT, free_port, project_env, run
from tests.lib.containers import IMAGES, INSTALL_HOST_LIBRARIES, wait_booted
from tests.lib.molecule_hosts import PLATFORMS

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
# the run's public key on stdin; sshd (enabled in the image) lets root in with it
AUTHORIZE = "umask 077 && mkdir -p /root/.ssh && cat > /root/.ssh/authorized_keys && systemctl is-active --quiet ssh"


class SshKey:
    """A per-run ed25519 key pair and the directory of the SSH control sockets, in a short temp dir (a socket
    path must stay under ~100 characters)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rfssh-", dir="/tmp")
        self.private = "%s/id_ed25519" % self.dir
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "redfire-lab", "-f", self.private])
        with open(self.private + ".pub", encoding="utf-8") as fh:
            self.public = fh.read()
        self.control_path = "%s/%%C" % self.dir  # one ControlPersist socket per host, named by ssh
        self.ssh_args = ("-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=%s "
                         "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
                         % self.control_path)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class LabHost:
    def __init__(self, name, key=None, host_libraries=True, platform=PLATFORMS[0]):
        self.name = name
        self.platform = platform  # a key of IMAGES
        self.key = key  # an SshKey: reached over SSH; None: over podman exec
        self.host_libraries = host_libraries  # False: a bare host, as a fresh server is before host_prereqs
        self.ssh_port = None

    def exec(self, command, check=True):
        return run(["podman", "exec", self.name, "sh", "-c", command], check=check)

    def _run_container(self):
        command = ["podman", "run", "-d", "--name", self.name, "--hostname", self.name, "--systemd=always",
                   "--stop-timeout", "1", "--tmpfs", "/data:rw,size=1m,mode=0755"]
        image = IMAGES[self.platform]
        if not self.key:
            run(command + [image, "/sbin/init"])
            return
        for attempt in range(3):  # a free port can be taken by a parallel test before podman binds it
            self.ssh_port = free_port()
            proc = run(command + ["--publish", "127.0.0.1:%d:22" % self.ssh_port, image, "/sbin/init"],
                       check=attempt == 2)
            if proc.returncode == 0:
                return
            self.remove()

    def start(self):
        self._run_container()
        wait_booted(self.exec, self.name, 90)
        run(["podman", "exec", self.name, "sh", "-c", PREPARE, "prepare", APP_UNIT])
        if self.host_libraries:
            self.exec(INSTALL_HOST_LIBRARIES)
        if self.key:
            run(["podman", "exec", "-i", self.name, "sh", "-c", AUTHORIZE], input=self.key.public)
        return self

    def address(self):
        """The container's address on its podman network (where a test reaches its services)."""
        address = run(["podman", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", self.name]).stdout.strip()
        assert address, "no address for %s" % self.name
        return address

    def hostvars(self):
        """How Ansible reaches this host."""
        # Root already, and the images have no sudo: no become (site.yml's plays ask for it).
        if not self.key:
            return {"ansible_connection": "containers.podman.podman", "ansible_become": False}
        return {"ansible_connection": "ansible.builtin.ssh", "ansible_host": "127.0.0.1",
                "ansible_port": self.ssh_port, "ansible_user": "root", "ansible_become": False,
                "ansible_ssh_private_key_file": self.key.private, "ansible_ssh_args": self.key.ssh_args,
                "ansible_pipelining": True}

    def close_connection(self):
        """End this host's SSH ControlPersist master, if any: the next playbook run connects afresh."""
        if self.key:
            subprocess.run(["ssh", "-o", "ControlPath=" + self.key.control_path, "-O", "exit", "-p",
                            str(self.ssh_port), "root@127.0.0.1"], capture_output=True, check=False)

    def remove(self):
        self.close_connection()
        subprocess.run(["podman", "rm", "-f", "-t", "1", self.name], env=project_env(), capture_output=True,
                       check=False)


def start_hosts(purpose, count, connection="ssh", host_libraries=True, platforms=PLATFORMS):
    """Start `count` lab hosts in parallel; `connection` "ssh" (default) or "podman"; host_libraries False: bare
    hosts. The hosts take the `platforms` in turn (a mixed fleet: Debian 12 and 13 by default). Stop them with
    stop_hosts."""
    if connection not in ("ssh", "podman"):
        raise ValueError("connection must be ssh or podman, not %r" % connection)
    token = uuid.uuid4().hex[:6]
    key = SshKey() if connection == "ssh" else None
    hosts = [LabHost("redfire-it-%s-%s-%d" % (purpose, token, i), key, host_libraries, platforms[(i - 1) % len(platforms)])
             for i in range(1, count + 1)]
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(LabHost.start, hosts))
    except BaseException:
        stop_hosts(hosts)
        raise
    return hosts


def stop_hosts(hosts):
    """End the SSH masters, remove the containers and the key directory."""
    for host in hosts:
        host.remove()
    for key in {id(h.key): h.key for h in hosts if h.key}.values():
        key.remove()


def write_inventory(path, hosts, **group_vars):
    hv = {"ansible_python_interpreter": "/usr/bin/python3",
          "redfire_daily_services": ["redfire-app"], "redfire_daily_disk_mounts": ["/data"]}
    hv.update(group_vars)
    inventory = {"all": {"children": {
        "lab": {"hosts": {h.name: h.hostvars() for h in hosts}, "vars": hv},
        "control": {"hosts": {"localhost": {"ansible_connection": "local",
                                            "ansible_python_interpreter": str(ROOT / ".venv" / "bin" / "python")}}},
    }}}
    path.write_text(yaml.safe_dump(inventory), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lab_hosts():
    hosts = start_hosts("chk", 3)
    yield hosts
    stop_hosts(hosts)


def assert_check_then_idempotent(play, host, absent):
    """play(*flags) runs the role's playbook on host: check mode succeeds and leaves the path `absent` absent, a first
    run succeeds, a second changes nothing. Returns the second run."""
    from tests.integration.checklists.test_checklists import recap  # noqa: PLC0415 - that module imports this one
    proc = play("--check")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert host.exec("test -e %s" % absent, check=False).returncode == 1, "check mode created %s" % absent
    proc = play()
    assert proc.returncode == 0, proc.stdout[-6000:]
    proc = play()
    assert proc.returncode == 0 and recap(proc.stdout)[host.name]["changed"] == 0, proc.stdout[-4000:]
    return proc
