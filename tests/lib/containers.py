"""Throw-away systemd containers for integration tests (the image scripts/setup builds)."""
import subprocess
import uuid

from tests.conftest import ROOT, project_env, run
from ansible_collections.redfire.ops.plugins.module_utils.platforms import LIBRARY_PACKAGES
from tests.lib.monitoring import wait_for

from tests.lib.molecule_hosts import IMAGES

IMAGE = IMAGES["debian12"]
# What redfire.ops.host_prereqs installs on a bare host (the image has the .debs, not the packages; offline, seconds).
# Tests about something else install them this quick way; test_host_prereqs.py proves the role itself.
HOST_LIBRARIES = tuple(sorted(LIBRARY_PACKAGES.values()))
INSTALL_HOST_LIBRARIES = ("DEBIAN_FRONTEND=noninteractive apt-get install -qq -y --no-download --no-install-recommends "
                          + " ".join(HOST_LIBRARIES) + " >/dev/null")


def wait_booted(execute, name, timeout):
    """Until systemd in the container has finished booting (`execute` runs a shell command in it)."""
    wait_for(lambda: execute("systemctl is-system-running", check=False).stdout.strip() in ("running", "degraded"),
             timeout, interval=0.5, what="systemd in %s to finish booting" % name)


class SystemdContainer:
    """A podman container with systemd as PID 1; `with SystemdContainer("name") as c:`."""

    def __init__(self, purpose, host_libraries=False):
        self.name = "redfire-it-%s-%s" % (purpose, uuid.uuid4().hex[:8])
        self.host_libraries = host_libraries  # install the host modules' libraries (a bare host otherwise)

    def __enter__(self):
        run(["podman", "run", "-d", "--name", self.name, "--systemd=always", "--stop-timeout", "1",
             IMAGE, "/sbin/init"])
        wait_booted(self.exec, self.name, 60)
        if self.host_libraries:
            self.exec(INSTALL_HOST_LIBRARIES)
        return self

    def __exit__(self, *exc):
        subprocess.run(["podman", "rm", "-f", "-t", "1", self.name], env=project_env(),
                       capture_output=True, check=False)

    def exec(self, command, check=True):
        return run(["podman", "exec", self.name, "sh", "-c", command], check=check)

    def inventory(self, path, **hostvars):
        """Write an inventory that reaches this container over the podman connection."""
        import yaml
        hv = {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}
        hv.update(hostvars)
        with open(path, "w", encoding="utf-8") as fh:
            yaml.safe_dump({"all": {"hosts": {self.name: hv}}}, fh)
        return path


def playbook(inventory, playbook_path, *extra, check=False):
    """Run ansible-playbook in the project environment; returns the CompletedProcess."""
    cmd = ["ansible-playbook", "-i", str(inventory), str(playbook_path)] + list(extra)
    return run(cmd, check=check, cwd=str(ROOT))
